// The fused CUDA kernels (kernels/cuda/{softmax,batch_norm,bias_act,adam,masked_conv}.cu) and the
// hand-written GEMMs (gemm.cu: naive, tiled, regblock, and the tensor-core wmma_tf32 and
// wmma_bf16, whose fragments include/mma.h emulates), the reductions, pooling, Philox and
// im2col/col2im run
// under the SIMT emulation (include/simt.h) against the CPU reference kernels: the same
// launch functions, grids, barriers, warp shuffles and atomics as on a GPU, on host memory.
// What this checks is the kernels' logic (indexing, reduction trees, grid-stride loops,
// the staging of the multi-tensor Adam table); timing and the hardware's own behaviour
// are the GPU tests' (tests/gpu).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "kernels/batch_norm.h"
#include "kernels/bias_act.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/launch_bias_adam.h"
#include "kernels/cuda/launch_masked_conv.h"
#include "kernels/cuda/launch_norm.h"
#include "kernels/masked_conv.h"
#include "kernels/optim.h"
#include "kernels/softmax.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels {
namespace {

namespace emu = cuda;  // this program is compiled with cuda=simt: the emulated kernels
using gpu_test::expect_close;
using gpu_test::random_values;

template <class T>
double rtol() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-10;
}
template <class Fn>
Fn* reference(OpTable<Fn>& table, DType t) {
    return table.get("reference", Device::CPU, t);
}

// ---- softmax, log-softmax, cross-entropy -----------------------------------------------------

template <class T>
void check_softmax_family(SoftmaxShape s, double range) {
    INFO("softmax [", s.outer, ", ", s.classes, ", ", s.inner, "] range ", range, " ", sizeof(T) * 8, "-bit");
    const DType t = dtype_of<T>::value;
    const size_t n = size_t(s.outer * s.classes * s.inner), rows = size_t(s.rows());
    const auto x = random_values<T>(n, -range, range);
    const auto gy = random_values<T>(n, -1, 1);
    for (bool log : {false, true}) {
        std::vector<T> want(n), got(n, T(7));
        reference(softmax_forward_table(), t)(s, x.data(), want.data(), log);
        emu::launch_softmax_forward(t, s, x.data(), got.data(), log);
        expect_close(log ? "log_softmax" : "softmax", got, want, rtol<T>(), {}, 1.0);
        std::vector<T> gx_want(n), gx(n, T(7));
        reference(softmax_backward_table(), t)(s, want.data(), gy.data(), gx_want.data(), log);
        emu::launch_softmax_backward(t, s, want.data(), gy.data(), gx.data(), log);
        expect_close(log ? "log_softmax backward" : "softmax backward", gx, gx_want, rtol<T>(), {}, 1.0);
    }
    auto target = random_values<int64_t>(rows, 0, double(s.classes - 1));
    std::vector<T> loss_want(rows), lse_want(rows), loss(rows, T(7)), lse(rows, T(7));
    reference(cross_entropy_forward_table(), t)(s, x.data(), target.data(), loss_want.data(), lse_want.data());
    emu::launch_cross_entropy_forward(t, s, x.data(), target.data(), loss.data(), lse.data());
    expect_close("cross_entropy loss", loss, loss_want, rtol<T>(), {}, 1.0);
    expect_close("cross_entropy lse", lse, lse_want, rtol<T>(), {}, 1.0);
    for (int64_t stride : {0, 1}) {
        const auto g = random_values<T>(stride ? rows : 1, 0.5, 2);
        const double scale = stride ? 1.0 : 1.0 / double(rows);
        std::vector<T> gx_want(n), gx(n, T(7));
        reference(cross_entropy_backward_table(), t)(s, x.data(), target.data(), lse_want.data(), g.data(), stride,
                                                     scale, gx_want.data());
        emu::launch_cross_entropy_backward(t, s, x.data(), target.data(), lse_want.data(), g.data(),
                                           stride, scale, gx.data());
        expect_close("cross_entropy backward", gx, gx_want, rtol<T>(), {}, 1.0);
    }
    target[rows / 2] = s.classes;  // out of range: an error naming the op, after the loss is written
    CHECK_THROWS_WITH_AS(
        emu::launch_cross_entropy_forward(t, s, x.data(), target.data(), loss.data(), lse.data()),
        doctest::Contains("out of range"), Error);
}

