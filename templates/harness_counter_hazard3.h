/* lrf_profile.h for Hazard3's RTL (lrf_edge.qemu.rtl): mcycle, the core's cycle count, read
 * exactly where harness_counter_riscv.h reads minstret (the same instruction, another CSR),
 * so the model's object is the same size and the RTL runs the QEMU run's code, byte for
 * byte but the CSR number, at the same addresses modulo 1 MB. */
#ifndef LRF_PROFILE_H
#define LRF_PROFILE_H
#include <stdint.h>

extern uint32_t lrf_t0;
extern uint32_t lrf_layer_raw[];

static inline void lrf_counter_init(void) {}

static inline uint32_t lrf_counter_read(void)
{
    uint32_t v;
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, mcycle\n.option pop"
                     : "=r"(v) : : "memory");
    return v;
}

/* Counter units elapsed from start to end (the counter counts up; wraps are harmless). */
static inline uint32_t lrf_counter_elapsed(uint32_t start, uint32_t end) { return end - start; }

#define LRF_LAYER_BEGIN(i) (lrf_t0 = lrf_counter_read())
#define LRF_LAYER_END(i) (lrf_layer_raw[(i)] = lrf_counter_elapsed(lrf_t0, lrf_counter_read()))
#endif
