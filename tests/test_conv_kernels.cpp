// Kernel-level tests for conv2d, pooling and the index kernels.
//   conv2d:  every registered CPU variant against "reference" on many shapes (odd sizes,
//            stride, padding, dilation, groups, batch), float32 and float64; adjoint
//            identities <conv(x,w), gy> == <x, conv^T(gy,w)> == <w, corr(x,gy)> in float64;
//            reproducibility across calls and thread counts.
//   pooling: forward against brute force on an explicitly padded copy, max backward against
//            a gather-form brute force, avg backward by the adjoint identity.
//   index:   each kernel against a naive loop, and take/put, select/add adjoint identities.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "helpers.h"
#include "kernels/conv.h"
#include "kernels/cpu/gemm_blocking.h"
#include "kernels/index.h"
#include "kernels/pool.h"

namespace mk = mg::kernels;
using mg::Device;
using mg::DType;

using mg::test::cpu_variants;

namespace {

template <class T>
std::vector<T> random_values(size_t count, std::mt19937_64& rng, double lo = -1.0, double hi = 1.0) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<T> v(count);
    for (T& e : v) e = T(dist(rng));
    return v;
}

// Garbage the kernels must overwrite.
template <class T>
std::vector<T> nan_filled(size_t count) {
    return std::vector<T>(count, std::numeric_limits<T>::quiet_NaN());
}

template <class T>
double dot(const std::vector<T>& a, const std::vector<T>& b) {
    double s = 0.0;
    for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * double(b[i]);
    return s;
}

template <class T>
double abs_dot(const std::vector<T>& a, const std::vector<T>& b) {
    double s = 0.0;
    for (size_t i = 0; i < a.size(); ++i) s += std::abs(double(a[i]) * double(b[i]));
    return s;
}

// max |got - want| <= tol * max(1, max |want|), NaN counted as a failure.
template <class T>
bool close(const std::vector<T>& got, const std::vector<T>& want, double tol, double* worst = nullptr) {
    double scale = 1.0, err = 0.0;
    for (T v : want) scale = std::max(scale, std::abs(double(v)));
    for (size_t i = 0; i < got.size(); ++i) {
        const double e = std::abs(double(got[i]) - double(want[i]));
        if (!(e == e)) return false;
        err = std::max(err, e);
    }
    if (worst) *worst = err / scale;
    return err <= tol * scale;
}

template <class T>
constexpr double tolerance() {
    return std::is_same_v<T, float> ? 1e-4 : 1e-11;
}


// ---------------------------------------------------------------- conv2d

int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

struct ConvCase {
    int64_t n, c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
};

mk::Conv2dShape make_shape(const ConvCase& c) {
    mk::Conv2dShape s;
    s.n = c.n, s.c_in = c.c_in, s.h = c.h, s.w = c.w, s.c_out = c.c_out, s.kh = c.kh, s.kw = c.kw;
    s.stride_h = c.stride_h, s.stride_w = c.stride_w, s.pad_h = c.pad_h, s.pad_w = c.pad_w;
    s.dil_h = c.dil_h, s.dil_w = c.dil_w, s.groups = c.groups;
    s.oh = conv_out(c.h, c.kh, c.stride_h, c.pad_h, c.dil_h);
    s.ow = conv_out(c.w, c.kw, c.stride_w, c.pad_w, c.dil_w);
    return s;
}

std::string describe(const mk::Conv2dShape& s) {
    return fmt::format("x [{}, {}, {}, {}] -> [{}, {}, {}, {}], k {}x{} s ({},{}) p ({},{}) d ({},{}) g {}", s.n,
                       s.c_in, s.h, s.w, s.n, s.c_out, s.oh, s.ow, s.kh, s.kw, s.stride_h, s.stride_w, s.pad_h,
                       s.pad_w, s.dil_h, s.dil_w, s.groups);
}

