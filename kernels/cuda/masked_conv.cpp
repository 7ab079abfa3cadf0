// PixelCNN's masked convolution (kernels/masked_conv.h) on the GPU, through the conv2d
// CUDA kernels that already exist (kernels/conv.h): conv2d with stride 1, padding k/2,
// no bias, no groups, on the weight with its hidden taps zeroed:
//   forward          wm = mask(w)   (our kernel, masked_conv.cu, into the MaskedConv scratch)
//                    y  = conv2d_forward(x, wm)
//   backward_input   gx = conv2d_backward_input(gy, wm)
//   backward_weight  gw = conv2d_backward_weight(x, gy), then mask(gw) in place
// Because wm is 0 at the hidden taps, conv(x, wm) sums the kept taps' products plus
// products with 0, which add nothing (unless x holds an infinity or NaN: 0 * inf is NaN,
// where the CPU kernels skip the hidden taps); the hidden taps of gw are exact zeros,
// and w's hidden taps are never used (NaN there is harmless). The price against a
// kept-taps-only lowering is the k*k - T hidden taps' work (25 of 49 for 7x7 type A):
// the conv kernels are the tuned ones, and this file adds no arithmetic of its own.
//
// Each variant calls one named conv2d CUDA variant ("im2col": our im2col + the active
// GEMM; "cudnn": cuDNN's exact deterministic algorithms), so a masked-conv variant is as
// precise and as deterministic as the conv variant it wraps. The masked weight lives in
// its own workspace slot: the conv uses the Conv slot for its columns or cuDNN workspace.
#ifdef MINIGEN_WITH_CUDA
#include "kernels/conv.h"
#include "kernels/cuda/launch_masked_conv.h"
#include "kernels/cuda/runtime.h"
#include "kernels/masked_conv.h"

namespace mg::kernels::cpu {
void check_masked_conv2d_shape(const char* op, const MaskedConv2dShape& s);  // kernels/cpu/conv_masked.cpp
}  // namespace mg::kernels::cpu