TEST_CASE("simt softmax / log_softmax / cross_entropy kernels match the CPU reference") {
    // warp per row (inner 1): fewer and more classes than lanes; thread per row (inner > 1)
    for (SoftmaxShape s : {SoftmaxShape{37, 10, 1}, SoftmaxShape{5, 300, 1}, SoftmaxShape{3, 7, 50},
                           SoftmaxShape{2, 1, 9}, SoftmaxShape{70, 33, 1}}) {
        check_softmax_family<float>(s, 5);
        check_softmax_family<double>(s, 5);
    }
    check_softmax_family<float>({16, 40, 1}, 80);  // only the max shift keeps e^x finite
    check_softmax_family<double>({4, 12, 21}, 800);
}

// ---- batch norm ---------------------------------------------------------------------------------

template <class T>
void check_batch_norm(BatchNormShape s) {
    INFO("batch_norm [", s.n, ", ", s.c, ", ", s.hw, "] ", sizeof(T) * 8, "-bit");
    const DType t = dtype_of<T>::value;
    const size_t n = size_t(s.n * s.c * s.hw), c = size_t(s.c);
    const auto x = random_values<T>(n, 2, 4);  // a mean far from 0: the shifted sums matter
    const auto w = random_values<T>(c, 0.5, 1.5), b = random_values<T>(c, -1, 1);
    const auto gy = random_values<T>(n, -1, 1);
    for (bool training : {true, false}) {
        INFO("training ", training);
        std::vector<T> rm_want = random_values<T>(c, -0.1, 0.1), rv_want = random_values<T>(c, 0.5, 1.5);
        std::vector<T> rm = rm_want, rv = rv_want;
        std::vector<T> y_want(n), y(n, T(7)), mean_want(c), mean(c), invstd_want(c), invstd(c);
        BatchNormForwardArgs a;
        a.shape = s, a.x = x.data(), a.weight = w.data(), a.bias = b.data(), a.training = training;
        a.running_mean = rm_want.data(), a.running_var = rv_want.data();
        a.y = y_want.data(), a.save_mean = mean_want.data(), a.save_invstd = invstd_want.data();
        reference(batch_norm_forward_table(), t)(a);
        BatchNormForwardArgs e = a;
        e.running_mean = rm.data(), e.running_var = rv.data();
        e.y = y.data(), e.save_mean = mean.data(), e.save_invstd = invstd.data();
        emu::launch_batch_norm_forward(t, e);
        expect_close("batch_norm y", y, y_want, rtol<T>(), {}, 1.0);
        expect_close("batch_norm running_mean", rm, rm_want, rtol<T>(), {}, 1.0);
        expect_close("batch_norm running_var", rv, rv_want, rtol<T>(), {}, 1.0);
        expect_close("batch_norm save_invstd", invstd, invstd_want, rtol<T>(), {}, 1.0);
        if (!training) continue;
        std::vector<T> gx_want(n), gx(n, T(7)), gw_want(c), gw(c), gb_want(c), gb(c);
        BatchNormBackwardArgs ba;
        ba.shape = s, ba.x = x.data(), ba.grad_y = gy.data(), ba.save_mean = mean_want.data();
        ba.save_invstd = invstd_want.data(), ba.weight = w.data();
        ba.grad_x = gx_want.data(), ba.grad_weight = gw_want.data(), ba.grad_bias = gb_want.data();
        reference(batch_norm_backward_table(), t)(ba);
        BatchNormBackwardArgs be = ba;
        be.grad_x = gx.data(), be.grad_weight = gw.data(), be.grad_bias = gb.data();
        emu::launch_batch_norm_backward(t, be);
        // grad_x is a difference of terms of size |g|: compare against that scale.
        expect_close("batch_norm grad_x", gx, gx_want, 100 * rtol<T>(), {}, 1.0);
        expect_close("batch_norm grad_weight", gw, gw_want, rtol<T>(), {}, double(s.n * s.hw));
        expect_close("batch_norm grad_bias", gb, gb_want, rtol<T>(), {}, double(s.n * s.hw));
    }
}

