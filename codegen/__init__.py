"""C code generation: an IR `Graph` -> plain C99 (`<name>.h`, `<name>.c`, `<name>_weights.h`).

    from lrf_edge.codegen import generate, write
    src = generate(graph, "lenet5")     # CSources: .files, .arena_bytes, .layers, ...
    write(src, "out/lenet5")            # atomic: all files appear at once, or none

The C has no malloc: weights are `static const` (flash), activations live in one static
arena whose buffers are placed by a liveness planner (`planner.py`), and the API is
`int <name>_infer(const float *input, float *output)` (0 on success). Compiling with
`-DLRF_PROFILE` and a target's `lrf_profile.h` wraps every layer in
`LRF_LAYER_BEGIN(i)` / `LRF_LAYER_END(i)` (the targets' harness counts instructions there).

How to add an op (e.g. tt_dense):
1. The op itself (shape, MACs) is registered in lrf_edge.ir.ops; its MAC count must equal
   the loop nest the C template executes.
2. Write one template, `templates/<op>.c.j2`, rendering one static C function
   `static void {{ L.fn }}(const float *restrict x, float *restrict y[, float *scratch])`
   for one layer (`{% import "common.j2" as c %}` gives fused activations: `c.act`,
   `c.softmax`, `c.post`). `L` holds: fn, name, op, act, macs, in_shape, out_shape,
   out_size, last_dim, bias, plus the variables your prepare function returns. Weight
   arrays are `{{ L.fn }}_<suffix>`, emitted as static const float arrays.
3. Write `prepare(node, options) -> LayerPlan(vars=..., weights={suffix: float32 array in
   the order the loop reads it}, scratch=floats of temporary RAM)` and register it:
   `register_kernel("tt_dense", Kernel("tt_dense.c.j2", prepare))` (in codegen/kernels.py,
   or from the method's own module). Scratch is arena memory live only during the layer.
4. Test it against Keras through `lrf_edge.targets.HostModel` (tests/test_codegen*.py).
"""

from lrf_edge.codegen.generator import CSources, LayerInfo, c_floats, generate, render, write
from lrf_edge.codegen.kernels import (KERNELS, CodegenOptions, Kernel, LayerPlan, blocks,
                                      pack_blocks, register_kernel)

__all__ = ["CSources", "CodegenOptions", "KERNELS", "Kernel", "LayerInfo", "LayerPlan",
           "blocks", "c_floats", "generate", "pack_blocks", "register_kernel", "render",
           "write"]
