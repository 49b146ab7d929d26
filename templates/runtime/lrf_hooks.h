/* lrf_hooks.h: part of the lrf-edge C runtime, included by every generated model.c.
 *
 * The per-layer profiling hooks: the generated inference function wraps each layer i in
 * LRF_LAYER_BEGIN(i) / LRF_LAYER_END(i). Compiled with -DLRF_PROFILE, the target's counter
 * header lrf_profile.h defines them (lrf-edge's emulator harness provides one per target: the
 * RISC-V minstret, a Cortex-M timer); otherwise they are no-ops and cost nothing. */
#ifndef LRF_HOOKS_H
#define LRF_HOOKS_H

#ifdef LRF_PROFILE
#include "lrf_profile.h" /* the target's counter: LRF_LAYER_BEGIN(i) / LRF_LAYER_END(i) */
#else
#define LRF_LAYER_BEGIN(i) ((void)0)
#define LRF_LAYER_END(i) ((void)0)
#endif

#endif /* LRF_HOOKS_H */
