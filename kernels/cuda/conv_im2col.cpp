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
#include "kernels/cuda/runtime.h"
#include "kernels/gemm.h"

namespace mg::kernels::cuda {

namespace {

constexpr int64_t kMaxColElements = int64_t(1)
                                    << 25;  // 128 MiB of float32 scratch at most (unless one image needs more)

ConvDesc to_desc(const Conv2dShape& s) {
    ConvDesc d;
    d.n = s.n, d.c_in = s.c_in, d.h = s.h, d.w = s.w;
    d.c_out = s.c_out, d.kh = s.kh, d.kw = s.kw;
    d.oh = s.oh, d.ow = s.ow;
    d.stride_h = s.stride_h, d.stride_w = s.stride_w, d.pad_h = s.pad_h, d.pad_w = s.pad_w;
    d.dil_h = s.dil_h, d.dil_w = s.dil_w;
    d.groups = s.groups;
    return d;
}

struct Dims {
    int64_t cig, cog, kc, p;
    int64_t col_rows;  // C_in*KH*KW
    int64_t chunk;     // images per chunk
    bool direct;
};

Dims dims_of(const Conv2dShape& s) {
    Dims d;
    d.cig = s.c_in / s.groups;
    d.cog = s.c_out / s.groups;
    d.kc = d.cig * s.kh * s.kw;
    d.p = s.oh * s.ow;
    d.col_rows = s.c_in * s.kh * s.kw;
    d.chunk =
        std::clamp<int64_t>(kMaxColElements / std::max<int64_t>(1, d.col_rows * d.p), 1, std::max<int64_t>(1, s.n));
    d.direct = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
    return d;
}

template <class T>
ScalarType scalar_type() {
    return std::is_same_v<T, float> ? ScalarType::Float32 : ScalarType::Float64;
}

template <class T>
GemmFn* active_gemm() {
    return gemm_table().get(Device::CUDA, dtype_of<T>::value);
}

template <class T>
void zero(void* p, int64_t elements, const char* what) {
    check(cudaMemsetAsync(p, 0, size_t(elements) * sizeof(T), current_stream()), what);
}

// y [N, C_out, OH, OW] = conv(x [N, C_in, H, W], w [C_out, C_in/g, KH, KW])
template <class T>
void forward(const Conv2dShape& s, const void* xv, const void* wv, void* yv) {
    const char* what = "conv2d_forward[im2col]";
    check_conv2d_shape(what, s);
    if (s.n * s.c_out * s.oh * s.ow == 0) return;
    if (s.c_in == 0) return zero<T>(yv, s.n * s.c_out * s.oh * s.ow, what);
    const Dims d = dims_of(s);
    const T* x = static_cast<const T*>(xv);
    const T* w = static_cast<const T*>(wv);
    T* y = static_cast<T*>(yv);
    T* col = d.direct
                 ? nullptr
                 : static_cast<T*>(workspace(Workspace::Conv, size_t(d.col_rows * d.chunk * d.p) * sizeof(T), what));
    GemmFn* gemm = active_gemm<T>();
    for (int64_t n0 = 0; n0 < s.n; n0 += d.chunk) {
        const int64_t count = std::min(d.chunk, s.n - n0);
        if (!d.direct) launch_im2col(scalar_type<T>(), to_desc(s), n0, count, x, col);
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
            const T* b = d.direct ? x + (n0 * s.c_in + g * d.cig) * d.p : col + g * d.kc * count * d.p;
            gemm(ga, w + g * d.cog * d.kc, b, y + (n0 * s.c_out + g * d.cog) * d.p);
        }
    }
}

// gx [N, C_in, H, W] = conv^T(gy [N, C_out, OH, OW], w)
template <class T>
void backward_input(const Conv2dShape& s, const void* gyv, const void* wv, void* gxv) {
    const char* what = "conv2d_backward_input[im2col]";
    check_conv2d_shape(what, s);
    if (s.n * s.c_in * s.h * s.w == 0) return;
    if (s.c_out == 0 || s.oh * s.ow == 0) return zero<T>(gxv, s.n * s.c_in * s.h * s.w, what);
    const Dims d = dims_of(s);
    const T* gy = static_cast<const T*>(gyv);
    const T* w = static_cast<const T*>(wv);
    T* gx = static_cast<T*>(gxv);
    T* col = d.direct
                 ? nullptr
                 : static_cast<T*>(workspace(Workspace::Conv, size_t(d.col_rows * d.chunk * d.p) * sizeof(T), what));
    GemmFn* gemm = active_gemm<T>();
    for (int64_t n0 = 0; n0 < s.n; n0 += d.chunk) {
        const int64_t count = std::min(d.chunk, s.n - n0);
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
            T* c = d.direct ? gx + (n0 * s.c_in + g * d.cig) * d.p : col + g * d.kc * count * d.p;
            gemm(ga, w + g * d.cog * d.kc, gy + (n0 * s.c_out + g * d.cog) * d.p, c);
        }
        if (!d.direct) launch_col2im(scalar_type<T>(), to_desc(s), n0, count, col, gx);
    }
}