TEST_CASE("simt batch_norm kernels match the CPU reference") {
    // hw 49 (a conv), hw 1 (BatchNorm1d), and a channel of more values than the block has threads
    for (BatchNormShape s : {BatchNormShape{4, 3, 49}, BatchNormShape{9, 5, 1}, BatchNormShape{2, 2, 300}}) {
        check_batch_norm<float>(s);
        check_batch_norm<double>(s);
    }
}

// ---- bias + leaky_relu ------------------------------------------------------------------------------

template <class T>
void check_bias_act(BiasActShape s) {
    INFO("bias_act [", s.outer, ", ", s.channels, ", ", s.inner, "] slope ", s.slope, " ", sizeof(T) * 8, "-bit");
    const DType t = dtype_of<T>::value;
    const size_t n = size_t(s.outer * s.channels * s.inner);
    const auto y = random_values<T>(n, -1, 1), bias = random_values<T>(size_t(s.channels), -0.5, 0.5);
    const auto g = random_values<T>(n, -1, 1);
    std::vector<T> out_want(n), out(n, T(7));
    reference(bias_act_forward_table(), t)(s, y.data(), bias.data(), out_want.data());
    emu::launch_bias_act_forward(t, s, y.data(), bias.data(), out.data());
    CHECK(out == out_want);
    std::vector<T> gy_want(n), gy(n, T(7)), gb_want(size_t(s.channels)), gb(size_t(s.channels), T(7));
    reference(bias_act_backward_table(), t)(s, out_want.data(), g.data(), gy_want.data(), gb_want.data());
    emu::launch_bias_act_backward(t, s, out_want.data(), g.data(), gy.data(), gb.data());
    CHECK(gy == gy_want);
    expect_close("bias gradient", gb, gb_want, rtol<T>(), {}, double(s.outer * s.inner));
}

TEST_CASE("simt bias + leaky_relu kernels match the CPU reference") {
    for (BiasActShape s : {BiasActShape{3, 5, 7, 0.2}, BiasActShape{9, 19, 1, 0.0}, BiasActShape{2, 3, 300, 0.1}}) {
        check_bias_act<float>(s);
        check_bias_act<double>(s);
    }
}

// ---- Adam ---------------------------------------------------------------------------------------------