std::vector<mk::Conv2dShape> conv_cases() {
    // n, c_in, h, w, c_out, kh, kw, sh, sw, ph, pw, dh, dw, groups
    const std::vector<ConvCase> fixed = {
        {1, 3, 7, 9, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1},         // 1x1 direct GEMM
        {3, 4, 5, 5, 8, 1, 1, 1, 1, 0, 0, 1, 1, 2},         // 1x1 direct, grouped
        {3, 4, 9, 7, 6, 1, 1, 2, 2, 1, 1, 1, 1, 1},         // 1x1 strided and padded: lowered
        {3, 3, 11, 13, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},       // 3x3 same
        {1, 8, 9, 9, 8, 3, 3, 2, 2, 0, 0, 2, 2, 4},         // dilated, 4 groups
        {3, 6, 10, 10, 4, 4, 4, 2, 2, 1, 1, 1, 1, 2},       // the dcgan kernel, grouped
        {3, 4, 17, 15, 6, 7, 7, 3, 3, 3, 3, 1, 1, 2},       // 7x7 stride 3
        {1, 2, 8, 8, 4, 4, 4, 3, 3, 2, 2, 2, 2, 1},         // 4x4 dilated stride 3
        {3, 4, 6, 6, 4, 3, 3, 1, 1, 3, 3, 1, 1, 4},         // padding wider than the kernel reach
        {5, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},         // several images per GEMM
        {3, 2, 5, 12, 3, 2, 5, 1, 2, 0, 2, 2, 1, 1},        // non-square everything
        {3, 64, 14, 14, 128, 4, 4, 2, 2, 1, 1, 1, 1, 1},    // dcgan D conv2 at batch 3
        {2, 16, 28, 28, 16, 7, 7, 1, 1, 3, 3, 1, 1, 1},     // pixelcnn 7x7, fewer channels
        // Stride 1 with OW == W lowers each tap as one shifted copy (conv_blocks.h):
        {3, 2, 6, 5, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1},         // dilated "same"
        {2, 3, 9, 7, 2, 5, 3, 1, 1, 0, 1, 1, 1, 1},         // OW == W but OH = H - 4
        {2, 2, 4, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1},         // one column: the side taps see only padding
        // Strided, one group, OW >= 7: "polyphase" splits x into phase planes (backward_input
        // per phase of gx where C_in fills the GEMM tiles: 14, 28, 64).
        {3, 1, 28, 28, 8, 4, 4, 2, 2, 1, 1, 1, 1, 1},       // dcgan D conv1: C_in = 1
        {2, 3, 11, 15, 5, 3, 3, 2, 2, 0, 0, 1, 1, 1},       // odd sizes, H != W, pad 0, C_in = 3
        {2, 14, 9, 16, 6, 4, 4, 2, 2, 2, 2, 1, 1, 1},       // pad 2, the phases of gx
        {3, 14, 13, 22, 4, 5, 3, 2, 3, 1, 2, 1, 1, 1},      // strides 2 and 3, k not a multiple
        {2, 28, 7, 14, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1},       // k < stride: phases no tap reaches
        {5, 14, 14, 14, 9, 4, 4, 2, 2, 1, 1, 1, 1, 1},      // 7x7 outputs, several images per GEMM
        {2, 14, 5, 30, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1},       // OW = 15, OH = 2: runs across rows
        {1, 14, 9, 15, 5, 4, 4, 2, 2, 1, 1, 1, 1, 1},       // one image: fewer than the threads
        {3, 14, 8, 8, 6, 4, 4, 2, 2, 1, 1, 1, 1, 1},        // OW = 4: forward stays implicit
    };
    std::vector<mk::Conv2dShape> cases;
    for (const ConvCase& c : fixed) cases.push_back(make_shape(c));
    // Random shapes: every dimension drawn independently, kept when the output is non-empty.
    std::mt19937_64 rng(1234);
    auto pick = [&](std::vector<int64_t> options) { return options[rng() % options.size()]; };
    while (cases.size() < fixed.size() + 16) {
        ConvCase c;
        c.groups = pick({1, 2, 4});
        c.n = pick({1, 3});
        c.c_in = c.groups * pick({1, 2, 3});
        c.c_out = c.groups * pick({1, 2, 3});
        c.kh = pick({1, 2, 3, 4, 5, 7});
        c.kw = pick({1, 2, 3, 4, 5, 7});
        c.stride_h = pick({1, 2, 3});
        c.stride_w = pick({1, 2, 3});
        c.pad_h = pick({0, 1, 2, 3});
        c.pad_w = pick({0, 1, 2, 3});
        c.dil_h = pick({1, 2});
        c.dil_w = pick({1, 2});
        c.h = pick({1, 3, 5, 8, 9, 13});
        c.w = pick({1, 4, 7, 10, 11});
        if (c.h + 2 * c.pad_h - c.dil_h * (c.kh - 1) - 1 < 0) continue;
        if (c.w + 2 * c.pad_w - c.dil_w * (c.kw - 1) - 1 < 0) continue;
        cases.push_back(make_shape(c));
    }
    return cases;
}

struct ConvData {
    size_t x_size, w_size, y_size;
};

