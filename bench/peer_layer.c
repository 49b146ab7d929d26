/* One int8 layer through a peer kernel library (bench only, nothing of it is in the product):
 * muRISCV-NN on rv32imac or CMSIS-NN on the Cortex-M4 (the same API, prefixes muriscv_nn_ /
 * arm_). peer_layer.h (written by bench/peer_kernels.py) holds the layer: PEER_OP (1 conv,
 * 2 depthwise, 3 fully connected), its dims, offsets, clamps and the int8 data our quantizer
 * produced. The wrapper is timed with the target's counter (lrf_profile.h), exactly as our
 * harness times a layer; set-up the library leaves to a framework's Prepare() (the FC kernel
 * sums, when the library asks for a buffer) is done before the counter starts. Prints
 * "PEER overhead", "PEER units", "PEER status" and the output bytes in hex. */
#include <stdint.h>
#include <stdio.h>

#include "lrf_profile.h"
#include "peer_layer.h"

#ifdef PEER_CMSIS
#include "arm_nnfunctions.h"
#define NN(f) arm_##f
#define T(t) cmsis_nn_##t
#else
#include "muriscv_nn_functions.h"
#define NN(f) muriscv_nn_##f
#define T(t) muriscv_nn_##t
#endif

#define SCRATCH_BYTES 65536

uint32_t lrf_t0;
uint32_t lrf_layer_raw[2];
static int8_t output[OUT_H * OUT_W * OUT_C];
static int32_t scratch[SCRATCH_BYTES / 4];

int main(void)
{
    lrf_counter_init();
    T(context) ctx = {scratch, 0};
    T(dims) in_dims = {1, IN_H, IN_W, IN_C};
    T(dims) out_dims = {1, OUT_H, OUT_W, OUT_C};
    T(dims) bias_dims = {1, 1, 1, OUT_C};
    T(activation) act = {ACT_MIN, ACT_MAX};
    int status;
#if PEER_OP == 1
    T(dims) filter_dims = {OUT_C, KH, KW, IN_C};
    T(per_channel_quant_params) q = {multiplier, shift};
    T(conv_params) p = {IN_OFFSET, OUT_OFFSET, {SW, SH}, {PW, PH}, {1, 1}, act};
    ctx.size = NN(convolve_wrapper_s8_get_buffer_size)(&p, &in_dims, &filter_dims, &out_dims);
#define CALL NN(convolve_wrapper_s8)(&ctx, &p, &q, &in_dims, input_data, &filter_dims, \
                                     filter_data, &bias_dims, bias_data, &out_dims, output)
#elif PEER_OP == 2
    T(dims) filter_dims = {1, KH, KW, OUT_C};
    T(per_channel_quant_params) q = {multiplier, shift};
    T(dw_conv_params) p = {IN_OFFSET, OUT_OFFSET, OUT_C / IN_C, {SW, SH}, {PW, PH}, {1, 1}, act};
    ctx.size = NN(depthwise_conv_wrapper_s8_get_buffer_size)(&p, &in_dims, &filter_dims,
                                                             &out_dims);
#define CALL NN(depthwise_conv_wrapper_s8)(&ctx, &p, &q, &in_dims, input_data, &filter_dims, \
                                           filter_data, &bias_dims, bias_data, &out_dims, output)
#else
    T(dims) filter_dims = {IN_C, 1, 1, OUT_C};
    T(quant_params) q = {multiplier, shift, 1};
    T(fc_params) p = {IN_OFFSET, 0, OUT_OFFSET, act};
    ctx.size = NN(fully_connected_s8_get_buffer_size)(&filter_dims);
    if (ctx.size > 0 && ctx.size <= SCRATCH_BYTES) {
        NN(vector_sum_s8)(scratch, IN_C, OUT_C, filter_data, IN_OFFSET, 0, bias_data);
    }
#define CALL NN(fully_connected_wrapper_s8)(&ctx, &p, &q, &in_dims, input_data, &filter_dims, \
                                            filter_data, &bias_dims, bias_data, &out_dims, output)
#endif
    if (ctx.size > SCRATCH_BYTES) {
        printf("PEER scratch %ld too large\n", (long)ctx.size);
        return 2;
    }
    LRF_LAYER_BEGIN(1);
    LRF_LAYER_END(1);
    printf("PEER overhead %lu\n", (unsigned long)lrf_layer_raw[1]);
    LRF_LAYER_BEGIN(0);
    status = CALL;
    LRF_LAYER_END(0);
    printf("PEER units %lu\nPEER status %d\nPEER out ", (unsigned long)lrf_layer_raw[0], status);
    for (int i = 0; i < OUT_H * OUT_W * OUT_C; i++) {
        printf("%02x", (unsigned)(uint8_t)output[i]);
    }
    printf("\nPEER done\n");
    return 0;
}
