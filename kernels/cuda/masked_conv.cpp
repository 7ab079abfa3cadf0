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
#include <type_traits>

#include "kernels/conv.h"
#include "kernels/cuda/checks.h"
#include "kernels/cuda/launch_masked_conv.h"
#include "kernels/cuda/register.h"
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

// w with its hidden taps zeroed, in the MaskedConv scratch (valid until the next masked conv).
template <class T>
const void* masked_weight(const MaskedConv2dShape& s, const void* w, const char* what) {
    const int64_t elements = weight_planes(s) * s.k * s.k;
    void* wm = workspace(Workspace::MaskedConv, size_t(elements) * sizeof(T), what);
    launch_mask_weight(dtype_of<T>::value, weight_planes(s), s.k, masked_conv_taps(s.k, s.type), w, wm);
    return wm;
}

// The conv2d tables, by direction.
OpTable<Conv2dFn>& conv_table(ConvDirection dir) {
    switch (dir) {
        case ConvDirection::Forward: return conv2d_forward_table();
        case ConvDirection::BackwardInput: return conv2d_backward_input_table();
        case ConvDirection::BackwardWeight: break;
    }
    return conv2d_backward_weight_table();
}

// One direction, on the conv2d variant v: a, b are its inputs in the kernels' order
// (kernels/masked_conv.h). Forward and backward_input convolve with w's hidden taps zeroed;
// backward_weight computes every tap, then zeroes the hidden ones of gw.
template <class T, ConvVariant v, ConvDirection dir>
void masked(const MaskedConv2dShape& s, const void* a, const void* b, void* out) {
    constexpr const char* kOps[3] = {"masked_conv2d_forward", "masked_conv2d_backward_input",
                                     "masked_conv2d_backward_weight"};
    const char* what = kOps[int(dir)];
    cpu::check_masked_conv2d_shape(what, s);
    const int64_t out_elements = dir == ConvDirection::Forward         ? s.n * s.c_out * s.h * s.w
                                 : dir == ConvDirection::BackwardInput ? s.n * s.c_in * s.h * s.w
                                                                       : weight_planes(s);
    if (out_elements == 0) return;
    Conv2dFn* conv = conv_table(dir).get(conv_name(v), Device::CUDA, dtype_of<T>::value);
    if constexpr (dir == ConvDirection::BackwardWeight) {
        conv(conv_shape(s), a, b, out);  // every tap (zeros when there is no image or pixel)
        launch_mask_weight(dtype_of<T>::value, weight_planes(s), s.k, masked_conv_taps(s.k, s.type), out, out);
    } else {
        conv(conv_shape(s), a, masked_weight<T>(s, b, what), out);
    }
}

// A variant's priority (the default follows conv2d's: cudnn above im2col) and docs.
struct VariantDocs {
    int priority;
    const char* forward;
    const char* backward_input;
    const char* backward_weight;
};
constexpr VariantDocs kVariantDocs[2] = {  // by ConvVariant
    {10, "w with the hidden taps zeroed, then conv2d_forward[im2col] (our im2col + CUDA GEMM)",
     "w with the hidden taps zeroed, then conv2d_backward_input[im2col]",
     "conv2d_backward_weight[im2col] over every tap, then the hidden taps zeroed"},
    {30, "w with the hidden taps zeroed, then conv2d_forward[cudnn] (exact, deterministic)",
     "w with the hidden taps zeroed, then conv2d_backward_input[cudnn]",
     "conv2d_backward_weight[cudnn] over every tap, then the hidden taps zeroed"},
};

// The three directions of variant v, where the conv2d variant it wraps exists (a build
// without cuDNN has no "cudnn" conv).
template <class T, ConvVariant v>
void add_variant() {
    constexpr DType t = dtype_of<T>::value;
    if (!conv2d_forward_table().has(conv_name(v), Device::CUDA, t)) return;
    const VariantDocs& d = kVariantDocs[int(v)];
    using enum ConvDirection;
    masked_conv2d_forward_table().add(conv_name(v), Device::CUDA, t, &masked<T, v, Forward>, d.priority, d.forward);
    masked_conv2d_backward_input_table().add(conv_name(v), Device::CUDA, t, &masked<T, v, BackwardInput>,
                                             d.priority, d.backward_input);
    masked_conv2d_backward_weight_table().add(conv_name(v), Device::CUDA, t, &masked<T, v, BackwardWeight>,
                                              d.priority, d.backward_weight);
}

}  // namespace

void register_cuda_masked_conv() {
    for_float_dtypes([]<DType t>() {
        using T = std::conditional_t<t == DType::Float32, float, double>;
        add_variant<T, ConvVariant::Im2col>();
        add_variant<T, ConvVariant::Cudnn>();
    });
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
