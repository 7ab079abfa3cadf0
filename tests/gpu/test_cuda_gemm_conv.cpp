// CUDA GEMM and conv2d variants against the CPU reference. Errors are measured against
// the magnitude of the terms (the same kernel run on |inputs|), since cancellation makes
// |result| a poor scale for a sum of products.
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// ---- gemm ---------------------------------------------------------------------------------------

struct GemmCase {
    int64_t m, n, k, batch;
    bool trans_a, trans_b;
    int64_t pad;          // extra elements per row of A, B and C (leading dimension > minimum)
    bool broadcast_a;     // stride_a = 0: one A for every batch
    double alpha, beta;   // beta == 0: C starts as NaN, which must not leak in
};

std::vector<GemmCase> gemm_cases() {
    std::vector<GemmCase> cases;
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            cases.push_back({1, 1, 1, 1, ta, tb, 0, false, 1.0, 0.0});
            cases.push_back({17, 33, 9, 1, ta, tb, 3, false, 1.0, 0.0});
            cases.push_back({128, 128, 64, 1, ta, tb, 0, false, 1.0, 0.0});
            cases.push_back({130, 67, 257, 2, ta, tb, 1, false, 1.5, 0.5});
            cases.push_back({33, 20, 40, 3, ta, tb, 0, true, 1.0, 1.0});
        }
    cases.push_back({64, 1, 300, 1, false, false, 0, false, 1.0, 0.0});   // a matrix-vector product
    cases.push_back({5, 7, 0, 2, false, false, 0, false, 1.0, 0.5});     // k = 0: C = beta * C
    cases.push_back({200, 150, 100, 1, false, false, 0, false, 1.0, 0.0});
    return cases;
}

template <class T>
void check_gemm() {
    for_each_variant(gemm_table(), dtype_of<T>::value, [&](const std::string& name, GemmFn* fn, GemmFn* ref) {
        for (const GemmCase& c : gemm_cases()) {
            INFO("gemm m=", c.m, " n=", c.n, " k=", c.k, " batch=", c.batch, " trans_a=", c.trans_a, " trans_b=",
                 c.trans_b, " pad=", c.pad, " broadcast_a=", c.broadcast_a, " alpha=", c.alpha, " beta=", c.beta);
            GemmArgs g;
            g.trans_a = c.trans_a, g.trans_b = c.trans_b;
            g.m = c.m, g.n = c.n, g.k = c.k, g.batch = c.batch;
            const int64_t a_rows = c.trans_a ? c.k : c.m, a_cols = c.trans_a ? c.m : c.k;
            const int64_t b_rows = c.trans_b ? c.n : c.k, b_cols = c.trans_b ? c.k : c.n;
            g.lda = a_cols + c.pad, g.ldb = b_cols + c.pad, g.ldc = c.n + c.pad;
            g.stride_a = c.broadcast_a ? 0 : a_rows * g.lda;
            g.stride_b = b_rows * g.ldb;
            g.stride_c = c.m * g.ldc;
            g.alpha = c.alpha, g.beta = c.beta;
            const auto a = random_values<T>(size_t((c.broadcast_a ? 1 : c.batch) * a_rows * g.lda), -1, 1);
            const auto b = random_values<T>(size_t(c.batch * b_rows * g.ldb), -1, 1);
            auto want = c.beta == 0.0 ? std::vector<T>(size_t(c.batch * g.stride_c), T(NAN))
                                      : random_values<T>(size_t(c.batch * g.stride_c), -1, 1);
            // The magnitude: |alpha| |A|·|B| + |beta| |C|.
            GemmArgs g_abs = g;
            g_abs.alpha = std::fabs(c.alpha), g_abs.beta = std::fabs(c.beta);
            auto magnitude = absolute(want);
            ref(g_abs, absolute(a).data(), absolute(b).data(), magnitude.data());
            DeviceBuffer da(a), db(b), dc(want);
            ref(g, a.data(), b.data(), want.data());
            fn(g, da.get(), db.get(), dc.get());
            expect_close("gemm[" + name + "]", dc.download<T>(), want, rtol_for<T>(name), magnitude);
        }
    });
}