ConvData conv_sizes(const mk::Conv2dShape& s) {
    return {size_t(s.n * s.c_in * s.h * s.w), size_t(s.c_out * (s.c_in / s.groups) * s.kh * s.kw),
            size_t(s.n * s.c_out * s.oh * s.ow)};
}

template <class T>
void check_conv_variants_against_reference() {
    constexpr DType t = mg::dtype_of<T>::value;
    std::mt19937_64 rng(42);
    const auto fwd_names = cpu_variants(mk::conv2d_forward_table(), t);
    const auto bin_names = cpu_variants(mk::conv2d_backward_input_table(), t);
    const auto bw_names = cpu_variants(mk::conv2d_backward_weight_table(), t);
    REQUIRE(fwd_names.size() >= 2);  // reference + im2col at least
    REQUIRE(bin_names.size() >= 2);
    REQUIRE(bw_names.size() >= 2);
    for (const mk::Conv2dShape& s : conv_cases()) {
        CAPTURE(describe(s));
        const ConvData n = conv_sizes(s);
        const auto x = random_values<T>(n.x_size, rng), w = random_values<T>(n.w_size, rng);
        const auto gy = random_values<T>(n.y_size, rng);
        auto y_ref = nan_filled<T>(n.y_size), gx_ref = nan_filled<T>(n.x_size), gw_ref = nan_filled<T>(n.w_size);
        mk::conv2d_forward_table().get("reference", Device::CPU, t)(s, x.data(), w.data(), y_ref.data());
        mk::conv2d_backward_input_table().get("reference", Device::CPU, t)(s, gy.data(), w.data(), gx_ref.data());
        mk::conv2d_backward_weight_table().get("reference", Device::CPU, t)(s, x.data(), gy.data(), gw_ref.data());
        // Each variant of one face, into a NaN-filled output, against the reference's result.
        auto check_face = [&](auto& table, const std::vector<std::string>& names, const char* face, const T* a,
                              const T* b, const std::vector<T>& want) {
            for (const std::string& name : names) {
                CAPTURE(name);
                auto got = nan_filled<T>(want.size());
                table.get(name, Device::CPU, t)(s, a, b, got.data());
                double worst = 0;
                CHECK_MESSAGE(close(got, want, tolerance<T>(), &worst), face, ", relative error ", worst);
            }
        };
        check_face(mk::conv2d_forward_table(), fwd_names, "forward", x.data(), w.data(), y_ref);
        check_face(mk::conv2d_backward_input_table(), bin_names, "backward_input", gy.data(), w.data(), gx_ref);
        check_face(mk::conv2d_backward_weight_table(), bw_names, "backward_weight", x.data(), gy.data(), gw_ref);
    }
}

}  // namespace

TEST_CASE("conv2d kernels: every CPU variant matches the reference, float32") {
    mk::init();
    check_conv_variants_against_reference<float>();
}

TEST_CASE("conv2d kernels: every CPU variant matches the reference under unusual GEMM blockings") {
    // The implicit-GEMM kernels lower their input into panels of the run-time blocking:
    // mc = MR, kc = 17, nc = NR puts every block on an edge.
    mk::init();
    for (const mk::cpu::GemmBlocking b : {mk::cpu::GemmBlocking{1, 17, 1}, {29, 40, 70}}) {
        CAPTURE(b.kc);
        const mk::cpu::ScopedGemmBlocking use(b);
        check_conv_variants_against_reference<float>();
    }
}

TEST_CASE("conv2d kernels: every CPU variant matches the reference, float64") {
    mk::init();
    check_conv_variants_against_reference<double>();
}

