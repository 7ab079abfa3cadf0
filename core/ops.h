// The differentiable functional API: every op that models are built from.
//
// Each op checks its arguments (errors name the op and the shapes), calls the
// active kernel variant through the registry (kernels/registry.h), and, when an
// input needs a gradient, records an autograd node whose backward is written with
// these same ops (so it is differentiable again).
//
// Shapes follow PyTorch: NCHW images, weights [out, in, kh, kw], linear weights
// [out, in]. Binary elementwise ops broadcast with NumPy's rules; both operands
// must have the same dtype and device.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace mg {

// ---- elementwise: arithmetic (core/ops/elementwise.cpp) -------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);  // a > 0 where b is not an integer
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor affine(const Tensor& x, double scale, double shift);  // scale*x + shift
Tensor pow(const Tensor& x, double exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sin(const Tensor& x);  // sine, x in radians
Tensor cos(const Tensor& x);  // cosine, x in radians
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // not differentiable (zero gradient)
Tensor clamp(const Tensor& x, double low, double high);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);

// ---- elementwise: activations (core/ops/activation.cpp) -------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope = 0.01);
// leaky_relu(y + bias, slope) with bias [C] along dim 1, slope >= 0 (0: relu), as one fused node.
Tensor bias_leaky_relu(const Tensor& y, const Tensor& bias, double slope = 0.0);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor softplus(const Tensor& x);  // ln(1 + e^x)
Tensor gelu(const Tensor& x);      // exact: x * Phi(x)
Tensor erf(const Tensor& x);

// ---- comparison and selection: uint8 masks, no gradient ------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
// cond (uint8, broadcast) ? a : b; differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);

// ---- reductions (core/ops/reduction.cpp) ----------------------------------------
// An empty `dims` reduces over every dimension.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with Bessel's correction by default (correction = 1), like torch.var.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // int64, no gradient
// Sums a gradient down to `shape` (the reverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);
// The global L2 norm of several tensors, sqrt(sum of squares), as a 0-d tensor.
Tensor norm(const Tensor& x);

// ---- linear algebra (core/ops/linalg.cpp) ---------------------------------------
// 1-D·1-D, 2-D·2-D, and batched [..., m, k]·[..., k, n] with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x·W^T + b; x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// ---- convolution and pooling (core/ops/conv.cpp, pool.cpp) ----------------------
struct Pair {
    int64_t h = 0, w = 0;
    Pair(int64_t both = 0) : h(both), w(both) {}  // NOLINT: Pair p = 2 is the natural spelling
    Pair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};
struct Conv2dOptions {
    Pair stride = 1, padding = 0, dilation = 1;
    int64_t groups = 1;
    Pair output_padding = 0;  // conv_transpose2d only
};
// x [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& opt = {});
// x [N, C_in, H, W], weight [C_in, C_out/groups, KH, KW] (PyTorch's layout), bias [C_out].
// The adjoint of conv2d in its input: OH = (H-1)*s - 2p + d*(K-1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const Conv2dOptions& opt = {});
// The weight gradient of conv2d, d<conv2d(x, w), gy>/dw, itself differentiable.
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, const Shape& weight_shape,
                              const Conv2dOptions& opt);
// x [N, C, H, W]; stride defaults to the kernel size (0 = default).
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = 0, Pair padding = 0);
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = 0, Pair padding = 0);

// ---- normalization, softmax (core/ops/norm.cpp) ---------------------------------
// x [N, C] or [N, C, ...]. In training, normalises with the batch statistics and
// updates running_mean/var in place (momentum as PyTorch: new = (1-m)*old + m*batch,
// unbiased variance); in eval uses the running statistics. weight/bias may be undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// Normalises over the trailing dims given by normalized_shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- losses (core/ops/loss.cpp) --------------------------------------------------
enum class Reduction { Mean, Sum, None };
// logits [N, C] or [N, C, d1, ...]; target int64 [N] or [N, d1, ...] with values in [0, C).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
// Stable: softplus(x) - x*t.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// KL(N(mu, exp(logvar)) || N(0, I)) = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)),
// summed over all but the first dim; Mean averages over the batch.
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction = Reduction::Mean);

// ---- indexing (core/ops/index.cpp) -----------------------------------------------
// weight [V, D], indices int64 of any shape -> [..., D].
Tensor embedding(const Tensor& indices, const Tensor& weight);
// indices int64 of any shape -> [..., num_classes], float32 by default.
Tensor one_hot(const Tensor& indices, int64_t num_classes, DType dtype = DType::Float32);
// x [..., C], index int64 [..., K] -> [..., K]: y[..., k] = x[..., index[..., k]].
Tensor gather_last(const Tensor& x, const Tensor& index);
// The adjoint of gather_last: a [..., C] tensor of zeros with g scattered (summed) in.
Tensor scatter_add_last(const Tensor& g, const Tensor& index, int64_t size);

// ---- joining and splitting (core/ops/shape.cpp) ----------------------------------
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

// ---- randomness (core/ops/random.cpp) ---------------------------------------------
// Zeroes each element with probability p and scales the rest by 1/(1-p); identity
// when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training = true);

// ---- operators -----------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double b) { return affine(a, 1.0, b); }
inline Tensor operator+(double a, const Tensor& b) { return affine(b, 1.0, a); }
inline Tensor operator-(const Tensor& a, double b) { return affine(a, 1.0, -b); }
inline Tensor operator-(double a, const Tensor& b) { return affine(b, -1.0, a); }
inline Tensor operator*(const Tensor& a, double b) { return affine(a, b, 0.0); }
inline Tensor operator*(double a, const Tensor& b) { return affine(b, a, 0.0); }
inline Tensor operator/(const Tensor& a, double b) { return affine(a, 1.0 / b, 0.0); }
inline Tensor operator/(double a, const Tensor& b) { return affine(reciprocal(b), a, 0.0); }

}  // namespace mg

// ---- PixelCNN's masked convolution (core/ops/masked_conv.cpp) -------------------------
namespace mg {

// y = conv2d(x, weight * mask, {}, padding k/2): PixelCNN's causal masked convolution
// (kernels/masked_conv.h) for an odd k x k weight, computed on the taps the mask keeps
// (24 or 25 of 49 for 7x7). mask_type 'A' hides the centre tap, 'B' shows it; both hide
// the taps after it in raster order. The weight's hidden taps are never read and get a
// zero gradient. x [N, C_in, H, W], weight [C_out, C_in, k, k] -> [N, C_out, H, W].
Tensor masked_conv2d(const Tensor& x, const Tensor& weight, char mask_type);
// Its input gradient (the adjoint in x): grad_y [N, C_out, H, W] -> [N, C_in, H, W].
Tensor masked_conv2d_backward_input(const Tensor& grad_y, const Tensor& weight, char mask_type);
// Its weight gradient: [C_out, C_in, k, k], zero at the hidden taps. Like conv2d's three
// faces, each of the three is the others' backward, so gradients of gradients work.
Tensor masked_conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, int64_t kernel_size, char mask_type);

}  // namespace mg
