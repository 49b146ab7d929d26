/* lrf_profile.h for Hazard3's RTL: minstret, as on QEMU (the harness's counts), and mcycle
 * read with it (LRF_COUNTER2: the harness also prints these as the "cycles" records).
 * The cycle window encloses the instruction window, so a BEGIN/END pair's overhead, measured
 * once and subtracted by the host, is the same in every reading. */
#ifndef LRF_PROFILE_H
#define LRF_PROFILE_H
#include <stdint.h>

#define LRF_COUNTER2 1

extern uint32_t lrf_t0;
extern uint32_t lrf_c0;
extern uint32_t lrf_layer_raw[];
extern uint32_t lrf_layer_raw2[];

static inline void lrf_counter_init(void) {}

static inline uint32_t lrf_counter_read(void)
{
    uint32_t v;
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, minstret\n.option pop"
                     : "=r"(v) : : "memory");
    return v;
}

static inline uint32_t lrf_counter2_read(void)
{
    uint32_t v;
    __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, mcycle\n.option pop"
                     : "=r"(v) : : "memory");
    return v;
}

static inline uint32_t lrf_counter_elapsed(uint32_t start, uint32_t end) { return end - start; }

#define LRF_LAYER_BEGIN(i) (lrf_c0 = lrf_counter2_read(), lrf_t0 = lrf_counter_read())
#define LRF_LAYER_END(i) (lrf_layer_raw[(i)] = lrf_counter_read() - lrf_t0, \
                          lrf_layer_raw2[(i)] = lrf_counter2_read() - lrf_c0)
#endif
