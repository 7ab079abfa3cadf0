// The arguments of the fused batch normalisation and of batch norm + activation
// (kernels/batch_norm.h), plain for nvcc. x is dense [n, c, hw].
#pragma once

#include <cstdint>

namespace mg::kernels {

struct BatchNormShape {
    int64_t n = 0, c = 0, hw = 1;
    int64_t count() const { return n * hw; }  // values per channel
};

struct BatchNormForwardArgs {
    BatchNormShape shape;
    const void* x = nullptr;        // [n, c, hw]
    const void* weight = nullptr;   // [c] or null
    const void* bias = nullptr;     // [c] or null
    void* running_mean = nullptr;   // [c]; training: updated when both are given; eval: read
    void* running_var = nullptr;    // [c]
    bool training = true;
    double momentum = 0.1, eps = 1e-5;
    void* y = nullptr;              // [n, c, hw]
    void* save_mean = nullptr;      // [c] or null: the mean used
    void* save_invstd = nullptr;    // [c] or null: the 1/sqrt(var + eps) used
};

struct BatchNormBackwardArgs {
    BatchNormShape shape;
    const void* x = nullptr;            // [n, c, hw]
    const void* grad_y = nullptr;       // [n, c, hw]
    const void* save_mean = nullptr;    // [c], from the training forward
    const void* save_invstd = nullptr;  // [c]
    const void* weight = nullptr;       // [c] or null
    void* grad_x = nullptr;             // [n, c, hw] or null
    void* grad_weight = nullptr;        // [c] or null
    void* grad_bias = nullptr;          // [c] or null
};

// The activation that batch_norm_act applies to the normalised value v:
//   None: v;  Relu: v > 0 ? v : 0;  LeakyRelu: v > 0 ? v : slope * v, slope >= 0.
// With slope >= 0 the output is > 0 exactly where v is, so the backward's mask is the sign of
// the output: y > 0 ? g : negative_slope() * g (relu's 0 * g, as relu's own backward).
struct BatchNormActivation {
    enum Kind : int32_t { None, Relu, LeakyRelu };
    Kind kind = None;
    double slope = 0.0;  // LeakyRelu's

    double negative_slope() const { return kind == LeakyRelu ? slope : 0.0; }
};

struct BatchNormActForwardArgs {
    BatchNormForwardArgs bn;  // bn.y receives act(batch_norm(x))
    BatchNormActivation act;
};

struct BatchNormActBackwardArgs {
    BatchNormBackwardArgs bn;  // bn.grad_y is the gradient of the activation's output
    const void* y = nullptr;   // [n, c, hw]: the forward's output (its sign is the mask); unread for None
    BatchNormActivation act;
};

}  // namespace mg::kernels
