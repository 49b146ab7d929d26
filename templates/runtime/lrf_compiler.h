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

/* The int4 weight arrays that kernels read a word (eight weights) at a time start on a word. */
#if defined(__GNUC__)
#define LRF_WORD_ALIGNED __attribute__((aligned(4)))
#else
#define LRF_WORD_ALIGNED
#endif

/* A copy loop stays a loop (the streaming C's window shifts): gcc and clang would call
 * memmove, which the targets' C libraries, built for size, run a byte at a time (3-5x the
 * instructions of the loop). */
#if defined(__GNUC__) && !defined(__clang__)
#define LRF_COPY_LOOP __attribute__((optimize("no-tree-loop-distribute-patterns")))
#elif defined(__clang__) && defined(__has_attribute)
#if __has_attribute(no_builtin)
#define LRF_COPY_LOOP __attribute__((no_builtin("memmove", "memcpy")))
#endif
#endif
#ifndef LRF_COPY_LOOP
#define LRF_COPY_LOOP
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
