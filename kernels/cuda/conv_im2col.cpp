// conv2d "im2col" on the GPU: our column kernels (im2col.cu) + the active CUDA GEMM.
//
// For a chunk of B images, with Kc = C_in/g*KH*KW, P = OH*OW and the chunk's
// col [C_in*KH*KW, B*P] (images side by side, group g's rows at g*Kc):
//   forward          per group, one GEMM batched over the B images:
//                      y[n]_g [C_out/g, P] = W_g [C_out/g, Kc] · col_g[:, n*P .. n*P+P)   (ldb = B*P)
//   backward_input   per group, one GEMM batched over images writes col, then col2im:
//                      col_g[:, n] = W_g^T · gy[n]_g,   gx = col2im(col)
//   backward_weight  gy is permuted to gyT [C_out, B*P] (our strided copy kernel), then one
//                    GEMM batched over groups with K = B*P:
//                      gw_g (+)= gyT_g [C_out/g, B*P] · col_g^T,   beta = 1 after the first chunk
// A 1x1 convolution with stride 1 and no padding has col == x: forward and
// backward_input skip the lowering. Chunks keep col under kMaxColElements.
// What it changes against "cudnn": it is ours end to end, and it follows whichever GEMM
// variant is active (select gemm=regblock and the convolution uses it too).
#ifdef MINIGEN_WITH_CUDA
#include <algorithm>
#include <type_traits>

#include "kernels/conv.h"
#include "kernels/cuda/checks.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/register.h"
#include "kernels/cuda/runtime.h"
#include "kernels/gemm.h"

namespace mg::kernels::cuda {

namespace {

constexpr int64_t kMaxColElements = int64_t(1)
                                    << 25;  // 128 MiB of float32 scratch at most (unless one image needs more)

struct Dims {
    int64_t cig, cog;  // channels per group, in and out
    int64_t kc;        // C_in/g * KH * KW: the GEMM's reduction length
    int64_t p;         // OH * OW
    int64_t col_rows;  // C_in * KH * KW
    int64_t chunk;     // images per chunk
    bool direct;       // 1x1, stride 1, no padding: col is x (or gx) itself
};

Dims dims_of(const Conv2dShape& s) {
    const int64_t col_rows = s.c_in * s.kh * s.kw, p = s.oh * s.ow;
    return {.cig = s.c_in / s.groups,
            .cog = s.c_out / s.groups,
            .kc = s.c_in / s.groups * s.kh * s.kw,
            .p = p,
            .col_rows = col_rows,
            .chunk = std::clamp<int64_t>(kMaxColElements / std::max<int64_t>(1, col_rows * p), 1,
                                         std::max<int64_t>(1, s.n)),
            .direct = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0};
}

// What every direction holds for a call: the sizes, the active CUDA GEMM and the Conv
// scratch: col [C_in*KH*KW, chunk*P] (none for forward and backward_input when direct),
// then for backward_weight (gyt_rows = C_out) gyT [C_out, chunk*P].
template <class T>
struct Lowering {
    Dims d;
    T* col;
    T* gyt;
    GemmFn* gemm;

