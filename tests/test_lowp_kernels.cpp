// The reduced-precision kernels (kernels/lowp.h): every registered variant against its
// reference on odd shapes (int8: the same int32 sums and the same float bits; bf16: a float64
// sum of the bf16-rounded inputs within float32 accumulation error), the references against
// independent computations (int8 conv: the float32 conv kernels on the dequantized inputs),
// the conversions on hand-worked values, and the errors: a variant forced onto a CPU without
// its instruction set (faked through the detection's test hook), bad zero points and sizes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "helpers.h"
#include "kernels/conv.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/lowp.h"

namespace {

using namespace mg::kernels;  // the tables, argument structs and bf16 helpers of kernels/lowp.h
using mg::Device;
using mg::DType;
using mg::test::cpu_variants;

constexpr auto kCpu = Device::CPU;

// Whether this CPU runs the variant (the others must refuse, naming their instruction set).
bool runnable(const std::string& variant) {
    const auto& f = mg::kernels::cpu::lowp_features();
    if (variant == "avx512_vnni") return f.avx512_vnni;
    if (variant == "avx512_bf16") return f.avx512_bf16;
    return true;
}

// n values drawn from dist, as T.
template <class T, class Dist>
std::vector<T> draw(std::mt19937& rng, int64_t n, Dist dist) {
    std::vector<T> v(static_cast<size_t>(n));
    for (auto& x : v) x = T(dist(rng));
    return v;
}
std::vector<uint8_t> random_bytes(std::mt19937& rng, int64_t n) {
    return draw<uint8_t>(rng, n, std::uniform_int_distribution<int>(0, 255));
}
std::vector<int8_t> random_int8(std::mt19937& rng, int64_t n) {
    return draw<int8_t>(rng, n, std::uniform_int_distribution<int>(-128, 127));
}
std::vector<float> random_floats(std::mt19937& rng, int64_t n, float lo, float hi) {
    return draw<float>(rng, n, std::uniform_real_distribution<float>(lo, hi));
}
std::vector<uint16_t> to_bf16(const std::vector<float>& x) {
    std::vector<uint16_t> v(x.size());
    for (size_t i = 0; i < x.size(); ++i) v[i] = float_to_bf16_bits(x[i]);
    return v;
}
std::vector<float> from_bf16(const std::vector<uint16_t>& x) {
    std::vector<float> v(x.size());
    for (size_t i = 0; i < x.size(); ++i) v[i] = bf16_bits_to_float(x[i]);
    return v;
}

struct GemmShape {
    int64_t m, n, k;
};
// Odd sizes: k not a multiple of 4 (or 2), m not of the 6-row tile, n not of 16 or 64.
const GemmShape kShapes[] = {{1, 1, 1},      {7, 5, 3},      {13, 70, 9}, {6, 64, 4},
                             {37, 100, 129}, {50, 17, 1023}, {2, 130, 66}};

LowpGemmArgs gemm_args(GemmShape s, bool trans_b, int64_t pad) {
    LowpGemmArgs g;
    g.m = s.m, g.n = s.n, g.k = s.k;
    g.lda = s.k + pad, g.ldb = (trans_b ? s.k : s.n) + pad, g.ldc = s.n + pad;
    g.trans_b = trans_b;
    return g;
}

// ---- int8 GEMM ---------------------------------------------------------------------------------

TEST_CASE("gemm_int8: every variant gives the exact int32 sums and the reference's float bits") {
    std::mt19937 rng(7);
    for (const std::string& v : cpu_variants(mg::kernels::gemm_int8_table(), DType::UInt8)) {
        if (!runnable(v)) continue;
        auto* gemm = mg::kernels::gemm_int8_table().get(v, kCpu, DType::UInt8);
        auto* reference = mg::kernels::gemm_int8_table().get("reference", kCpu, DType::UInt8);
        for (GemmShape s : kShapes)
            for (bool a_signed : {false, true})
                for (bool trans_b : {false, true}) {
                    CAPTURE(v);
                    CAPTURE(s.m);
                    CAPTURE(s.n);
                    CAPTURE(s.k);
                    CAPTURE(a_signed);
                    CAPTURE(trans_b);
                    LowpGemmArgs g = gemm_args(s, trans_b, trans_b ? 3 : 0);
                    g.a_signed = a_signed;
                    g.a_zero_point = a_signed ? -5 : 131;
                    const std::vector<uint8_t> a = random_bytes(rng, s.m * g.lda);
                    const std::vector<int8_t> b = random_int8(rng, (trans_b ? s.n : s.k) * g.ldb);
                    // int32: against sums computed here, in int64.
                    std::vector<int32_t> c(size_t(s.m * g.ldc), -7);
                    gemm(g, a.data(), b.data(), c.data());
                    bool exact = true;
                    for (int64_t i = 0; i < s.m; ++i)
                        for (int64_t j = 0; j < s.n; ++j) {
                            int64_t sum = 0;
                            for (int64_t p = 0; p < s.k; ++p) {
                                const int64_t av = a_signed ? int8_t(a[i * g.lda + p]) : a[i * g.lda + p];
                                const int64_t bv = trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
                                sum += (av - g.a_zero_point) * bv;
                            }
                            exact &= c[i * g.ldc + j] == sum;
                        }
                    CHECK(exact);
                    // float: scales and bias, bitwise the reference's.
                    const std::vector<float> col_scale = random_floats(rng, s.n, 0.001f, 0.02f);
                    const std::vector<float> bias = random_floats(rng, s.n, -1, 1);
                    g.a_scale = 0.037f, g.col_scale = col_scale.data(), g.bias = bias.data();
                    std::vector<float> y(size_t(s.m * g.ldc), std::nanf("")), ref(y.size(), 0.f);
                    gemm(g, a.data(), b.data(), y.data());
                    reference(g, a.data(), b.data(), ref.data());
                    for (int64_t i = 0; i < s.m; ++i)
                        CHECK(std::memcmp(y.data() + i * g.ldc, ref.data() + i * g.ldc, size_t(s.n) * 4) == 0);
                }
    }
}

TEST_CASE("gemm_int8: the extremes of the ranges stay exact (k = 4099, all 255 x -128)") {
    const GemmShape s{3, 33, 4099};
    for (const std::string& v : cpu_variants(mg::kernels::gemm_int8_table(), DType::UInt8)) {
        if (!runnable(v)) continue;
        CAPTURE(v);
        LowpGemmArgs g = gemm_args(s, false, 0);
        std::vector<uint8_t> a(size_t(s.m * s.k), 255);
        std::vector<int8_t> b(size_t(s.k * s.n), -128);
        std::vector<int32_t> c(size_t(s.m * s.n), 0);
        mg::kernels::gemm_int8_table().get(v, kCpu, DType::UInt8)(g, a.data(), b.data(), c.data());
        for (int32_t x : c) REQUIRE(x == -255 * 128 * 4099);
    }
}

TEST_CASE("gemm_int8 and gemm_bf16: the threaded split gives the reference's results at 1, 2 and 3 threads") {
    std::mt19937 rng(13);
    const GemmShape s{203, 150, 77};  // several 48-row chunks and 64-column blocks, with edges
    LowpGemmArgs g = gemm_args(s, true, 0);
    const std::vector<uint8_t> a = random_bytes(rng, s.m * s.k);
    const std::vector<int8_t> b = random_int8(rng, s.n * s.k);
    const std::vector<uint16_t> ah = to_bf16(random_floats(rng, s.m * s.k, -1, 1));
    const std::vector<uint16_t> bh = to_bf16(random_floats(rng, s.n * s.k, -1, 1));
    std::vector<int32_t> ref(size_t(s.m * s.n)), c(ref.size());
    std::vector<float> ref_h(ref.size()), c_h(ref.size());
    gemm_int8_table().get("reference", kCpu, DType::UInt8)(g, a.data(), b.data(), ref.data());
    gemm_bf16_table().get("reference", kCpu, DType::Float32)(g, ah.data(), bh.data(), ref_h.data());
    const int saved = mg::num_threads();
    for (int threads : {1, 2, 3}) {
        mg::set_num_threads(threads);
        CAPTURE(threads);
        for (const std::string& v : cpu_variants(gemm_int8_table(), DType::UInt8)) {
            if (!runnable(v)) continue;
            gemm_int8_table().get(v, kCpu, DType::UInt8)(g, a.data(), b.data(), c.data());
            CHECK(c == ref);
        }
        for (const std::string& v : cpu_variants(gemm_bf16_table(), DType::Float32)) {
            if (!runnable(v)) continue;
            gemm_bf16_table().get(v, kCpu, DType::Float32)(g, ah.data(), bh.data(), c_h.data());
            double err = 0;
            for (size_t i = 0; i < c_h.size(); ++i) err = std::max(err, double(std::abs(c_h[i] - ref_h[i])));
            CHECK(err < 1e-4);  // |entries| <= 77, float32 sums of 77 products
        }
    }
    mg::set_num_threads(saved);
}

// ---- bf16 GEMM ---------------------------------------------------------------------------------

TEST_CASE("gemm_bf16: every variant within float32 accumulation error of a float64 sum") {
    std::mt19937 rng(11);
    for (const std::string& v : cpu_variants(mg::kernels::gemm_bf16_table(), DType::Float32)) {
        if (!runnable(v)) continue;
        auto* gemm = mg::kernels::gemm_bf16_table().get(v, kCpu, DType::Float32);
        for (GemmShape s : kShapes)
            for (bool trans_b : {false, true}) {
                CAPTURE(v);
                CAPTURE(s.m);
                CAPTURE(s.n);
                CAPTURE(s.k);
                CAPTURE(trans_b);
                LowpGemmArgs g = gemm_args(s, trans_b, trans_b ? 0 : 5);
                const std::vector<uint16_t> a = to_bf16(random_floats(rng, s.m * g.lda, -2, 2));
                const std::vector<uint16_t> b = to_bf16(random_floats(rng, (trans_b ? s.n : s.k) * g.ldb, -2, 2));
                const std::vector<float> bias = random_floats(rng, s.n, -1, 1);
                g.bias = bias.data();
                std::vector<float> c(size_t(s.m * g.ldc), std::nanf(""));
                gemm(g, a.data(), b.data(), c.data());
                double worst = 0;
                for (int64_t i = 0; i < s.m; ++i)
                    for (int64_t j = 0; j < s.n; ++j) {
                        double sum = bias[size_t(j)], magnitude = std::abs(bias[size_t(j)]);
                        for (int64_t p = 0; p < s.k; ++p) {
                            const double x = bf16_bits_to_float(a[size_t(i * g.lda + p)]);
                            const double y =
                                bf16_bits_to_float(trans_b ? b[size_t(j * g.ldb + p)] : b[size_t(p * g.ldb + j)]);
                            sum += x * y;
                            magnitude += std::abs(x * y);
                        }
                        // float32 sums: each addition rounds by at most 2^-24 of the running magnitude
                        const double tolerance = double(s.k + 2) * 0x1p-24 * magnitude;
                        worst = std::max(worst, std::abs(double(c[size_t(i * g.ldc + j)]) - sum) / tolerance);
                    }
                CHECK(worst <= 1.0);
            }
    }
}

// ---- convolutions ------------------------------------------------------------------------------

Conv2dShape conv_shape(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out, int64_t k, int64_t stride,
                       int64_t pad, int64_t dil = 1) {
    Conv2dShape s;
    s.n = n, s.c_in = c_in, s.h = h, s.w = w, s.c_out = c_out, s.kh = s.kw = k;
    s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad, s.dil_h = s.dil_w = dil;
    s.oh = (h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    s.ow = (w + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    return s;
}

const Conv2dShape kConvShapes[] = {conv_shape(3, 4, 9, 9, 6, 4, 2, 1), conv_shape(2, 5, 7, 6, 3, 3, 1, 1),
                                   conv_shape(1, 3, 8, 8, 17, 1, 1, 0), conv_shape(2, 6, 10, 9, 5, 3, 2, 2, 2),
                                   conv_shape(9, 7, 7, 7, 4, 4, 2, 1)};

// y [n, c, hw] += bias[c]
void add_bias(std::vector<float>& y, const std::vector<float>& bias, int64_t hw) {
    for (size_t i = 0; i < y.size(); ++i) y[i] += bias[(i / size_t(hw)) % bias.size()];
}

// The float32 reference conv kernels: forward, or backward_input (= conv_transpose2d forward).
std::vector<float> float_conv(const Conv2dShape& s, bool transposed, const std::vector<float>& x,
                              const std::vector<float>& w) {
    std::vector<float> y(size_t(transposed ? s.n * s.c_in * s.h * s.w : s.n * s.c_out * s.oh * s.ow));
    auto& table = transposed ? mg::kernels::conv2d_backward_input_table() : mg::kernels::conv2d_forward_table();
    table.get("reference", kCpu, DType::Float32)(s, x.data(), w.data(), y.data());
    return y;
}

void check_close(const std::vector<float>& y, const std::vector<float>& ref, double rtol) {
    REQUIRE(y.size() == ref.size());
    double scale = 0, err = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        scale = std::max(scale, std::abs(double(ref[i])));
        err = std::max(err, std::isfinite(y[i]) ? std::abs(double(y[i]) - ref[i]) : INFINITY);
    }
    CHECK(err <= rtol * scale);
}

TEST_CASE(
    "conv int8: every variant gives the reference's bits; the reference is the float conv of the dequantized values") {
    std::mt19937 rng(3);
    for (bool transposed : {false, true}) {
        auto& table =
            transposed ? mg::kernels::conv_transpose2d_int8_forward_table() : mg::kernels::conv2d_int8_forward_table();
        for (const Conv2dShape& s : kConvShapes)
            for (bool a_signed : {false, true}) {
                CAPTURE(transposed);
                CAPTURE(s.n);
                CAPTURE(s.c_in);
                CAPTURE(s.kh);
                CAPTURE(a_signed);
                const int64_t in_c = transposed ? s.c_out : s.c_in, out_c = transposed ? s.c_in : s.c_out;
                const int64_t in_size = transposed ? s.n * s.c_out * s.oh * s.ow : s.n * s.c_in * s.h * s.w;
                const int64_t out_hw = transposed ? s.h * s.w : s.oh * s.ow;
                const std::vector<uint8_t> x = random_bytes(rng, in_size);
                const std::vector<int8_t> w = random_int8(rng, s.c_out * s.c_in * s.kh * s.kw);
                const std::vector<float> w_scale = random_floats(rng, out_c, 0.001f, 0.01f);
                const std::vector<float> bias = random_floats(rng, out_c, -1, 1);
                LowpConvQuant q;
                q.a_signed = a_signed, q.a_zero_point = a_signed ? 9 : 120, q.a_scale = 0.02f;
                q.w_scale = w_scale.data(), q.bias = bias.data();
                const int64_t out_size = s.n * out_c * out_hw;
                std::vector<float> ref(static_cast<size_t>(out_size));
                table.get("reference", kCpu, DType::UInt8)(s, q, x.data(), w.data(), ref.data());
                // Dequantized: x real = a_scale (x - zp); w real = w_scale[out channel] w.
                std::vector<float> xf(x.size()), wf(w.size());
                for (size_t i = 0; i < x.size(); ++i)
                    xf[i] = q.a_scale * float((a_signed ? int(int8_t(x[i])) : int(x[i])) - q.a_zero_point);
                const int64_t taps = s.kh * s.kw;
                for (size_t i = 0; i < w.size(); ++i) {
                    const int64_t co = int64_t(i) / (s.c_in * taps), ci = (int64_t(i) / taps) % s.c_in;
                    wf[i] = w_scale[size_t(transposed ? ci : co)] * float(w[i]);
                }
                std::vector<float> yf = float_conv(s, transposed, xf, wf);
                add_bias(yf, bias, out_hw);
                check_close(ref, yf, 1e-5);
                for (const std::string& v : cpu_variants(table, DType::UInt8)) {
                    CAPTURE(v);
                    std::vector<float> y(size_t(out_size), std::nanf(""));
                    table.get(v, kCpu, DType::UInt8)(s, q, x.data(), w.data(), y.data());
                    CHECK(std::memcmp(y.data(), ref.data(), y.size() * 4) == 0);
                }
                (void)in_c;
            }
    }
}

TEST_CASE("conv bf16: every variant and the reference match the float conv of the bf16 values") {
    std::mt19937 rng(5);
    for (bool transposed : {false, true}) {
        auto& table =
            transposed ? mg::kernels::conv_transpose2d_bf16_forward_table() : mg::kernels::conv2d_bf16_forward_table();
        for (const Conv2dShape& s : kConvShapes) {
            CAPTURE(transposed);
            CAPTURE(s.n);
            CAPTURE(s.c_in);
            CAPTURE(s.kh);
            const int64_t in_size = transposed ? s.n * s.c_out * s.oh * s.ow : s.n * s.c_in * s.h * s.w;
            const int64_t out_c = transposed ? s.c_in : s.c_out, out_hw = transposed ? s.h * s.w : s.oh * s.ow;
            const std::vector<uint16_t> x = to_bf16(random_floats(rng, in_size, -1, 1));
            const std::vector<uint16_t> w = to_bf16(random_floats(rng, s.c_out * s.c_in * s.kh * s.kw, -0.5f, 0.5f));
            const std::vector<float> bias = random_floats(rng, out_c, -1, 1);
            std::vector<float> yf = float_conv(s, transposed, from_bf16(x), from_bf16(w));
            add_bias(yf, bias, out_hw);
            for (const std::string& v : cpu_variants(table, DType::Float32)) {
                CAPTURE(v);
                std::vector<float> y(yf.size(), std::nanf(""));
                table.get(v, kCpu, DType::Float32)(s, x.data(), w.data(), bias.data(), y.data());
                check_close(y, yf, 1e-5);
            }
        }
    }
}

// ---- conversions -------------------------------------------------------------------------------

float from_bits(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

TEST_CASE("float_to_bf16 rounds to nearest even and keeps NaN; bf16_to_float is exact") {
    const std::vector<float> x = {1.0f,
                                  from_bits(0x3f808000),
                                  from_bits(0x3f818000),
                                  from_bits(0x3f808001),
                                  -from_bits(0x3f80ffff),
                                  std::numeric_limits<float>::max(),
                                  INFINITY,
                                  std::nanf(""),
                                  -std::nanf(""),
                                  from_bits(0x00000001)};
    const std::vector<uint16_t> want = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xbf81, 0x7f80, 0x7f80, 0x7fc0, 0xffc0, 0x0000};
    std::vector<uint16_t> y(x.size());
    mg::kernels::float_to_bf16_table().get("reference", kCpu, DType::Float32)(int64_t(x.size()), x.data(), y.data());
    CHECK(y == want);
    std::vector<float> back(x.size());
    mg::kernels::bf16_to_float_table().get("reference", kCpu, DType::Float32)(int64_t(y.size()), y.data(), back.data());
    CHECK(back[0] == 1.0f);
    CHECK(back[2] == from_bits(0x3f820000));
    CHECK(std::isinf(back[5]));
    CHECK(std::isnan(back[7]));
}

TEST_CASE("quantize / dequantize: PyTorch's rounding (x * (1/scale), ties to even), clamps, per channel") {
    auto quantize = mg::kernels::quantize_table().get("reference", kCpu, DType::Float32);
    auto dequantize = mg::kernels::dequantize_table().get("reference", kCpu, DType::Float32);
    // Per tensor, uint8, scale 0.5, zero point 10: x / 0.5 = 2x.
    const std::vector<float> x = {0.25f, 0.75f, -1.25f, 1.0f, 1000.f, -1000.f, INFINITY, std::nanf("")};
    const float scale = 0.5f;
    const int32_t zp = 10;
    mg::kernels::QuantizeArgs q;
    q.inner = int64_t(x.size()), q.scale = &scale, q.zero_point = &zp;
    std::vector<uint8_t> u(x.size());
    quantize(q, x.data(), u.data());
    // 0.5 -> 0, 1.5 -> 2, -2.5 -> -2 (ties to even), 2, clamps at 255 and 0, inf clamps, NaN -> zero point
    CHECK(u == std::vector<uint8_t>{10, 12, 8, 12, 255, 0, 255, 10});
    std::vector<float> back(x.size());
    dequantize(q, u.data(), back.data());
    CHECK(back[1] == 1.0f);
    CHECK(back[2] == -1.0f);
    CHECK(back[4] == 122.5f);
    // Per channel, int8: x [2 outer, 2 channels, 2 inner].
    const std::vector<float> xc = {1, -1, 1, -1, 3, 100, 3, -100};
    const float scales[] = {1.0f, 0.25f};
    const int32_t zps[] = {0, -3};
    q = {};
    q.outer = 2, q.channels = 2, q.inner = 2, q.scale = scales, q.zero_point = zps, q.to_signed = true;
    std::vector<int8_t> s(xc.size());
    quantize(q, xc.data(), s.data());
    CHECK(s == std::vector<int8_t>{1, -1, 1, -7, 3, 100, 9, -128});
    // Scales that are not finite and > 0, zero points out of range: refused.
    const float bad_scale = 0.f;
    q.scale = &bad_scale, q.channels = 1;
    CHECK_THROWS_AS(quantize(q, xc.data(), s.data()), mg::Error);
    const int32_t bad_zp = 200;
    q.scale = scales, q.zero_point = &bad_zp;
    CHECK_THROWS_AS(quantize(q, xc.data(), s.data()), mg::Error);
}

// ---- errors ------------------------------------------------------------------------------------

// Pretends the CPU has none of the reduced-precision sets while it lives.
struct FakeNoLowp {
    mg::kernels::cpu::LowpFeatures none;
    FakeNoLowp() { mg::kernels::cpu::set_lowp_features_for_test(&none); }
    ~FakeNoLowp() { mg::kernels::cpu::set_lowp_features_for_test(nullptr); }
};

TEST_CASE("a variant forced onto a CPU without its instruction set names the instruction set") {
    std::vector<uint8_t> a(16, 1);
    std::vector<int8_t> b(16, 1);
    std::vector<uint16_t> h(16, 0x3f80);
    std::vector<float> c(16);
    LowpGemmArgs g = gemm_args({2, 2, 4}, false, 0);
    FakeNoLowp fake;
    CHECK(mg::kernels::cpu::lowp_feature_string() == "none");
    auto* vnni = mg::kernels::gemm_int8_table().get("avx512_vnni", kCpu, DType::UInt8);
    auto* bf16 = mg::kernels::gemm_bf16_table().get("avx512_bf16", kCpu, DType::Float32);
    CHECK_THROWS_WITH_AS(vnni(g, a.data(), b.data(), c.data()), doctest::Contains("AVX512-VNNI"), mg::Error);
    CHECK_THROWS_WITH_AS(bf16(g, h.data(), h.data(), c.data()), doctest::Contains("AVX512-BF16"), mg::Error);
}

TEST_CASE("gemm_int8 and conv int8: bad zero points, k and shapes are refused") {
    std::vector<uint8_t> a(64, 1);
    std::vector<int8_t> b(64, 1);
    std::vector<int32_t> c(64);
    for (const std::string& v : cpu_variants(mg::kernels::gemm_int8_table(), DType::UInt8)) {
        if (!runnable(v)) continue;
        auto* gemm = mg::kernels::gemm_int8_table().get(v, kCpu, DType::UInt8);
        LowpGemmArgs g = gemm_args({2, 2, 4}, false, 0);
        g.a_zero_point = 256;
        CHECK_THROWS_WITH_AS(gemm(g, a.data(), b.data(), c.data()), doctest::Contains("zero point 256"), mg::Error);
        g.a_zero_point = 0, g.a_signed = true, g.a_zero_point = 128;
        CHECK_THROWS_AS(gemm(g, a.data(), b.data(), c.data()), mg::Error);
        g = gemm_args({1, 1, mg::kernels::kMaxInt8GemmK + 1}, false, 0);
        CHECK_THROWS_WITH_AS(gemm(g, a.data(), b.data(), c.data()), doctest::Contains("overflow"), mg::Error);
        g = gemm_args({2, 2, 4}, false, 0);
        g.lda = 3;
        CHECK_THROWS_AS(gemm(g, a.data(), b.data(), c.data()), mg::Error);
    }
    Conv2dShape s = conv_shape(1, 2, 4, 4, 2, 3, 1, 1);
    s.groups = 2;
    const float scale[] = {1, 1};
    LowpConvQuant q;
    q.w_scale = scale;
    std::vector<float> y(64);
    for (const std::string& v : cpu_variants(mg::kernels::conv2d_int8_forward_table(), DType::UInt8))
        CHECK_THROWS_WITH_AS(
            mg::kernels::conv2d_int8_forward_table().get(v, kCpu, DType::UInt8)(s, q, a.data(), b.data(), y.data()),
            doctest::Contains("groups"), mg::Error);
}

}  // namespace

#ifdef MINIGEN_TESTS_HAVE_BENCH
#include "tools/bench_kernels.h"

TEST_CASE("bench: the int8 and bf16 cases pass their checks on tiny shapes, against their own peaks") {
    using namespace mg::tools::bench;
    int checked = 0;
    for (CaseSpec& spec : lowp_kernel_cases(0, true)) {
        std::unique_ptr<KernelCase> kc = spec.make();
        CHECK(kc->peak != KernelCase::Peak::Fma);
        for (const std::string& v : cpu_f32_variants(kc->op, spec.dtype)) {
            CAPTURE(kc->name);
            CAPTURE(kc->shape);
            CAPTURE(v);
            CheckResult r = kc->check(v);
            if (v == "reference") continue;
            CHECK_MESSAGE(r.status == "pass", "max relative error " << r.max_rel_error << " > " << r.tolerance);
            ++checked;
        }
    }
    CHECK(checked >= 6);  // im2col for the four convolutions, and the SIMD GEMMs where the CPU has them
}
#endif
