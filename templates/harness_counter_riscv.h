/* lrf_profile.h for RISC-V: minstret, the retired-instruction count (exact and repeatable
 * under QEMU -icount shift=0); built with -DLRF_COUNTER_CSR=mcycle, the core's cycle count
 * (Hazard3's RTL, lrf_edge.qemu.rtl: the same instruction, another CSR, so the RTL runs the
 * QEMU run's code). zicsr is enabled inside the asm so that the multilib choice
 * (-march=rv32imac / rv32imafc) is left alone. */
#ifndef LRF_PROFILE_H
#define LRF_PROFILE_H
#include <stdint.h>

#ifndef LRF_COUNTER_CSR
#define LRF_COUNTER_CSR minstret
#endif
#define LRF_CSR_NAME_(csr) #csr
#define LRF_CSR_NAME(csr) LRF_CSR_NAME_(csr)

extern uint32_t lrf_t0;
extern uint32_t lrf_layer_raw[];

static inline void lrf_counter_init(void) {}

static inline uint32_t lrf_counter_read(void)
{
    uint32_t v;
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, "
                     LRF_CSR_NAME(LRF_COUNTER_CSR) "\n.option pop" : "=r"(v) : : "memory");
    return v;
}

/* Counter units elapsed from start to end (the counter counts up; wraps are harmless). */
static inline uint32_t lrf_counter_elapsed(uint32_t start, uint32_t end) { return end - start; }

#define LRF_LAYER_BEGIN(i) (lrf_t0 = lrf_counter_read())
#define LRF_LAYER_END(i) (lrf_layer_raw[(i)] = lrf_counter_elapsed(lrf_t0, lrf_counter_read()))
#endif
