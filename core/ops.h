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

#include <optional>
#include <vector>

#include "core/tensor.h"

namespace mg {

// ---- elementwise: arithmetic (core/ops/elementwise.cpp) -------------------------
Tensor add(const Tensor& a, const Tensor& b);      // a + b
Tensor sub(const Tensor& a, const Tensor& b);      // a - b
Tensor mul(const Tensor& a, const Tensor& b);      // a * b
Tensor div(const Tensor& a, const Tensor& b);      // a / b
Tensor pow(const Tensor& a, const Tensor& b);      // a^b; a > 0 where b is not an integer
Tensor maximum(const Tensor& a, const Tensor& b);  // elementwise max; NaN propagates
Tensor minimum(const Tensor& a, const Tensor& b);  // elementwise min; NaN propagates
Tensor add(const Tensor& a, double b);             // a + b
Tensor sub(const Tensor& a, double b);             // a - b
Tensor mul(const Tensor& a, double b);             // a * b
Tensor div(const Tensor& a, double b);             // a / b
Tensor affine(const Tensor& x, double scale, double shift);  // scale*x + shift
Tensor pow(const Tensor& x, double exponent);      // x^exponent
Tensor neg(const Tensor& x);                       // -x
Tensor exp(const Tensor& x);                       // e^x
Tensor log(const Tensor& x);                       // natural logarithm
Tensor sin(const Tensor& x);                       // sine, x in radians
Tensor cos(const Tensor& x);                       // cosine, x in radians
Tensor sqrt(const Tensor& x);                      // square root
Tensor abs(const Tensor& x);                       // |x|; gradient sign(x), 0 at 0
Tensor sign(const Tensor& x);                      // -1, 0 or 1; not differentiable (zero gradient)
Tensor clamp(const Tensor& x, double low, double high);  // min(max(x, low), high)
Tensor square(const Tensor& x);                    // x^2
Tensor reciprocal(const Tensor& x);                // 1 / x

// ---- elementwise: activations (core/ops/activation.cpp) -------------------------
Tensor relu(const Tensor& x);                             // max(x, 0)
Tensor leaky_relu(const Tensor& x, double slope = 0.01);  // x > 0 ? x : slope*x
// leaky_relu(y + bias, slope) with bias [C] along dim 1, slope >= 0 (0: relu), as one fused node.
Tensor bias_leaky_relu(const Tensor& y, const Tensor& bias, double slope = 0.0);
Tensor elu(const Tensor& x, double alpha = 1.0);  // x > 0 ? x : alpha*(e^x - 1)
Tensor tanh(const Tensor& x);                     // hyperbolic tangent
Tensor sigmoid(const Tensor& x);                  // 1 / (1 + e^-x)
Tensor softplus(const Tensor& x);                 // ln(1 + e^x), stable for large |x|
Tensor gelu(const Tensor& x);                     // exact: x * Phi(x)
Tensor silu(const Tensor& x);                     // x * sigmoid(x) (swish)
Tensor mish(const Tensor& x);                     // x * tanh(softplus(x))
Tensor erf(const Tensor& x);                      // the error function

// ---- comparison and selection: uint8 masks, no gradient ------------------------
Tensor eq(const Tensor& a, const Tensor& b);  // a == b
Tensor ne(const Tensor& a, const Tensor& b);  // a != b
Tensor gt(const Tensor& a, const Tensor& b);  // a > b
Tensor ge(const Tensor& a, const Tensor& b);  // a >= b
Tensor lt(const Tensor& a, const Tensor& b);  // a < b
Tensor le(const Tensor& a, const Tensor& b);  // a <= b
Tensor gt(const Tensor& a, double b);         // a > b
Tensor ge(const Tensor& a, double b);         // a >= b
Tensor lt(const Tensor& a, double b);         // a < b
Tensor le(const Tensor& a, double b);         // a <= b
// cond (uint8, broadcast) ? a : b; differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);

// ---- reductions (core/ops/reduction.cpp) ----------------------------------------
// An empty `dims` reduces over every dimension.

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);   // sum over dims
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // mean over dims
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // max over dims
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // min over dims
// Variance with Bessel's correction by default (correction = 1), like torch.var.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim = false);  // log(sum(exp(x))), without overflow
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);     // index of the max; int64, no gradient
// Sums a gradient down to `shape` (the reverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);
// The L2 norm of all of x's elements, sqrt(sum(x^2)), as a 0-d tensor.
Tensor norm(const Tensor& x);