    Lowering(const Conv2dShape& s, const char* what, int64_t gyt_rows = 0)
        : d(dims_of(s)), gemm(gemm_table().get(Device::CUDA, dtype_of<T>::value)) {
        const int64_t col_elements = d.direct && gyt_rows == 0 ? 0 : d.col_rows * d.chunk * d.p;
        const int64_t elements = col_elements + gyt_rows * d.chunk * d.p;
        col = elements == 0 ? nullptr : static_cast<T*>(workspace(Workspace::Conv, size_t(elements) * sizeof(T), what));
        gyt = col + col_elements;
    }
    // f(first image, images) for each chunk of the n images.
    template <class F>
    void each_chunk(int64_t n, F&& f) const {
        for (int64_t n0 = 0; n0 < n; n0 += d.chunk) f(n0, std::min(d.chunk, n - n0));
    }
};

// y [N, C_out, OH, OW] = conv(x [N, C_in, H, W], w [C_out, C_in/g, KH, KW])
template <class T>
void forward(const Conv2dShape& s, const void* xv, const void* wv, void* yv) {
    const char* what = "conv2d_forward[im2col]";
    if (conv2d_done_early(what, s, ConvDirection::Forward, yv, sizeof(T))) return;
    const Lowering<T> l(s, what);
    const Dims& d = l.d;
    const T* x = static_cast<const T*>(xv);
    const T* w = static_cast<const T*>(wv);
    T* y = static_cast<T*>(yv);
    l.each_chunk(s.n, [&](int64_t n0, int64_t count) {
        if (!d.direct) launch_im2col(dtype_of<T>::value, s, n0, count, x, l.col);
        for (int64_t g = 0; g < s.groups; ++g) {
            GemmArgs ga;
            ga.m = d.cog, ga.n = d.p, ga.k = d.kc;
            ga.lda = d.kc;
            ga.ldb = d.direct ? d.p : count * d.p;
            ga.ldc = d.p;
            ga.batch = count;
            ga.stride_a = 0;
            ga.stride_b = d.direct ? s.c_in * d.p : d.p;
            ga.stride_c = s.c_out * d.p;
            const T* b = d.direct ? x + (n0 * s.c_in + g * d.cig) * d.p : l.col + g * d.kc * count * d.p;
            l.gemm(ga, w + g * d.cog * d.kc, b, y + (n0 * s.c_out + g * d.cog) * d.p);
        }
    });
}

// gx [N, C_in, H, W] = conv^T(gy [N, C_out, OH, OW], w)
template <class T>
void backward_input(const Conv2dShape& s, const void* gyv, const void* wv, void* gxv) {
    const char* what = "conv2d_backward_input[im2col]";
    if (conv2d_done_early(what, s, ConvDirection::BackwardInput, gxv, sizeof(T))) return;
    const Lowering<T> l(s, what);
    const Dims& d = l.d;
    const T* gy = static_cast<const T*>(gyv);
    const T* w = static_cast<const T*>(wv);
    T* gx = static_cast<T*>(gxv);
    l.each_chunk(s.n, [&](int64_t n0, int64_t count) {
        for (int64_t g = 0; g < s.groups; ++g) {
            GemmArgs ga;
            ga.trans_a = true;  // W_g stored [C_out/g, Kc]: op(A) = W_g^T [Kc, C_out/g]
            ga.m = d.kc, ga.n = d.p, ga.k = d.cog;
            ga.lda = d.kc;
            ga.ldb = d.p;
            ga.ldc = d.direct ? d.p : count * d.p;
            ga.batch = count;
            ga.stride_a = 0;
            ga.stride_b = s.c_out * d.p;
            ga.stride_c = d.direct ? s.c_in * d.p : d.p;
            T* c = d.direct ? gx + (n0 * s.c_in + g * d.cig) * d.p : l.col + g * d.kc * count * d.p;
            l.gemm(ga, w + g * d.cog * d.kc, gy + (n0 * s.c_out + g * d.cog) * d.p, c);
        }
        if (!d.direct) launch_col2im(dtype_of<T>::value, s, n0, count, l.col, gx);
    });
}

// gw [C_out, C_in/g, KH, KW] = corr(x [N, C_in, H, W], gy [N, C_out, OH, OW])
template <class T>
void backward_weight(const Conv2dShape& s, const void* xv, const void* gyv, void* gwv) {
    const char* what = "conv2d_backward_weight[im2col]";
    if (conv2d_done_early(what, s, ConvDirection::BackwardWeight, gwv, sizeof(T))) return;
    const Lowering<T> l(s, what, s.c_out);  // col even when direct: the GEMM reads it
    const Dims& d = l.d;
    const T* x = static_cast<const T*>(xv);
    const T* gy = static_cast<const T*>(gyv);
    T* gw = static_cast<T*>(gwv);
    l.each_chunk(s.n, [&](int64_t n0, int64_t count) {
        launch_im2col(dtype_of<T>::value, s, n0, count, x, l.col);
        // gyT[co, n*P + p] = gy[n0 + n, co, p]: a strided copy over [C_out, count, P].
        Iter it;
        it.ndim = 3;
        it.numel = s.c_out * count * d.p;
        it.sizes[0] = s.c_out, it.sizes[1] = count, it.sizes[2] = d.p;
        it.strides[0][0] = count * d.p, it.strides[0][1] = d.p, it.strides[0][2] = 1;
        it.strides[1][0] = d.p, it.strides[1][1] = s.c_out * d.p, it.strides[1][2] = 1;
        launch_copy(dtype_of<T>::value, dtype_of<T>::value, ElementwisePath::Strided, it, l.gyt,
                    gy + n0 * s.c_out * d.p);
        GemmArgs ga;
        ga.trans_b = true;  // col_g stored [Kc, B*P]: op(B) = col_g^T [B*P, Kc]
        ga.m = d.cog, ga.n = d.kc, ga.k = count * d.p;
        ga.lda = count * d.p;
        ga.ldb = count * d.p;
        ga.ldc = d.kc;
        ga.batch = s.groups;
        ga.stride_a = d.cog * count * d.p;
        ga.stride_b = d.kc * count * d.p;
        ga.stride_c = d.cog * d.kc;
        ga.beta = n0 == 0 ? 0.0 : 1.0;
        l.gemm(ga, l.gyt, l.col, gw);
    });
}

}  // namespace

void register_cuda_conv_im2col() {
    const char* fwd = "our im2col kernel + the active CUDA GEMM, batched over images (ldb = B*P)";
    const char* bwd_in = "the active CUDA GEMM (W^T gy) + our gather col2im: no atomics";
    const char* bwd_w = "our im2col + gy permute, one GEMM per image chunk with K = B*P, batched over groups";
    for_float_dtypes([&]<DType t>() {
        using T = std::conditional_t<t == DType::Float32, float, double>;
        conv2d_forward_table().add("im2col", Device::CUDA, t, &forward<T>, 10, fwd);
        conv2d_backward_input_table().add("im2col", Device::CUDA, t, &backward_input<T>, 10, bwd_in);
        conv2d_backward_weight_table().add("im2col", Device::CUDA, t, &backward_weight<T>, 10, bwd_w);
    });
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
