/* lrf_activation.h: part of the lrf-edge C runtime: the float kernels' activations.
 *
 * The activation a float layer fuses into its output loop (Keras' names), and softmax, which
 * needs a whole row and so runs over the layer's output after its loop. The int8 kernels
 * clamp instead (lrf_requant's lo, hi) and use lrf_softmax_q8.h. */
#ifndef LRF_ACTIVATION_H
#define LRF_ACTIVATION_H

#include <math.h>

static inline float lrf_relu(float v) { return v > 0.0f ? v : 0.0f; }
static inline float lrf_relu6(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }
static inline float lrf_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }
static inline float lrf_tanh(float v) { return tanhf(v); }
/* Keras' hard sigmoid relu6(v + 3) / 6 and hard swish v relu6(v + 3) / 6 (MobileNetV3) */
static inline float lrf_hard_sigmoid(float v) { return lrf_relu6(v + 3.0f) / 6.0f; }
static inline float lrf_hard_swish(float v) { return v * (lrf_relu6(v + 3.0f) / 6.0f); }

/* Softmax over the last axis: `rows` rows of `n` values, in place; the row's maximum is
 * subtracted first so that expf cannot overflow. */
static inline void lrf_softmax(float *y, int rows, int n)
{
    for (int r = 0; r < rows; r++, y += n) {
        float top = y[0], sum = 0.0f;
        for (int i = 1; i < n; i++) {
            top = y[i] > top ? y[i] : top;
        }
        for (int i = 0; i < n; i++) {
            y[i] = expf(y[i] - top);
            sum += y[i];
        }
        for (int i = 0; i < n; i++) {
            y[i] /= sum;
        }
    }
}

#endif /* LRF_ACTIVATION_H */
