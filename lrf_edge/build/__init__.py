"""`lrf-edge build`: the budget-driven closed loop from a model file to a firmware bundle.

    budgets.py        --budget/--ram/--latency/--clock -> Budgets (sizes, CPI per target)
    latency_model.py  per-target latency model calibrated from QEMU micro-benchmarks, cached
                      per target, toolchain and dtype (float32, int8), refit from measured
                      finalists
    search.py         candidates (similarity threshold sweep, energy/uniform fit-to-budget),
                      predicted flash/RAM/latency, fine-tuning through the store, int8
                      quantization of the tuned candidates (--dtype int8|auto), the
                      measure-refit-rerank loop and the choice (of dtype too)
    bundle.py         the output folder, written atomically
    report.py         report.md, report.html and the Pareto plot
"""