TEST_CASE("cuda gemm: every variant, every transpose, batches and strides match the CPU reference") {
    check_gemm<float>();
    check_gemm<double>();
}

// ---- conv2d ---------------------------------------------------------------------------------------

Conv2dShape conv_shape(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t stride,
                       int64_t pad, int64_t dil = 1, int64_t groups = 1) {
    Conv2dShape s;
    s.n = n, s.c_in = c_in, s.h = h, s.w = w, s.c_out = c_out;
    s.kh = s.kw = k;
    s.stride_h = s.stride_w = stride;
    s.pad_h = s.pad_w = pad;
    s.dil_h = s.dil_w = dil;
    s.groups = groups;
    s.oh = (h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    s.ow = (w + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    return s;
}

std::vector<Conv2dShape> conv_shapes() {
    return {
        conv_shape(2, 3, 8, 8, 4, 3, 1, 1),             // 3x3 "same"
        conv_shape(3, 4, 9, 7, 6, 4, 2, 1),             // the dcgan discriminator's k4 s2 p1, odd sizes
        conv_shape(2, 4, 10, 10, 6, 3, 1, 2, 2, 2),     // dilation 2, two groups
        conv_shape(2, 5, 6, 6, 3, 1, 1, 0),             // 1x1: no lowering in im2col
        conv_shape(4, 16, 14, 14, 32, 4, 2, 1),         // a small version of the workload shape
    };
}

template <class T>
void check_conv() {
    constexpr DType t = dtype_of<T>::value;
    for (const Conv2dShape& s : conv_shapes()) {
        INFO("conv n=", s.n, " c_in=", s.c_in, " ", s.h, "x", s.w, " c_out=", s.c_out, " k=", s.kh, " stride=",
             s.stride_h, " pad=", s.pad_h, " dil=", s.dil_h, " groups=", s.groups);
        const size_t x_size = size_t(s.n * s.c_in * s.h * s.w), y_size = size_t(s.n * s.c_out * s.oh * s.ow);
        const size_t w_size = size_t(s.c_out * (s.c_in / s.groups) * s.kh * s.kw);
        const auto x = random_values<T>(x_size, -1, 1);
        const auto w = random_values<T>(w_size, -1, 1);
        const auto gy = random_values<T>(y_size, -1, 1);
        const auto x_abs = absolute(x), w_abs = absolute(w), gy_abs = absolute(gy);

        const auto call = [&](auto* kernel, auto a, auto b, auto out) { kernel(s, a, b, out); };
        for_each_variant(conv2d_forward_table(), t, [&](const std::string& name, auto* fn, auto* ref) {
            check_two_input_variant<T>("conv2d_forward[" + name + "]", rtol_for<T>(name), y_size, fn, ref, x, x_abs,
                                       w, w_abs, call);
        });
        for_each_variant(conv2d_backward_input_table(), t, [&](const std::string& name, auto* fn, auto* ref) {
            check_two_input_variant<T>("conv2d_backward_input[" + name + "]", rtol_for<T>(name), x_size, fn, ref, gy,
                                       gy_abs, w, w_abs, call);
        });
        for_each_variant(conv2d_backward_weight_table(), t, [&](const std::string& name, auto* fn, auto* ref) {
            check_two_input_variant<T>("conv2d_backward_weight[" + name + "]", rtol_for<T>(name), w_size, fn, ref, x,
                                       x_abs, gy, gy_abs, call);
        });
    }
}

TEST_CASE("cuda conv2d: forward, backward_input, backward_weight match the CPU reference") {
    check_conv<float>();
    check_conv<double>();
}

}  // namespace
}  // namespace mg::kernels::gpu_test