template <class T>
void check_adam(bool decoupled, double weight_decay, bool amsgrad, int64_t step) {
    INFO("adam decoupled ", decoupled, " wd ", weight_decay, " amsgrad ", amsgrad, " step ", step, " ",
         sizeof(T) * 8, "-bit");
    const DType t = dtype_of<T>::value;
    AdamHyper h;
    h.lr = 1e-3, h.weight_decay = weight_decay, h.decoupled = decoupled, h.step = step;
    const emu::AdamStepDesc d = emu::adam_step_desc(h);
    // Tensors of several sizes (one empty), updated one by one on the CPU and all in one launch.
    const std::vector<int64_t> sizes = {1, 7, 0, 1000, 4099};
    struct State {
        std::vector<T> p, g, m, v, vmax;
    };
    std::vector<State> want, got;
    for (int64_t n : sizes) {
        State s{random_values<T>(size_t(n), -1, 1), random_values<T>(size_t(n), -1, 1),
                random_values<T>(size_t(n), -0.1, 0.1), random_values<T>(size_t(n), 0, 0.01),
                random_values<T>(size_t(n), 0, 0.02)};
        want.push_back(s);
        got.push_back(s);
    }
    for (size_t k = 0; k < sizes.size(); ++k) {
        State& s = want[k];
        reference(adam_update_table(), t)(s.p.data(), s.g.data(), s.m.data(), s.v.data(),
                                          amsgrad ? s.vmax.data() : nullptr, sizes[k], h);
    }
    // The first tensor through the single-tensor kernel, the rest through the multi-tensor one.
    State& first = got[0];
    emu::launch_adam_update(t, d, first.p.data(), first.g.data(), first.m.data(), first.v.data(),
                            amsgrad ? first.vmax.data() : nullptr, sizes[0]);
    std::vector<void*> params, exp_avg, exp_avg_sq, vmax;
    std::vector<const void*> grads;
    std::vector<int64_t> numels;
    for (size_t k = 1; k < sizes.size(); ++k) {
        params.push_back(got[k].p.data()), grads.push_back(got[k].g.data());
        exp_avg.push_back(got[k].m.data()), exp_avg_sq.push_back(got[k].v.data());
        vmax.push_back(amsgrad ? got[k].vmax.data() : nullptr), numels.push_back(sizes[k]);
    }
    AdamTensorList list;
    list.count = int64_t(params.size());
    list.params = params.data(), list.grads = grads.data(), list.exp_avg = exp_avg.data();
    list.exp_avg_sq = exp_avg_sq.data(), list.max_exp_avg_sq = vmax.data(), list.numels = numels.data();
    emu::launch_adam_update_multi(t, d, list);
    for (size_t k = 0; k < sizes.size(); ++k) {  // the same operations in the same order: bitwise
        INFO("tensor ", k, " of ", sizes[k], " elements");
        CHECK(got[k].p == want[k].p);
        CHECK(got[k].m == want[k].m);
        CHECK(got[k].v == want[k].v);
        CHECK(got[k].vmax == want[k].vmax);
    }
}

TEST_CASE("simt Adam kernels, one tensor and a whole list in one launch, are bitwise the CPU reference") {
    for (bool decoupled : {false, true})
        for (double wd : {0.0, 0.01})
            for (bool amsgrad : {false, true})
                for (int64_t step : {1, 10}) {
                    check_adam<float>(decoupled, wd, amsgrad, step);
                    check_adam<double>(decoupled, wd, amsgrad, step);
                }
}

// ---- the masked conv's weight mask ----------------------------------------------------------------

TEST_CASE("simt masked-weight kernel keeps exactly the taps of kernels/masked_conv.h") {
    for (char type : {'A', 'B'})
        for (int64_t k : {3, 7}) {
            INFO("type ", type, " k ", k);
            const int64_t planes = 5, taps = masked_conv_taps(k, type);
            const auto w = random_values<float>(size_t(planes * k * k), 1, 2);
            std::vector<float> masked(w.size(), 7.0f), in_place = w;
            emu::launch_mask_weight(DType::Float32, planes, k, taps, w.data(), masked.data());
            emu::launch_mask_weight(DType::Float32, planes, k, taps, in_place.data(), in_place.data());
            for (int64_t p = 0; p < planes; ++p)
                for (int64_t tap = 0; tap < k * k; ++tap) {
                    const size_t i = size_t(p * k * k + tap);
                    const float expected = tap < taps ? w[i] : 0.0f;
                    CHECK(masked[i] == expected);
                    CHECK(in_place[i] == expected);
                }
        }
}

// ---- the hand-written GEMMs ---------------------------------------------------------------------------

struct GemmCase {
    int64_t m, n, k, batch;
    bool trans_a, trans_b;
    int64_t pad;  // extra elements per row of A, B and C
    double alpha, beta;
};