// gw [C_out, C_in/g, KH, KW] = corr(x [N, C_in, H, W], gy [N, C_out, OH, OW])
template <class T>
void backward_weight(const Conv2dShape& s, const void* xv, const void* gyv, void* gwv) {
    const char* what = "conv2d_backward_weight[im2col]";
    check_conv2d_shape(what, s);
    const Dims d = dims_of(s);
    if (s.c_out * d.kc == 0) return;
    if (s.n == 0 || d.p == 0) return zero<T>(gwv, s.c_out * d.kc, what);
    const T* x = static_cast<const T*>(xv);
    const T* gy = static_cast<const T*>(gyv);
    T* gw = static_cast<T*>(gwv);
    // One scratch buffer: col [C_in*KH*KW, B*P], then gyT [C_out, B*P].
    const int64_t col_elements = d.col_rows * d.chunk * d.p;
    T* col = static_cast<T*>(
        workspace(Workspace::Conv, size_t(col_elements + s.c_out * d.chunk * d.p) * sizeof(T), what));
    T* gyt = col + col_elements;
    GemmFn* gemm = active_gemm<T>();
    for (int64_t n0 = 0; n0 < s.n; n0 += d.chunk) {
        const int64_t count = std::min(d.chunk, s.n - n0);
        launch_im2col(scalar_type<T>(), to_desc(s), n0, count, x, col);
        // gyT[co, n*P + p] = gy[n0 + n, co, p]: a strided copy over [C_out, count, P].
        IterDesc it;
        it.ndim = 3;
        it.numel = s.c_out * count * d.p;
        it.sizes[0] = s.c_out, it.sizes[1] = count, it.sizes[2] = d.p;
        it.strides[0][0] = count * d.p, it.strides[0][1] = d.p, it.strides[0][2] = 1;
        it.strides[1][0] = d.p, it.strides[1][1] = s.c_out * d.p, it.strides[1][2] = 1;
        launch_copy(scalar_type<T>(), scalar_type<T>(), ElementwisePath::Strided, it, gyt, gy + n0 * s.c_out * d.p);
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
        gemm(ga, gyt, col, gw);
    }
}

}  // namespace

void register_cuda_conv_im2col() {
    const char* fwd = "our im2col kernel + the active CUDA GEMM, batched over images (ldb = B*P)";
    const char* bwd_in = "the active CUDA GEMM (W^T gy) + our gather col2im: no atomics";
    const char* bwd_w = "our im2col + gy permute, one GEMM per image chunk with K = B*P, batched over groups";
    conv2d_forward_table().add("im2col", Device::CUDA, DType::Float32, &forward<float>, 10, fwd);
    conv2d_forward_table().add("im2col", Device::CUDA, DType::Float64, &forward<double>, 10, fwd);
    conv2d_backward_input_table().add("im2col", Device::CUDA, DType::Float32, &backward_input<float>, 10, bwd_in);
    conv2d_backward_input_table().add("im2col", Device::CUDA, DType::Float64, &backward_input<double>, 10, bwd_in);
    conv2d_backward_weight_table().add("im2col", Device::CUDA, DType::Float32, &backward_weight<float>, 10, bwd_w);
    conv2d_backward_weight_table().add("im2col", Device::CUDA, DType::Float64, &backward_weight<double>, 10, bwd_w);
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