// <conv(x, w), gy> == <x, conv^T(gy, w)> == <w, corr(x, gy)>: all three are the one
// trilinear form sum x[..] w[..] gy[..], so each backward kernel is the exact adjoint of
// the forward kernel. Checked for every variant, the reference included.
TEST_CASE("conv2d kernels: forward and both backward kernels are adjoint, float64") {
    mk::init();
    std::mt19937_64 rng(7);
    const auto names = cpu_variants(mk::conv2d_forward_table(), DType::Float64);
    for (const std::string& name : names) {
        CAPTURE(name);
        if (!mk::conv2d_backward_input_table().has(name, Device::CPU, DType::Float64)) continue;
        if (!mk::conv2d_backward_weight_table().has(name, Device::CPU, DType::Float64)) continue;
        for (const mk::Conv2dShape& s : conv_cases()) {
            CAPTURE(describe(s));
            const ConvData n = conv_sizes(s);
            const auto x = random_values<double>(n.x_size, rng), w = random_values<double>(n.w_size, rng);
            const auto gy = random_values<double>(n.y_size, rng);
            auto y = nan_filled<double>(n.y_size), gx = nan_filled<double>(n.x_size);
            auto gw = nan_filled<double>(n.w_size);
            mk::conv2d_forward_table().get(name, Device::CPU, DType::Float64)(s, x.data(), w.data(), y.data());
            mk::conv2d_backward_input_table().get(name, Device::CPU, DType::Float64)(s, gy.data(), w.data(),
                                                                                     gx.data());
            mk::conv2d_backward_weight_table().get(name, Device::CPU, DType::Float64)(s, x.data(), gy.data(),
                                                                                      gw.data());
            const double via_y = dot(y, gy), via_x = dot(x, gx), via_w = dot(w, gw);
            const double tol = 1e-12 * std::max(1.0, abs_dot(y, gy) + abs_dot(x, gx) + abs_dot(w, gw));
            CHECK(std::abs(via_y - via_x) <= tol);
            CHECK(std::abs(via_y - via_w) <= tol);
        }
    }
}

// The im2col, implicit and polyphase variants split images across threads and, for the weight gradient,
// sum per-thread partials: the same thread count must give the same bits, and every thread
// count must stay within tolerance of the reference (including uneven image splits).
TEST_CASE("conv2d im2col, implicit and polyphase: reproducible bits per thread count, correct for 1, 2 and 3 threads") {
    mk::init();
    const int saved_threads = omp_get_max_threads();
    std::mt19937_64 rng(99);
    const std::vector<mk::Conv2dShape> shapes = {
        make_shape({7, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2}),   // P = 36: chunks of images
        make_shape({5, 8, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1}),   // direct 1x1
        make_shape({5, 4, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1}),   // 3x3 same: "implicit" loads
        make_shape({7, 5, 9, 9, 7, 4, 4, 2, 2, 1, 1, 1, 1, 1}),   // strided, P = 16: "implicit" gathers, chunks
        make_shape({6, 1, 10, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1}),  // Kc = 9 < C_out: gw computed transposed
        make_shape({4, 6, 15, 15, 6, 4, 4, 2, 2, 1, 1, 1, 1, 3}),
        make_shape({5, 14, 13, 15, 6, 4, 4, 2, 2, 1, 1, 1, 1, 1}),  // "polyphase", every face
    };
    for (const mk::Conv2dShape& s : shapes) {
        CAPTURE(describe(s));
        const ConvData n = conv_sizes(s);
        const auto x = random_values<float>(n.x_size, rng), w = random_values<float>(n.w_size, rng);
        const auto gy = random_values<float>(n.y_size, rng);
        std::vector<float> y_ref(n.y_size), gx_ref(n.x_size), gw_ref(n.w_size);
        mk::conv2d_forward_table().get("reference", Device::CPU, DType::Float32)(s, x.data(), w.data(), y_ref.data());
        mk::conv2d_backward_input_table().get("reference", Device::CPU, DType::Float32)(s, gy.data(), w.data(),
                                                                                       gx_ref.data());
        mk::conv2d_backward_weight_table().get("reference", Device::CPU, DType::Float32)(s, x.data(), gy.data(),
                                                                                        gw_ref.data());
        for (const char* variant : {"im2col", "implicit", "polyphase"}) {  // the last two where built (AVX-512)
            if (!mk::conv2d_forward_table().has(variant, Device::CPU, DType::Float32)) continue;
            CAPTURE(variant);
            auto fwd = mk::conv2d_forward_table().get(variant, Device::CPU, DType::Float32);
            auto bin = mk::conv2d_backward_input_table().get(variant, Device::CPU, DType::Float32);
            auto bw = mk::conv2d_backward_weight_table().get(variant, Device::CPU, DType::Float32);
            std::vector<float> y_one_thread, gx_one_thread;
            for (int threads : {1, 2, 3}) {
                CAPTURE(threads);
                omp_set_num_threads(threads);
                std::vector<float> y1(n.y_size), y2(n.y_size), gx1(n.x_size), gx2(n.x_size), gw1(n.w_size),
                    gw2(n.w_size);
                fwd(s, x.data(), w.data(), y1.data());
                fwd(s, x.data(), w.data(), y2.data());
                bin(s, gy.data(), w.data(), gx1.data());
                bin(s, gy.data(), w.data(), gx2.data());
                bw(s, x.data(), gy.data(), gw1.data());
                bw(s, x.data(), gy.data(), gw2.data());
                CHECK(y1 == y2);
                CHECK(gx1 == gx2);
                CHECK(gw1 == gw2);
                CHECK(close(y1, y_ref, 1e-4));
                CHECK(close(gx1, gx_ref, 1e-4));
                CHECK(close(gw1, gw_ref, 1e-4));
                // polyphase's forward and backward_input: every image on its own, the same bits
                // for every thread count (the weight gradient adds per-thread partials).
                if (threads == 1) y_one_thread = y1, gx_one_thread = gx1;
                if (std::string(variant) == "polyphase") {
                    CHECK(y1 == y_one_thread);
                    CHECK(gx1 == gx_one_thread);
                }
            }
        }
    }
    omp_set_num_threads(saved_threads);
}

