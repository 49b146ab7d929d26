/* lrf_compiler.h: part of the lrf-edge C runtime, included by every generated model.c.
 *
 * The function attributes the generated layers use, empty on compilers other than gcc and
 * clang (the code stays correct, only its size and speed differ). */
#ifndef LRF_COMPILER_H
#define LRF_COMPILER_H

/* Layer functions stay out of line: inlined into one function, gcc hoists every layer's
 * constants across the others' loops and spills the accumulators (1.5-2x the instructions). */
#if defined(__GNUC__)
#define LRF_NOINLINE __attribute__((noinline))
#else
#define LRF_NOINLINE
#endif

/* Size mode's shared loops (one per kernel family, called by every layer with a parameter
 * struct): one copy, never inlined and never cloned for one caller's constants, which is what
 * speed mode is for. `unused`: a model may use a family's output stage but not its loop. */
#if defined(__GNUC__) && !defined(__clang__)
#define LRF_SHARED __attribute__((noipa, unused))
#elif defined(__GNUC__)
#define LRF_SHARED __attribute__((noinline, unused))
#else
#define LRF_SHARED
#endif

/* The arena's alignment: the kernels load words at offsets the planner keeps multiples of 4
 * (float: 8) bytes from its start, and the Arm DSP conv loads word pairs (LDRD, which
 * faults on an unaligned address), so its start is aligned whatever the optimization level
 * (gcc aligns a large array at -O2 by itself, not at -Os). */
#if defined(__GNUC__)
#define LRF_ARENA_ALIGN __attribute__((aligned(8)))
#else
#define LRF_ARENA_ALIGN
#endif

#endif /* LRF_COMPILER_H */