namespace mg::kernels::cuda {

namespace {

// The conv2d CUDA variant a masked-conv variant runs on (its name in the conv2d tables).
enum class ConvVariant : uint8_t { Im2col, Cudnn };
constexpr const char* conv_name(ConvVariant v) { return v == ConvVariant::Im2col ? "im2col" : "cudnn"; }

// The same-size convolution of the mask: stride 1, padding k/2, so OH = H and OW = W.
Conv2dShape conv_shape(const MaskedConv2dShape& s) {
    Conv2dShape c;
    c.n = s.n, c.c_in = s.c_in, c.h = s.h, c.w = s.w;
    c.c_out = s.c_out, c.kh = s.k, c.kw = s.k;
    c.oh = s.h, c.ow = s.w;
    c.pad_h = s.k / 2, c.pad_w = s.k / 2;
    return c;  // stride, dilation, groups: 1
}

int64_t weight_planes(const MaskedConv2dShape& s) { return s.c_out * s.c_in; }

template <class T>
ScalarType scalar_type() {
    return dtype_of<T>::value == DType::Float32 ? ScalarType::Float32 : ScalarType::Float64;
}

// w with its hidden taps zeroed, in the MaskedConv scratch (valid until the next masked conv).
template <class T>
const void* masked_weight(const MaskedConv2dShape& s, const void* w, const char* what) {
    const int64_t elements = weight_planes(s) * s.k * s.k;
    void* wm = workspace(Workspace::MaskedConv, size_t(elements) * sizeof(T), what);
    launch_mask_weight(scalar_type<T>(), weight_planes(s), s.k, masked_conv_taps(s.k, s.type), w, wm);
    return wm;
}

template <class T, ConvVariant v>
void forward(const MaskedConv2dShape& s, const void* x, const void* w, void* y) {
    const char* what = "masked_conv2d_forward";
    cpu::check_masked_conv2d_shape(what, s);
    if (s.n * s.c_out * s.h * s.w == 0) return;
    Conv2dForwardFn* conv = conv2d_forward_table().get(conv_name(v), Device::CUDA, dtype_of<T>::value);
    conv(conv_shape(s), x, masked_weight<T>(s, w, what), y);
}

template <class T, ConvVariant v>
void backward_input(const MaskedConv2dShape& s, const void* gy, const void* w, void* gx) {
    const char* what = "masked_conv2d_backward_input";
    cpu::check_masked_conv2d_shape(what, s);
    if (s.n * s.c_in * s.h * s.w == 0) return;
    Conv2dBackwardInputFn* conv = conv2d_backward_input_table().get(conv_name(v), Device::CUDA, dtype_of<T>::value);
    conv(conv_shape(s), gy, masked_weight<T>(s, w, what), gx);
}

template <class T, ConvVariant v>
void backward_weight(const MaskedConv2dShape& s, const void* x, const void* gy, void* gw) {
    const char* what = "masked_conv2d_backward_weight";
    cpu::check_masked_conv2d_shape(what, s);
    if (weight_planes(s) == 0) return;
    Conv2dBackwardWeightFn* conv =
        conv2d_backward_weight_table().get(conv_name(v), Device::CUDA, dtype_of<T>::value);
    conv(conv_shape(s), x, gy, gw);  // every tap (zeros when there is no image or pixel)
    launch_mask_weight(scalar_type<T>(), weight_planes(s), s.k, masked_conv_taps(s.k, s.type), gw, gw);
}

template <class T, ConvVariant v>
void add_variant(int priority, const char* forward_doc, const char* backward_input_doc,
                 const char* backward_weight_doc) {
    constexpr DType t = dtype_of<T>::value;
    masked_conv2d_forward_table().add(conv_name(v), Device::CUDA, t, &forward<T, v>, priority, forward_doc);
    masked_conv2d_backward_input_table().add(conv_name(v), Device::CUDA, t, &backward_input<T, v>, priority,
                                             backward_input_doc);
    masked_conv2d_backward_weight_table().add(conv_name(v), Device::CUDA, t, &backward_weight<T, v>, priority,
                                              backward_weight_doc);
}

}  // namespace

void register_cuda_masked_conv() {
    const char* im2col_fwd = "w with the hidden taps zeroed, then conv2d_forward[im2col] (our im2col + CUDA GEMM)";
    const char* im2col_bwd_in = "w with the hidden taps zeroed, then conv2d_backward_input[im2col]";
    const char* im2col_bwd_w = "conv2d_backward_weight[im2col] over every tap, then the hidden taps zeroed";
    const char* cudnn_fwd = "w with the hidden taps zeroed, then conv2d_forward[cudnn] (exact, deterministic)";
    const char* cudnn_bwd_in = "w with the hidden taps zeroed, then conv2d_backward_input[cudnn]";
    const char* cudnn_bwd_w = "conv2d_backward_weight[cudnn] over every tap, then the hidden taps zeroed";
    // The default follows conv2d's: cudnn above im2col. Each wraps a conv2d variant, so it
    // exists only where that does (a build without cuDNN has no "cudnn" conv).
    auto wrapped = [](ConvVariant v, DType t) { return conv2d_forward_table().has(conv_name(v), Device::CUDA, t); };
    if (wrapped(ConvVariant::Im2col, DType::Float32))
        add_variant<float, ConvVariant::Im2col>(10, im2col_fwd, im2col_bwd_in, im2col_bwd_w);
    if (wrapped(ConvVariant::Im2col, DType::Float64))
        add_variant<double, ConvVariant::Im2col>(10, im2col_fwd, im2col_bwd_in, im2col_bwd_w);
    if (wrapped(ConvVariant::Cudnn, DType::Float32))
        add_variant<float, ConvVariant::Cudnn>(30, cudnn_fwd, cudnn_bwd_in, cudnn_bwd_w);
    if (wrapped(ConvVariant::Cudnn, DType::Float64))
        add_variant<double, ConvVariant::Cudnn>(30, cudnn_fwd, cudnn_bwd_in, cudnn_bwd_w);
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