template <class T>
void check_gemm(emu::GemmKernel kernel, const char* name, double rtol_vs_magnitude) {
    const std::vector<GemmCase> cases = {
        {17, 33, 9, 1, false, false, 3, 1.0, 0.0},    {17, 33, 9, 1, true, true, 0, 1.0, 0.0},
        {130, 67, 70, 2, false, true, 1, 1.5, 0.5},   {130, 67, 70, 2, true, false, 0, 1.0, 1.0},
        {64, 1, 100, 1, false, false, 0, 1.0, 0.0},   {5, 7, 0, 2, false, false, 0, 1.0, 0.5},
        {129, 130, 40, 1, true, true, 2, 1.0, 0.0},  // edges of the 128x128 tiles
    };
    const DType t = dtype_of<T>::value;
    for (const GemmCase& c : cases) {
        INFO(name, " ", sizeof(T) * 8, "-bit m=", c.m, " n=", c.n, " k=", c.k, " batch=", c.batch, " ta=", c.trans_a,
             " tb=", c.trans_b, " pad=", c.pad, " alpha=", c.alpha, " beta=", c.beta);
        GemmArgs g;
        g.trans_a = c.trans_a, g.trans_b = c.trans_b, g.m = c.m, g.n = c.n, g.k = c.k, g.batch = c.batch;
        const int64_t a_rows = c.trans_a ? c.k : c.m, a_cols = c.trans_a ? c.m : c.k;
        const int64_t b_rows = c.trans_b ? c.n : c.k, b_cols = c.trans_b ? c.k : c.n;
        g.lda = a_cols + c.pad, g.ldb = b_cols + c.pad, g.ldc = c.n + c.pad;
        g.stride_a = a_rows * g.lda, g.stride_b = b_rows * g.ldb, g.stride_c = c.m * g.ldc;
        g.alpha = c.alpha, g.beta = c.beta;
        const auto a = random_values<T>(size_t(c.batch * g.stride_a), -1, 1);
        const auto b = random_values<T>(size_t(c.batch * g.stride_b), -1, 1);
        auto want = c.beta == 0.0 ? std::vector<T>(size_t(c.batch * g.stride_c), T(NAN))
                                  : random_values<T>(size_t(c.batch * g.stride_c), -1, 1);
        auto got = want;
        GemmArgs g_abs = g;  // the magnitude of each result: |alpha| |A||B| + |beta| |C|
        g_abs.alpha = std::fabs(c.alpha), g_abs.beta = std::fabs(c.beta);
        auto magnitude = gpu_test::absolute(want);
        reference(gemm_table(), t)(g_abs, gpu_test::absolute(a).data(), gpu_test::absolute(b).data(), magnitude.data());
        reference(gemm_table(), t)(g, a.data(), b.data(), want.data());
        emu::launch_gemm(kernel, t, g, a.data(), b.data(), got.data());
        // Padding columns of C are never written: they keep their start values (NaN with beta 0).
        expect_close(name, got, want, rtol_vs_magnitude, magnitude);
    }
}

TEST_CASE("simt gemm: naive, tiled, regblock, wmma_tf32 and wmma_bf16 match the CPU reference") {
    check_gemm<float>(emu::GemmKernel::Naive, "naive", 1e-5);
    check_gemm<double>(emu::GemmKernel::Naive, "naive", 1e-12);
    check_gemm<float>(emu::GemmKernel::Tiled, "tiled", 1e-5);
    check_gemm<double>(emu::GemmKernel::Tiled, "tiled", 1e-12);
    check_gemm<float>(emu::GemmKernel::RegisterBlocked, "regblock", 1e-5);
    check_gemm<double>(emu::GemmKernel::RegisterBlocked, "regblock", 1e-12);
    check_gemm<float>(emu::GemmKernel::WmmaTf32, "wmma_tf32", 3e-3);   // TF32 inputs: 2^-11 each
    check_gemm<float>(emu::GemmKernel::WmmaBf16, "wmma_bf16", 1.6e-2);  // BF16 inputs: 2^-8 each
}

// ---- reductions ------------------------------------------------------------------------------------

