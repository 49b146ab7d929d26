"""C code generation: an IR `Graph` -> plain C99 (`<name>.h`, `<name>.c`, `<name>_weights.h`).

    from lrf_edge.cgen import generate, write
    src = generate(graph, "lenet5")     # CSources: .files, .arena_bytes, .layers, ...
    write(src, "out/lenet5")            # atomic: all files appear at once, or none
    src = generate(quantize(graph, x))  # a lrf_edge.quant.QuantizedGraph: int8 C

The C has no malloc: weights are `static const` (flash), activations live in one static
arena whose buffers are placed by a liveness planner (`planner.py`), and the API is
`int <name>_infer(const float *input, float *output)` (0 on success; int8 adds
`<name>_infer_q8` on int8 tensors). Compiling with `-DLRF_PROFILE` and a target's
`lrf_profile.h` wraps every layer in `LRF_LAYER_BEGIN(i)` / `LRF_LAYER_END(i)` (the
targets' harness counts instructions there).
The C runtime the generated C includes, plain C in `templates/runtime/` (`lrf_*.h`: the
int8 fixed-point arithmetic and softmax, the Arm DSP shims, the float API's I/O conversions,
padding, activations, the profiling hooks; unit-tested in tests/cgen/test_runtime.py), is
part of `CSources.files`, so it travels with the generated files.

Layout: `generator.py` is the one generator (the per-dtype `Flavour` says what differs
between float32 and int8), `kernels/` holds one module per op family with its float32 and
int8 kernels, `planner.py` the arena, `render.py` the templates' environment and C literals.
`arena_bytes(graph, dtype)` and `kernel_loops(node, block)` give the build the arena size and
the block loops without rendering; `size_loops(node, dtype)` the shared functions a layer
calls in size mode (`CodegenOptions(optimize="size")` or per layer `layers={name: "size"}`:
one shared, parameterized loop per kernel family, called with a `static const` parameter
struct; the dense, convolution, depthwise and TT families have one, the others stay
specialized: pooling, padding, add, activations, ... are small).

Streaming (`generate_stream`, `stream.py`): the C of a model over a sliding window of
frames, one frame per call (`<name>_step`, `<name>_reset`), from the graph's streaming form
(lrf_edge.ir.stream): the same kernels and templates, each layer prepared on its per-hop
node, its window of past input steps kept at the front of the arena (`stream*.j2`).

Templates (`lrf_edge.templates`), one family per op: `<op>.c.j2` holds the op's C in both
modes, for both dtypes where the loops are the same (the C type `T` a parameter:
upsample2d, zero_pad2d, global_max_pool2d, conv2d's size-mode loop); `<op>_q8.c.j2` exists
only where int8's arithmetic differs (requantization, zero points) and holds int8's two
modes. A family template renders with `L`, speed mode's static function of one layer, or
with `S`, the C that every layer of the family shares (size mode's parameter struct,
`S.part == "params"`, and loop; the int8 recurrent helpers): a kernel lists that C in
`LayerPlan.shared` and the generator renders each piece once per model, the one way shared
C is emitted. A size-mode layer's own C is its parameter struct and the call
(`size_call*.c.j2`). Macros: `common.j2` (those of both dtypes, act_note and mac, and the
float32 output stage), `common_q8.j2` (the int8 output stage; re-exports the former).

How to add an op family (e.g. tt_dense): each stage keeps one module per op family and one
registration list (`MODULES` in the package's `__init__.py`); what the other stages ask of
an op (a view? folds a BatchNorm? fuses an activation? which TFLite operators, which
latency features?) is a trait of its `OpSpec`, not a list of op names. A new op touches
exactly

    lrf_edge/ir/ops/<family>.py          SPECS: output shape, MACs, bias adds, the traits
    lrf_edge/ir/ops/__init__.py          its module in MODULES
    lrf_edge/train/builders/<family>.py  BUILDERS: the Keras layer(s)
    lrf_edge/train/builders/__init__.py  its module in MODULES
    codegen/kernels/<family>.py          float32 and int8 kernel preparation, block loops
    codegen/kernels/__init__.py          its module in MODULES
    lrf_edge/quant/ops/<family>.py       float forward pass, int8 parameters, the bit-exact
                                         int8 reference
    lrf_edge/quant/ops/__init__.py       its module in MODULES
    lrf_edge/frontends/{keras,tflite,onnx}.py   a converter per source layer that maps to it
    lrf_edge/deploy/latency/benchmarks.py       a micro-benchmark graph the latency model
                                                is calibrated on, if it has a cost

with its C in `templates/<op>.c.j2` (both modes; `<op>_q8.c.j2` where int8's arithmetic
differs), which names no op: the kernel module picks the template. And, counted apart (tests/project/test_op_homes.py), the files that use it as a method does:

    lrf_edge/methods/<method>.py         a factorization that produces or decomposes it
    lrf_edge/keras_layers.py             a custom Keras layer, if it needs one
    lrf_edge/{dse/space,rank_selection/baselines}.py  the methods chosen per op
    {lrf_edge/ir/ops,lrf_edge/train/builders,codegen/kernels,lrf_edge/quant/ops}/<other>.py
                                         another family's module that reuses its code
                                         (conv2d's kernels call dense's)

tests/project/test_op_homes.py checks that every stage knows every op and that no other file
names one. In codegen and templates:
1. `codegen/kernels/<family>.py`: `OPS` (the IR ops it covers), `prepare(node, options)`
   (float32) and `prepare_q8(node, qlayer, options)` (int8), each returning
   `LayerPlan(vars=..., weights={suffix: array in the order the loop reads it: float32, or
   int8/int32}, scratch=arena elements live only during the layer)`, `loops(node, block)`
   (the widths of the unrolled block loops its templates emit; `common.no_loops` if none),
   and `KERNELS = {(op, "float32"): Kernel("<op>.c.j2", prepare), (op, "int8"):
   Kernel("<op>_q8.c.j2", prepare_q8)}`. Shared pieces (blocks, pack_blocks, spatial,
   ping_pong, the int8 output stage q8_output/folded_bias/requant_arrays) are in
   `codegen/kernels/common.py`.
2. `codegen/kernels/__init__.py`: the module's name in the import and in `MODULES`.
3. `templates/<op>.c.j2`: one static C function
   `static void {{ L.fn }}(const float *restrict x, float *restrict y[, float *scratch])`
   for one layer (`{% import "common.j2" as c %}` gives fused activations: `c.act`,
   `c.softmax`, `c.post`). `L` holds: fn, name, op, act, macs, in_shape, out_shape,
   out_size, last_dim, args, index, plus the variables the prepare function returns.
   Constant arrays are `{{ L.fn }}_<suffix>`.
4. `templates/<op>_q8.c.j2`, where int8's arithmetic differs (else `<op>.c.j2` takes the
   C type `L.T`, as upsample2d.c.j2): the same on `int8_t` (`{% import "common_q8.j2" as c %}`).
   The same template serves 16x8 layers (an int16 tensor on either side, QLayer.wide): it
   names its activations' C types through `L.TX` (input), `L.TXS` (each input), `L.TY`
   (output) and its accumulators' through `L.ACC` (int64_t where a sum may leave int32,
   common.narrow_acc), all set by common.q8_output; such a layer is generated in speed mode
   with the generic C (the DSP and size-mode loops are int8 code), int16 tensors take two
   bytes of the int8 arena, and `lrf_requant_wide` is TFLite's int64 requantization.
   A target's `[codegen] simd = "arm-dsp"` (cortex-m4) reaches prepare_q8 as `options.dsp`:
   the template then takes its DSP branch (SXTB16 + SMLAD through arm_acle.h: common_q8.j2
   `dsp_dot`, weights packed by `common.pack_quads`); the generic C is the same without it.
   A layer quantized with 4-bit weights (QLayer.weight_bits) reaches its template as `L.w4`
   (`S.w4` and a `_w4` loop in size mode): `common.int4_weights` packs its weight arrays
   two per byte (TFLite's kTfLiteInt4, low nibble first; each run the loop starts, a pass
   or a depthwise window, from a byte) and the loops unpack them with `lrf_w4`
   (lrf_fixedpoint.h), a byte once per two weights (`common_q8.j2` w4_rows; passes of 8
   in generic C: swar8_rows, two channels per multiply; with DSP: dsp_dot4 on
   `common.pack_octs`). 8-bit layers render exactly as before.
The op's MAC count (lrf_edge.ir) must equal the loop nest the templates execute. Tests:
against Keras through `lrf_edge.targets.HostModel` (tests/cgen/test_codegen.py) and against
lrf_edge.quant.reference bit for bit (tests/quant/test_int8.py).
"""

from lrf_edge.cgen.generator import CSources, LayerInfo, arena_bytes, generate, write
from lrf_edge.cgen.kernels import KERNELS, kernel_loops, kernel_of, kernel_table, size_loops
from lrf_edge.cgen.kernels.common import (DTYPES, OPTIMIZE, SIMD, SIZE, SPEED,
                                             CodegenOptions, Kernel, LayerPlan, blocks,
                                             pack_blocks)
from lrf_edge.cgen.render import c_floats, c_ints, render
from lrf_edge.cgen.stream import StreamSources, generate_stream, stream_arena_bytes

__all__ = ["CSources", "CodegenOptions", "DTYPES", "KERNELS", "Kernel", "LayerInfo",
           "LayerPlan", "OPTIMIZE", "SIMD", "SIZE", "SPEED", "arena_bytes", "blocks",
           "c_floats", "c_ints", "generate", "kernel_loops", "kernel_of", "kernel_table",
           "pack_blocks", "render", "size_loops", "StreamSources", "generate_stream", "stream_arena_bytes", "write"]