// ---- linear algebra (core/ops/linalg.cpp) ---------------------------------------
// 1-D·1-D, 2-D·2-D, and batched [..., m, k]·[..., k, n] with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x·W^T + b; x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// ---- convolution and pooling (core/ops/conv.cpp, pool.cpp) ----------------------
// A (height, width) pair; one integer sets both.
struct Pair {
    int64_t h = 0, w = 0;
    Pair(int64_t both = 0) : h(both), w(both) {}  // NOLINT: Pair p = 2 is the natural spelling
    Pair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};
// conv2d's and conv_transpose2d's geometry.
struct Conv2dOptions {
    Pair stride = 1, padding = 0, dilation = 1;
    int64_t groups = 1;
    Pair output_padding = 0;  // conv_transpose2d only
};
// 2-D convolution: x [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& opt = {});
// Transposed 2-D convolution: x [N, C_in, H, W], weight [C_in, C_out/groups, KH, KW] (PyTorch's
// layout), bias [C_out].
// The adjoint of conv2d in its input: OH = (H-1)*s - 2p + d*(K-1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const Conv2dOptions& opt = {});
// The weight gradient of conv2d, d<conv2d(x, w), gy>/dw, itself differentiable.
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, const Shape& weight_shape,
                              const Conv2dOptions& opt);
// The max over each kernel window of x [N, C, H, W]; stride defaults to the kernel size
// (0 = default).
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = 0, Pair padding = 0);
// What max_pool2d_with_indices returns: max_pool2d's values and each window's winner.
struct MaxPool2dResult {
    Tensor values, indices;
};
// max_pool2d and each window's winner as PyTorch's return_indices gives it: int64 [N, C, OH, OW],
// the flat index h * W + w inside its (n, c) plane (the first maximum in raster order wins a tie).
// The indices carry no gradient; the values' gradient is max_pool2d's.
MaxPool2dResult max_pool2d_with_indices(const Tensor& x, Pair kernel, Pair stride = 0, Pair padding = 0);
// The mean over each kernel window, with max_pool2d's shapes and defaults.
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = 0, Pair padding = 0);

// ---- normalization, softmax (core/ops/norm.cpp) ---------------------------------
// Batch normalization of x [N, C] or [N, C, ...] per channel (dim 1). In training, normalises with the batch statistics and
// updates running_mean/var in place (momentum as PyTorch: new = (1-m)*old + m*batch,
// unbiased variance); in eval uses the running statistics. weight/bias may be undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// Normalises over the trailing dims given by normalized_shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
Tensor softmax(const Tensor& x, int64_t dim);      // e^x / sum(e^x) along dim
Tensor log_softmax(const Tensor& x, int64_t dim);  // x - logsumexp(x) along dim

// ---- losses (core/ops/loss.cpp) --------------------------------------------------
// How a loss folds its per-element terms: their mean, their sum, or none (the terms' tensor).
enum class Reduction { Mean, Sum, None };
// Softmax cross-entropy of logits [N, C] or [N, C, d1, ...] against int64 class indices
// target [N] or [N, d1, ...] with values in [0, C).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
// The options of cross_entropy, with torch.nn.functional.cross_entropy's meanings.
//   ignore_index: targets equal to it add nothing, and Mean divides by the non-ignored targets'
//     total weight; every other target must be in [0, C). Unset: every target must be in range.
//     A Mean over no weight at all (every target ignored; PyTorch gives NaN) is an error.
//   label_smoothing in [0, 1]: the target distribution is (1 - e) onehot + e / C.
//   weight [C]: each class's weight, applied to both terms as PyTorch does.
// With the defaults it is cross_entropy above (the fused kernel); otherwise composed of ops.
struct CrossEntropyOptions {
    Reduction reduction = Reduction::Mean;
    std::optional<int64_t> ignore_index = {};
    double label_smoothing = 0.0;
    Tensor weight = {};
};
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options);  // with PyTorch's options, as above
// -log_probs[target], the shapes of cross_entropy.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
// Binary cross-entropy of sigmoid(logits) against target in [0, 1], computed stably as
// softplus(x) - x*t.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
// With pos_weight (broadcast to the logits, PyTorch's [C] along the last dim): the positive
// term weighted, -[p t ln s(x) + (1-t) ln(1-s(x))] = (1 - t) x + (1 + (p - 1) t) softplus(-x).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& pos_weight,
                                        Reduction reduction = Reduction::Mean);