// x [a, b, c] contiguous, reduced over b (out [a, c]) or over everything (out []).
template <class T>
void check_reduce(int64_t a, int64_t b, int64_t c, bool all) {
    const DType t = dtype_of<T>::value;
    ReduceArgs r;
    if (all) {
        r.red_ndim = 1, r.red_numel = a * b * c, r.red_sizes[0] = a * b * c, r.red_strides[0] = 1;
    } else {
        r.out_ndim = 2, r.out_numel = a * c;
        r.out_sizes[0] = a, r.out_sizes[1] = c, r.out_strides[0] = c, r.out_strides[1] = 1;
        r.in_strides[0] = b * c, r.in_strides[1] = 1;
        r.red_ndim = 1, r.red_numel = b, r.red_sizes[0] = b, r.red_strides[0] = c;
    }
    const auto x = random_values<T>(size_t(a * b * c), -1, 1);
    const std::pair<emu::ReduceOp, OpTable<ReduceFn>*> ops[] = {
        {emu::ReduceOp::Sum, &sum_table()}, {emu::ReduceOp::Max, &max_table()}, {emu::ReduceOp::Min, &min_table()}};
    for (auto [op, table] : ops)
        for (auto strategy : {emu::ReduceStrategy::ThreadPerOutput, emu::ReduceStrategy::WarpPerOutput,
                              emu::ReduceStrategy::BlockPerOutput, emu::ReduceStrategy::Auto}) {
            INFO("reduce op ", int(op), " strategy ", int(strategy), " [", a, ", ", b, ", ", c, "] all ", all, " ",
                 sizeof(T) * 8, "-bit");
            std::vector<T> want(size_t(r.out_numel)), got(size_t(r.out_numel), T(7));
            reference(*table, t)(r, want.data(), x.data());
            emu::launch_reduce(op, t, strategy, r, got.data(), x.data());
            expect_close("reduce", got, want, rtol<T>(), {}, std::sqrt(double(b)));
        }
}

TEST_CASE("simt reductions: every strategy matches the CPU reference") {
    check_reduce<float>(3, 70, 5, false);
    check_reduce<double>(2, 40, 33, false);
    check_reduce<float>(1, 5000, 1, true);  // long: the block strategy cuts it into chunks
    check_reduce<double>(1, 300000, 1, true);
}

// ---- pooling ----------------------------------------------------------------------------------------

TEST_CASE("simt pooling: max and avg, forward and backward, match the CPU reference") {
    for (auto [k, stride, pad] : {std::tuple{2, 2, 0}, std::tuple{3, 2, 1}}) {
        Pool2dShape s;
        s.n = 2, s.c = 3, s.h = 9, s.w = 7, s.kh = s.kw = k, s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad;
        s.oh = (s.h + 2 * pad - k) / stride + 1, s.ow = (s.w + 2 * pad - k) / stride + 1;
        INFO("pool k ", k, " stride ", stride, " pad ", pad);
        const size_t in = size_t(s.n * s.c * s.h * s.w), out = size_t(s.n * s.c * s.oh * s.ow);
        const auto x = random_values<float>(in, -4, 4, true);  // integers: ties between maxima
        const auto gy = random_values<float>(out, -1, 1);
        std::vector<float> y_want(out), y(out, 7.0f), gx_want(in), gx(in, 7.0f);
        std::vector<int64_t> arg_want(out), arg(out, -7);
        reference(max_pool2d_forward_table(), DType::Float32)(s, x.data(), y_want.data(), arg_want.data());
        emu::launch_max_pool2d_forward(DType::Float32, s, x.data(), y.data(), arg.data());
        CHECK(y == y_want);
        CHECK(arg == arg_want);
        reference(max_pool2d_backward_table(), DType::Float32)(s, gy.data(), arg_want.data(), gx_want.data());
        emu::launch_max_pool2d_backward(DType::Float32, s, gy.data(), arg_want.data(), gx.data());
        CHECK(gx == gx_want);
        reference(avg_pool2d_forward_table(), DType::Float32)(s, x.data(), y_want.data());
        emu::launch_avg_pool2d_forward(DType::Float32, s, x.data(), y.data());
        expect_close("avg_pool2d", y, y_want, 1e-6, {}, 1.0);
        reference(avg_pool2d_backward_table(), DType::Float32)(s, gy.data(), gx_want.data());
        emu::launch_avg_pool2d_backward(DType::Float32, s, gy.data(), gx.data());
        expect_close("avg_pool2d backward", gx, gx_want, 1e-6, {}, 1.0);
    }
}

// ---- Philox --------------------------------------------------------------------------------------

