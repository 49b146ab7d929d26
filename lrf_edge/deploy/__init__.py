"""`lrf-edge build`: the budget-driven closed loop from a model file to a firmware bundle.

    budgets.py     --budget/--ram/--latency/--clock -> Budgets (sizes; CPI from the target)
    options.py     BuildOptions
    inputs.py      the model, its data, task and metric; measurement and int8 calibration
                   inputs
    latency/       per-target latency model calibrated from QEMU micro-benchmarks, cached
                   per target, toolchain and dtype (float32, int8), refit from measured
                   finalists; `predictor(target)`, the prediction compress and dse are given
    candidate.py   Candidate: a solution per layer, predicted and measured costs, score
    choosers.py    candidates from cheap choosers (similarity threshold sweep,
                   energy/uniform, fit-to-budget bisection) and the methods the code
                   generator has kernels for
    scoring.py     fine-tuning through the store, data-free fidelity, int8 scores
    policy.py      ranking, the dtype choice and unreachable budgets: pure functions
    search.py      the measure-refit-rerank loop (Builder) and BuildResult
    bundle.py      the output folder, written atomically
    report.py      report.md, report.html and the Pareto plot

Measurements (flash, RAM, instructions) come from lrf_edge.qemu.measure.
"""