// Empty reductions still overwrite the output: with no images the weight gradient is
// zero, with no input channels the output is zero.
TEST_CASE("conv2d kernels: empty reductions write zeros") {
    mk::init();
    for (const std::string& name : cpu_variants(mk::conv2d_backward_weight_table(), DType::Float32)) {
        CAPTURE(name);
        mk::Conv2dShape no_images = make_shape({0, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        std::vector<float> gw = nan_filled<float>(3 * 2 * 3 * 3);
        mk::conv2d_backward_weight_table().get(name, Device::CPU, DType::Float32)(no_images, nullptr, nullptr,
                                                                                  gw.data());
        CHECK(gw == std::vector<float>(gw.size(), 0.0f));
    }
    for (const std::string& name : cpu_variants(mk::conv2d_forward_table(), DType::Float32)) {
        CAPTURE(name);
        mk::Conv2dShape no_channels = make_shape({2, 0, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        std::vector<float> y = nan_filled<float>(2 * 3 * 5 * 5);
        mk::conv2d_forward_table().get(name, Device::CPU, DType::Float32)(no_channels, nullptr, nullptr, y.data());
        CHECK(y == std::vector<float>(y.size(), 0.0f));
    }
}

TEST_CASE("conv2d kernels: an inconsistent shape throws instead of reading out of bounds") {
    mk::init();
    mk::Conv2dShape s = make_shape({1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2});
    std::vector<float> x(1 * 4 * 8 * 8), w(4 * 2 * 3 * 3), y(1 * 4 * 8 * 8);
    for (const std::string& name : cpu_variants(mk::conv2d_forward_table(), DType::Float32)) {
        CAPTURE(name);
        auto fwd = mk::conv2d_forward_table().get(name, Device::CPU, DType::Float32);
        mk::Conv2dShape wrong_out = s;
        wrong_out.oh = 9;
        CHECK_THROWS_AS(fwd(wrong_out, x.data(), w.data(), y.data()), mg::Error);
        mk::Conv2dShape wrong_groups = s;
        wrong_groups.groups = 3;
        CHECK_THROWS_AS(fwd(wrong_groups, x.data(), w.data(), y.data()), mg::Error);
    }
}

// ---------------------------------------------------------------- pooling

namespace {

struct PoolCase {
    int64_t n, c, h, w, kh, kw, stride_h, stride_w, pad_h, pad_w;
};

mk::Pool2dShape make_pool_shape(const PoolCase& c) {
    mk::Pool2dShape s;
    s.n = c.n, s.c = c.c, s.h = c.h, s.w = c.w, s.kh = c.kh, s.kw = c.kw;
    s.stride_h = c.stride_h, s.stride_w = c.stride_w, s.pad_h = c.pad_h, s.pad_w = c.pad_w;
    s.oh = (c.h + 2 * c.pad_h - c.kh) / c.stride_h + 1;
    s.ow = (c.w + 2 * c.pad_w - c.kw) / c.stride_w + 1;
    return s;
}

std::vector<mk::Pool2dShape> pool_cases() {
    // n, c, h, w, kh, kw, sh, sw, ph, pw
    return {
        make_pool_shape({2, 3, 28, 28, 2, 2, 2, 2, 0, 0}),  // the classifier's MaxPool2
        make_pool_shape({1, 2, 7, 9, 3, 3, 2, 2, 1, 1}),
        make_pool_shape({3, 1, 8, 5, 3, 3, 1, 1, 1, 1}),
        make_pool_shape({2, 2, 10, 11, 4, 4, 3, 3, 2, 2}),
        make_pool_shape({1, 3, 5, 6, 2, 3, 1, 2, 1, 1}),
        make_pool_shape({64, 16, 14, 14, 2, 2, 2, 2, 0, 0}),  // large enough for threads
        make_pool_shape({1, 2, 7, 7, 2, 2, 2, 2, 0, 0}),      // an odd size: the last row and column unused
        make_pool_shape({1, 1, 4, 4, 2, 2, 1, 1, 2, 2}),      // windows of padding only (argmax -1)
        make_pool_shape({2, 3, 14, 70, 2, 2, 2, 2, 0, 0}),    // rows of 35 outputs: two full vectors and a tail
    };
}

std::string describe_pool(const mk::Pool2dShape& s) {
    return fmt::format("x [{}, {}, {}, {}] k {}x{} s ({},{}) p ({},{}) -> {}x{}", s.n, s.c, s.h, s.w, s.kh, s.kw,
                       s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.oh, s.ow);
}

// Brute force on an explicitly padded plane (padding = `fill`), windows scanned in (kh, kw) order.
// Calls visit(out_index, padded_value, original_index or -1) for every window cell.
template <class Visit>
void for_each_window_cell(const mk::Pool2dShape& s, Visit visit) {
    for (int64_t plane = 0; plane < s.n * s.c; ++plane)
        for (int64_t oh = 0; oh < s.oh; ++oh)
            for (int64_t ow = 0; ow < s.ow; ++ow)
                for (int64_t kh = 0; kh < s.kh; ++kh)
                    for (int64_t kw = 0; kw < s.kw; ++kw) {
                        const int64_t ph = oh * s.stride_h + kh, pw = ow * s.stride_w + kw;  // in the padded plane
                        const int64_t ih = ph - s.pad_h, iw = pw - s.pad_w;
                        const bool inside = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w;
                        visit(plane, (plane * s.oh + oh) * s.ow + ow, inside ? ih * s.w + iw : int64_t(-1));
                    }
}

// Every max_pool2d_forward variant registered for (CPU, t): reference, direct, avx512 where the CPU has it.
std::vector<std::string> max_pool_variants(DType t) { return cpu_variants(mk::max_pool2d_forward_table(), t); }

template <class T>
void check_max_pool() {
    constexpr DType t = mg::dtype_of<T>::value;
    std::mt19937_64 rng(5);
    auto bwd = mk::max_pool2d_backward_table().get(Device::CPU, t);
    for (const std::string& variant : max_pool_variants(t))
    for (const mk::Pool2dShape& s : pool_cases()) {
        auto fwd = mk::max_pool2d_forward_table().get(variant, Device::CPU, t);
        CAPTURE(variant);
        CAPTURE(describe_pool(s));
        const size_t in = size_t(s.n * s.c * s.h * s.w), out = size_t(s.n * s.c * s.oh * s.ow);
        const int64_t plane_size = s.h * s.w;
        // Small integers so that windows hold ties; the first maximum must win.
        std::vector<T> x(in);
        for (T& v : x) v = T(int(rng() % 4));
        auto y = nan_filled<T>(out);
        std::vector<int64_t> argmax(out, -7);
        fwd(s, x.data(), y.data(), argmax.data());

        std::vector<T> want_y(out, -std::numeric_limits<T>::infinity());
        std::vector<int64_t> want_arg(out, -1);
        for_each_window_cell(s, [&](int64_t plane, int64_t o, int64_t i) {
            const T v = i >= 0 ? x[size_t(plane * plane_size + i)] : -std::numeric_limits<T>::infinity();
            if (i >= 0 && (want_arg[size_t(o)] < 0 || v > want_y[size_t(o)])) {
                want_y[size_t(o)] = v;
                want_arg[size_t(o)] = i;
            }
        });
        CHECK(y == want_y);
        CHECK(argmax == want_arg);

        // Backward in gather form: gx[i] = sum of gy over the outputs whose argmax is i.
        const auto gy = random_values<T>(out, rng);
        auto gx = nan_filled<T>(in);
        bwd(s, gy.data(), argmax.data(), gx.data());
        std::vector<T> want_gx(in, T(0));
        const int64_t outs = s.oh * s.ow;
        for (int64_t plane = 0; plane < s.n * s.c; ++plane)
            for (int64_t i = 0; i < plane_size; ++i) {
                T sum = 0;
                for (int64_t o = 0; o < outs; ++o)
                    if (argmax[size_t(plane * outs + o)] == i) sum += gy[size_t(plane * outs + o)];
                want_gx[size_t(plane * plane_size + i)] = sum;
            }
        CHECK(gx == want_gx);
    }
}

template <class T>
void check_avg_pool() {
    constexpr DType t = mg::dtype_of<T>::value;
    std::mt19937_64 rng(6);
    auto fwd = mk::avg_pool2d_forward_table().get(Device::CPU, t);
    auto bwd = mk::avg_pool2d_backward_table().get(Device::CPU, t);
    for (const mk::Pool2dShape& s : pool_cases()) {
        CAPTURE(describe_pool(s));
        const size_t in = size_t(s.n * s.c * s.h * s.w), out = size_t(s.n * s.c * s.oh * s.ow);
        const auto x = random_values<T>(in, rng);
        auto y = nan_filled<T>(out);
        fwd(s, x.data(), y.data());
        std::vector<double> sums(out, 0.0);
        for_each_window_cell(s, [&](int64_t plane, int64_t o, int64_t i) {
            sums[size_t(o)] += i >= 0 ? double(x[size_t(plane * s.h * s.w + i)]) : 0.0;  // padding is 0
        });
        std::vector<T> want_y(out);
        for (size_t o = 0; o < out; ++o) want_y[o] = T(sums[o] / double(s.kh * s.kw));
        CHECK(close(y, want_y, tolerance<T>()));

        // avg pooling is linear: <avg(x), gy> == <x, avg_backward(gy)>.
        const auto gy = random_values<T>(out, rng);
        auto gx = nan_filled<T>(in);
        bwd(s, gy.data(), gx.data());
        const double lhs = dot(y, gy), rhs = dot(x, gx);
        CHECK(std::abs(lhs - rhs) <= tolerance<T>() * std::max(1.0, abs_dot(y, gy) + abs_dot(x, gx)));
    }
}

}  // namespace

TEST_CASE("max_pool2d kernels: forward and argmax against brute force, backward against a gather") {
    mk::init();
    check_max_pool<float>();
    check_max_pool<double>();
}

TEST_CASE("max_pool2d kernels: NaN propagates") {
    mk::init();
    const mk::Pool2dShape s = make_pool_shape({1, 1, 2, 2, 2, 2, 2, 2, 0, 0});
    const std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), 5.0f, 2.0f};
    for (const std::string& variant : max_pool_variants(DType::Float32)) {
        CAPTURE(variant);
        float y = 0;
        int64_t argmax = -1;
        mk::max_pool2d_forward_table().get(variant, Device::CPU, DType::Float32)(s, x.data(), &y, &argmax);
        CHECK(std::isnan(y));
        CHECK(argmax == 1);
    }
}

TEST_CASE("avg_pool2d kernels: forward against brute force, backward by the adjoint identity") {
    mk::init();
    check_avg_pool<float>();
    check_avg_pool<double>();
}

// ---------------------------------------------------------------- index

namespace {

template <class T>
std::vector<T> random_of_type(size_t count, std::mt19937_64& rng) {
    if constexpr (std::is_integral_v<T>) {
        std::vector<T> v(count);
        for (T& e : v) e = T(int64_t(rng() % 2001) - 1000);
        return v;
    } else {
        return random_values<T>(count, rng);
    }
}

std::vector<int64_t> random_indices(size_t count, int64_t bound, std::mt19937_64& rng) {
    std::vector<int64_t> idx(count);
    for (int64_t& i : idx) i = int64_t(rng() % uint64_t(bound));
    return idx;
}

// Every index kernel against the naive loop; sums run in index order in both, so the
// comparison is exact even in float32.
template <class T>
void check_index_kernels() {
    constexpr DType t = mg::dtype_of<T>::value;
    std::mt19937_64 rng(11);
    struct Size { int64_t rows, cols, k; };
    // k > cols gives repeated indices in a row; the last sizes take the threaded paths.
    for (Size z : {Size{7, 5, 9}, Size{1, 1, 3}, Size{4096, 33, 17}}) {
        CAPTURE(z.rows);
        const auto x = random_of_type<T>(size_t(z.rows * z.cols), rng);
        const auto g = random_of_type<T>(size_t(z.rows * z.k), rng);
        const auto idx = random_indices(size_t(z.rows * z.k), z.cols, rng);
        std::vector<T> y(size_t(z.rows * z.k)), want_y(y.size());
        mk::take_along_table().get(Device::CPU, t)(z.rows, z.cols, z.k, x.data(), idx.data(), y.data());
        std::vector<T> put(x.size(), T(7)), want_put(x.size(), T(0));
        mk::put_along_table().get(Device::CPU, t)(z.rows, z.cols, z.k, g.data(), idx.data(), put.data());
        for (int64_t r = 0; r < z.rows; ++r)
            for (int64_t j = 0; j < z.k; ++j) {
                const size_t e = size_t(r * z.k + j), c = size_t(r * z.cols + idx[e]);
                want_y[e] = x[c];
                want_put[c] += g[e];
            }
        CHECK(y == want_y);
        CHECK(put == want_put);
    }
    for (Size z : {Size{6, 4, 10}, Size{1, 3, 2}, Size{300, 200, 500}}) {
        const int64_t v = z.rows, d = z.cols, k = z.k;
        CAPTURE(v);
        const auto x = random_of_type<T>(size_t(v * d), rng);
        const auto g = random_of_type<T>(size_t(k * d), rng);
        const auto idx = random_indices(size_t(k), v, rng);
        std::vector<T> y(size_t(k * d), T(7)), want_y(y.size());
        mk::index_select_table().get(Device::CPU, t)(v, d, k, x.data(), idx.data(), y.data());
        std::vector<T> added(x.size(), T(7)), want_added(x.size(), T(0));
        mk::index_add_table().get(Device::CPU, t)(v, d, k, g.data(), idx.data(), added.data());
        for (int64_t j = 0; j < k; ++j)
            for (int64_t e = 0; e < d; ++e) {
                want_y[size_t(j * d + e)] = x[size_t(idx[size_t(j)] * d + e)];
                want_added[size_t(idx[size_t(j)] * d + e)] += g[size_t(j * d + e)];
            }
        CHECK(y == want_y);
        CHECK(added == want_added);
    }
}

}  // namespace

TEST_CASE("index kernels: take/put along and index select/add against naive loops") {
    mk::init();
    check_index_kernels<float>();
    check_index_kernels<double>();
    check_index_kernels<int64_t>();
}

TEST_CASE("index kernels: take/put and select/add are adjoint pairs, float64") {
    mk::init();
    std::mt19937_64 rng(12);
    const int64_t rows = 9, cols = 6, k = 11;
    const auto x = random_values<double>(size_t(rows * cols), rng);
    const auto g = random_values<double>(size_t(rows * k), rng);
    const auto idx = random_indices(size_t(rows * k), cols, rng);
    std::vector<double> y(g.size()), put(x.size());
    mk::take_along_table().get(Device::CPU, DType::Float64)(rows, cols, k, x.data(), idx.data(), y.data());
    mk::put_along_table().get(Device::CPU, DType::Float64)(rows, cols, k, g.data(), idx.data(), put.data());
    CHECK(std::abs(dot(y, g) - dot(x, put)) <= 1e-12 * (abs_dot(y, g) + 1.0));

    const int64_t v = 5, d = 7, count = 13;
    const auto table = random_values<double>(size_t(v * d), rng);
    const auto gr = random_values<double>(size_t(count * d), rng);
    const auto rows_idx = random_indices(size_t(count), v, rng);
    std::vector<double> sel(gr.size()), added(table.size());
    mk::index_select_table().get(Device::CPU, DType::Float64)(v, d, count, table.data(), rows_idx.data(), sel.data());
    mk::index_add_table().get(Device::CPU, DType::Float64)(v, d, count, gr.data(), rows_idx.data(), added.data());
    CHECK(std::abs(dot(sel, gr) - dot(table, added)) <= 1e-12 * (abs_dot(sel, gr) + 1.0));
}

TEST_CASE("index kernels: an index out of range throws") {
    mk::init();
    const std::vector<int64_t> idx = {0, 3, 1};  // 3 is outside [0, 3)
    std::vector<float> src(9, 1.0f), dst(9, 0.0f);
    CHECK_THROWS_AS(mk::take_along_table().get(Device::CPU, DType::Float32)(1, 3, 3, src.data(), idx.data(), dst.data()),
                    mg::Error);
    CHECK_THROWS_AS(mk::put_along_table().get(Device::CPU, DType::Float32)(1, 3, 3, src.data(), idx.data(), dst.data()),
                    mg::Error);
    CHECK_THROWS_AS(mk::index_select_table().get(Device::CPU, DType::Float32)(3, 1, 3, src.data(), idx.data(),
                                                                              dst.data()),
                    mg::Error);
    CHECK_THROWS_AS(mk::index_add_table().get(Device::CPU, DType::Float32)(3, 1, 3, src.data(), idx.data(), dst.data()),
                    mg::Error);
}
