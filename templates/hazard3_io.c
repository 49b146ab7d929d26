/* picolibc's stdout on Hazard3's RTL testbench: each character to its print_char register
 * (0x80000000), so the harness's printf lines reach the host without semihosting. */
#include <stdint.h>
#include <stdio.h>

static int lrf_tb_putc(char c, FILE *f)
{
    (void)f;
    *(volatile uint32_t *)0x80000000u = (uint8_t)c;
    return (uint8_t)c;
}

static FILE lrf_tb_stdout = FDEV_SETUP_STREAM(lrf_tb_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &lrf_tb_stdout;
