/* Emulator harness: runs the model on the inputs compiled in (harness_config.h) and prints,
 * through semihosting, each output (float bits in hex, exact) and the counter units of the
 * whole inference and of each layer. The host converts units to instructions. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness_config.h"
#include "lrf_profile.h"

uint32_t lrf_t0;
uint32_t lrf_layer_raw[LRF_NUM_LAYERS + 1];
static float lrf_output[LRF_OUTPUT_SIZE];

static unsigned long lrf_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (unsigned long)u;
}

int main(void)
{
    lrf_counter_init();
    /* the cost of one BEGIN/END pair, subtracted from every reading by the host */
    LRF_LAYER_BEGIN(LRF_NUM_LAYERS);
    LRF_LAYER_END(LRF_NUM_LAYERS);
    printf("LRF overhead %lu\n", (unsigned long)lrf_layer_raw[LRF_NUM_LAYERS]);
    for (int n = 0; n < LRF_NUM_INPUTS; n++) {
        memset(lrf_layer_raw, 0, sizeof lrf_layer_raw);
        uint32_t t0 = lrf_counter_read();
        int rc = LRF_INFER(lrf_inputs[n], lrf_output);
        uint32_t t1 = lrf_counter_read();
        if (rc != 0) {
            printf("LRF error %d %d\n", n, rc);
            return 3;
        }
        printf("LRF total %d %lu\n", n, (unsigned long)lrf_counter_elapsed(t0, t1));
        printf("LRF layers %d", n);
        for (int i = 0; i < LRF_NUM_LAYERS; i++) {
            printf(" %lu", (unsigned long)lrf_layer_raw[i]);
        }
        printf("\nLRF out %d", n);
        for (int i = 0; i < LRF_OUTPUT_SIZE; i++) {
            printf(" %08lx", lrf_bits(lrf_output[i]));
        }
        printf("\n");
    }
    printf("LRF done\n");
    return 0;
}
