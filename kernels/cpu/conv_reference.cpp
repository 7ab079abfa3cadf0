// conv2d "reference": the definition of convolution written as plain nested loops.
// Every output element is one dot product accumulated in double, in a fixed order,
// so this is both the test oracle and the slowest variant. No threads, no scratch.
//   x [N, C_in, H, W], w [C_out, C_in/g, KH, KW], y [N, C_out, OH, OW]
//   input pixel of (oh, kh): ih = oh*stride_h - pad_h + kh*dil_h (the same for w)
#include "kernels/conv.h"
#include "kernels/cpu/conv_variants.h"

namespace mg::kernels::cpu {

namespace {

// The output index o with o*stride + offset == i, if there is one inside [0, out_size).
bool output_index(int64_t i, int64_t offset, int64_t stride, int64_t out_size, int64_t& o) {
    const int64_t d = i - offset;
    if (d < 0 || d % stride != 0) return false;
    o = d / stride;
    return o < out_size;
}

}  // namespace

// y[n, co, oh, ow] = sum over (ci, kh, kw) of x[n, g*C_in/g + ci, ih, iw] * w[co, ci, kh, kw]
template <class T>
void conv2d_forward_reference(const Conv2dShape& s, const void* xv, const void* wv, void* yv) {
    check_conv2d_shape("conv2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    const T* w = static_cast<const T*>(wv);
    T* y = static_cast<T*>(yv);
    const int64_t cig = s.c_in / s.groups, cog = s.c_out / s.groups;
    for (int64_t n = 0; n < s.n; ++n)
        for (int64_t co = 0; co < s.c_out; ++co) {
            const int64_t g = co / cog;
            for (int64_t oh = 0; oh < s.oh; ++oh)
                for (int64_t ow = 0; ow < s.ow; ++ow) {
                    double acc = 0.0;
                    for (int64_t ci = 0; ci < cig; ++ci)
                        for (int64_t kh = 0; kh < s.kh; ++kh) {
                            const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
                            if (ih < 0 || ih >= s.h) continue;
                            for (int64_t kw = 0; kw < s.kw; ++kw) {
                                const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dil_w;
                                if (iw < 0 || iw >= s.w) continue;
                                acc += double(x[((n * s.c_in + g * cig + ci) * s.h + ih) * s.w + iw]) *
                                       double(w[((co * cig + ci) * s.kh + kh) * s.kw + kw]);
                            }
                        }
                    y[((n * s.c_out + co) * s.oh + oh) * s.ow + ow] = T(acc);
                }
        }
}

// gx[n, c, ih, iw] = sum over the (co, kh, kw) whose window covers (ih, iw) of
//                    gy[n, co, oh, ow] * w[co, c - g*C_in/g, kh, kw]
// Written as a gather (each gx element is one sum) so it accumulates in double too.
template <class T>
void conv2d_backward_input_reference(const Conv2dShape& s, const void* gyv, const void* wv, void* gxv) {
    check_conv2d_shape("conv2d_backward_input", s);
    const T* gy = static_cast<const T*>(gyv);
    const T* w = static_cast<const T*>(wv);
    T* gx = static_cast<T*>(gxv);
    const int64_t cig = s.c_in / s.groups, cog = s.c_out / s.groups;
    for (int64_t n = 0; n < s.n; ++n)
        for (int64_t c = 0; c < s.c_in; ++c) {
            const int64_t g = c / cig, ci = c % cig;
            for (int64_t ih = 0; ih < s.h; ++ih)
                for (int64_t iw = 0; iw < s.w; ++iw) {
                    double acc = 0.0;
                    for (int64_t co = g * cog; co < (g + 1) * cog; ++co)
                        for (int64_t kh = 0; kh < s.kh; ++kh) {
                            int64_t oh;
                            if (!output_index(ih, kh * s.dil_h - s.pad_h, s.stride_h, s.oh, oh)) continue;
                            for (int64_t kw = 0; kw < s.kw; ++kw) {
                                int64_t ow;
                                if (!output_index(iw, kw * s.dil_w - s.pad_w, s.stride_w, s.ow, ow)) continue;
                                acc += double(gy[((n * s.c_out + co) * s.oh + oh) * s.ow + ow]) *
                                       double(w[((co * cig + ci) * s.kh + kh) * s.kw + kw]);
                            }
                        }
                    gx[((n * s.c_in + c) * s.h + ih) * s.w + iw] = T(acc);
                }
        }
}

// gw[co, ci, kh, kw] = sum over (n, oh, ow) of x[n, g*C_in/g + ci, ih, iw] * gy[n, co, oh, ow]
template <class T>
void conv2d_backward_weight_reference(const Conv2dShape& s, const void* xv, const void* gyv, void* gwv) {
    check_conv2d_shape("conv2d_backward_weight", s);
    const T* x = static_cast<const T*>(xv);
    const T* gy = static_cast<const T*>(gyv);
    T* gw = static_cast<T*>(gwv);
    const int64_t cig = s.c_in / s.groups, cog = s.c_out / s.groups;
    for (int64_t co = 0; co < s.c_out; ++co) {
        const int64_t g = co / cog;
        for (int64_t ci = 0; ci < cig; ++ci)
            for (int64_t kh = 0; kh < s.kh; ++kh)
                for (int64_t kw = 0; kw < s.kw; ++kw) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < s.n; ++n)
                        for (int64_t oh = 0; oh < s.oh; ++oh) {
                            const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dil_h;
                            if (ih < 0 || ih >= s.h) continue;
                            for (int64_t ow = 0; ow < s.ow; ++ow) {
                                const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dil_w;
                                if (iw < 0 || iw >= s.w) continue;
                                acc += double(x[((n * s.c_in + g * cig + ci) * s.h + ih) * s.w + iw]) *
                                       double(gy[((n * s.c_out + co) * s.oh + oh) * s.ow + ow]);
                            }
                        }
                    gw[((co * cig + ci) * s.kh + kh) * s.kw + kw] = T(acc);
                }
    }
}

template void conv2d_forward_reference<float>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_forward_reference<double>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_input_reference<float>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_input_reference<double>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_weight_reference<float>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_weight_reference<double>(const Conv2dShape&, const void*, const void*, void*);

}  // namespace mg::kernels::cpu
