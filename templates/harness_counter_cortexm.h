/* lrf_profile.h for Cortex-M under QEMU mps2: the CMSDK APB timer 0 (32-bit down counter,
 * 25 MHz PCLK on mps2-an386; 20 MHz on mps2-an505, 2.56 ticks per instruction). QEMU 7.2
 * implements no DWT cycle counter; under -icount shift=7 one instruction lasts 128 ns of
 * virtual time, i.e. 3.2 timer ticks, so the host recovers the exact instruction count of
 * an interval as round(ticks / 3.2) (intervals < 1.3e9 instructions). On real hardware use DWT->CYCCNT instead (cycles, not instructions). */
#ifndef LRF_PROFILE_H
#define LRF_PROFILE_H
#include <stdint.h>

#ifndef LRF_TIMER0_BASE /* mps2-an386; a target's cflags give mps2-an505's secure alias */
#define LRF_TIMER0_BASE 0x40000000u
#endif
#define LRF_TIMER0_CTRL (*(volatile uint32_t *)(LRF_TIMER0_BASE))
#define LRF_TIMER0_VALUE (*(volatile uint32_t *)(LRF_TIMER0_BASE + 4u))
#define LRF_TIMER0_RELOAD (*(volatile uint32_t *)(LRF_TIMER0_BASE + 8u))

extern uint32_t lrf_t0;
extern uint32_t lrf_layer_raw[];

static inline void lrf_counter_init(void)
{
    LRF_TIMER0_RELOAD = 0xFFFFFFFFu;
    LRF_TIMER0_VALUE = 0xFFFFFFFFu;
    LRF_TIMER0_CTRL = 1u; /* enable, no interrupt */
}

static inline uint32_t lrf_counter_read(void)
{
    __asm__ volatile("" : : : "memory");
    uint32_t v = LRF_TIMER0_VALUE;
    __asm__ volatile("" : : : "memory");
    return v;
}

/* Ticks elapsed from start to end (the timer counts down; wraps are harmless). */
static inline uint32_t lrf_counter_elapsed(uint32_t start, uint32_t end) { return start - end; }

#define LRF_LAYER_BEGIN(i) (lrf_t0 = lrf_counter_read())
#define LRF_LAYER_END(i) (lrf_layer_raw[(i)] = lrf_counter_elapsed(lrf_t0, lrf_counter_read()))
#endif