// (input - target)^2.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// KL(N(mu, exp(logvar)) || N(0, I)) = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)),
// summed over all but the first dim; Mean averages over the batch.
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction = Reduction::Mean);

// ---- indexing (core/ops/index.cpp) -----------------------------------------------
// The rows of weight [V, D] that int64 indices of any shape pick -> [..., D].
Tensor embedding(const Tensor& indices, const Tensor& weight);
// One-hot vectors of int64 indices of any shape -> [..., num_classes], float32 by default.
Tensor one_hot(const Tensor& indices, int64_t num_classes, DType dtype = DType::Float32);
// x [..., C], index int64 [..., K] -> [..., K]: y[..., k] = x[..., index[..., k]].
Tensor gather_last(const Tensor& x, const Tensor& index);
// The adjoint of gather_last: a [..., C] tensor of zeros with g scattered (summed) in.
Tensor scatter_add_last(const Tensor& g, const Tensor& index, int64_t size);

// ---- joining and splitting (core/ops/shape.cpp) ----------------------------------
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);    // joins along an existing dim
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);  // joins along a new dim
// Slices of split_size along dim (the last may be shorter), views of x.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
// At most `chunks` slices of ceil(size / chunks) along dim (the last may be shorter), views of x.
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
// Comparisons give uint8 masks (no gradient), for where() and mask_as().
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, double b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, double b) { return ge(a, b); }
inline Tensor operator<(const Tensor& a, double b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, double b) { return le(a, b); }

}  // namespace mg

// ---- PixelCNN's masked convolution (core/ops/masked_conv.cpp) -------------------------
namespace mg {

// y = conv2d(x, weight * mask, {}, padding k/2): PixelCNN's causal masked convolution
// (kernels/masked_conv.h) for an odd k x k weight, computed on the taps the mask keeps
// (24 or 25 of 49 for 7x7). mask_type 'A' hides the centre tap, 'B' shows it; both hide
// the taps after it in raster order. The weight's hidden taps are never read and get a
// zero gradient. x [N, C_in, H, W], weight [C_out, C_in, k, k] -> [N, C_out, H, W].
Tensor masked_conv2d(const Tensor& x, const Tensor& weight, char mask_type);
// masked_conv2d's input gradient (the adjoint in x): grad_y [N, C_out, H, W] -> [N, C_in, H, W].
Tensor masked_conv2d_backward_input(const Tensor& grad_y, const Tensor& weight, char mask_type);
// masked_conv2d's weight gradient: [C_out, C_in, k, k], zero at the hidden taps. Like conv2d's three
// faces, each of the three is the others' backward, so gradients of gradients work.
Tensor masked_conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, int64_t kernel_size, char mask_type);

}  // namespace mg

// ---- causal multi-head attention, fused (core/ops/attention.cpp) -------------------------------
#include "core/ops/attention.h"
#include "core/ops/recurrent.h"  // lstm_cell, skew, unskew
#include "core/ops/color.h"      // rgb_to_lab, lab_to_rgb
#include "core/ops/batch_norm_act.h"  // batch_norm_act: batch norm + relu / leaky_relu, one node
#include "core/ops/gram.h"            // gram_matrix: style transfer's feature correlations