TEST_CASE("simt random: the Philox stream is the CPU's (uniforms and Bernoulli bit for bit)") {
    for (int64_t n : {1, 3, 4, 1001}) {
        RandomArgs r;
        r.n = n, r.seed = 42, r.offset = 5, r.a = -1.0, r.b = 2.0;
        std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n) + 1, 7.0f);
        reference(random_uniform_table(), DType::Float32)(r, want.data());
        emu::launch_random(emu::RandomDist::Uniform, DType::Float32, r, got.data());
        CHECK(got.back() == 7.0f);  // one past the end stays untouched
        got.pop_back();
        CHECK(got == want);
        std::vector<double> nw(static_cast<size_t>(n)), ng(static_cast<size_t>(n));
        reference(random_normal_table(), DType::Float64)(r, nw.data());
        emu::launch_random(emu::RandomDist::Normal, DType::Float64, r, ng.data());
        expect_close("normal", ng, nw, 1e-12, {}, 1.0);
    }
}

// ---- im2col / col2im ----------------------------------------------------------------------------

TEST_CASE("simt im2col is the lowering of kernels/cuda/launch.h, and col2im its adjoint") {
    Conv2dShape s;
    s.n = 3, s.c_in = 2, s.h = 7, s.w = 6, s.c_out = 4, s.kh = 3, s.kw = 2;
    s.stride_h = 2, s.stride_w = 1, s.pad_h = 1, s.pad_w = 1, s.dil_h = 1, s.dil_w = 2;
    s.oh = (s.h + 2 * s.pad_h - s.dil_h * (s.kh - 1) - 1) / s.stride_h + 1;
    s.ow = (s.w + 2 * s.pad_w - s.dil_w * (s.kw - 1) - 1) / s.stride_w + 1;
    const int64_t rows = s.c_in * s.kh * s.kw, cols = s.oh * s.ow, first = 1, count = 2;
    const auto x = random_values<double>(size_t(s.n * s.c_in * s.h * s.w), -1, 1);
    std::vector<double> col(size_t(count * rows * cols), 7.0);
    emu::launch_im2col(DType::Float64, s, first, count, x.data(), col.data());
    for (int64_t b = 0; b < count; ++b)  // col[(c, i, j), (b, oy, ox)] = x[first + b, c, oy*s - p + i*d, ...]
        for (int64_t c = 0; c < s.c_in; ++c)
            for (int64_t i = 0; i < s.kh; ++i)
                for (int64_t j = 0; j < s.kw; ++j)
                    for (int64_t oy = 0; oy < s.oh; ++oy)
                        for (int64_t ox = 0; ox < s.ow; ++ox) {
                            const int64_t y = oy * s.stride_h - s.pad_h + i * s.dil_h;
                            const int64_t xx = ox * s.stride_w - s.pad_w + j * s.dil_w;
                            const bool inside = y >= 0 && y < s.h && xx >= 0 && xx < s.w;
                            const double want = inside ? x[size_t(((first + b) * s.c_in + c) * s.h * s.w + y * s.w + xx)] : 0.0;
                            REQUIRE(col[size_t(((c * s.kh + i) * s.kw + j) * count * cols + b * cols + oy * s.ow + ox)] ==
                                    want);
                        }
    // <im2col(x), g> = <x, col2im(g)> over the images lowered.
    const auto g = random_values<double>(col.size(), -1, 1);
    std::vector<double> gx(x.size(), 0.0);
    emu::launch_col2im(DType::Float64, s, first, count, g.data(), gx.data());
    double lhs = 0, rhs = 0;
    for (size_t i = 0; i < col.size(); ++i) lhs += col[i] * g[i];
    for (int64_t b = first; b < first + count; ++b)
        for (int64_t e = 0; e < s.c_in * s.h * s.w; ++e) rhs += x[size_t(b * s.c_in * s.h * s.w + e)] * gx[size_t(b * s.c_in * s.h * s.w + e)];
    CHECK(std::fabs(lhs - rhs) <= 1e-12 * (std::fabs(lhs) + 1));
}

}  // namespace
}  // namespace mg::kernels
