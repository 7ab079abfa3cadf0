// The int8 and bf16 kernel cases of `minigen bench` (kernels/lowp.h) at the dcgan generator's
// shapes at batch 64: its Linear(100, 6272) as a GEMM, its two ConvTranspose2d (128 -> 64 at
// 7x7 -> 14x14, 64 -> 1 at 14x14 -> 28x28), and dcgan D's 64 -> 128 conv for conv2d. The rates
// are against the measured VNNI (GOP/s) and BF16 (GFLOP/s) peaks. The float32 kernels at the same
// shapes are the sgemm 64x6272x100 and conv_transpose2d rows.
//
// Checks: int8 must give the reference's bits (tolerance 0: the int32 sums are exact and the
// epilogue is the same fma); bf16 within 1e-5 of the largest output (float32 sums of up to 1024
// products). The reference computes the first rows (GEMM) or images (conv) within the budget.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/conv.h"
#include "kernels/lowp.h"
#include "tools/bench_kernels.h"

namespace mg::tools::bench {

namespace {

using kernels::Conv2dShape;
constexpr auto kCpu = Device::CPU;

std::vector<uint8_t> random_bytes(std::mt19937& rng, int64_t n, int lo, int hi) {
    std::uniform_int_distribution<int> d(lo, hi);
    std::vector<uint8_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = uint8_t(d(rng));
    return v;
}
std::vector<float> random_floats(std::mt19937& rng, int64_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}
std::vector<uint16_t> random_bf16(std::mt19937& rng, int64_t n, float lo, float hi) {
    std::vector<uint16_t> v(static_cast<size_t>(n));
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto& x : v) x = kernels::float_to_bf16_bits(d(rng));
    return v;
}

// Fills out with NaN, runs the variant, and compares the first n outputs with ref: {max relative
// error, every output finite}.
template <class Run>
std::pair<double, bool> run_and_compare_first(std::vector<float>& out, const std::vector<float>& ref, int64_t n,
                                              Run run) {
    std::fill(out.begin(), out.end(), std::nanf(""));
    run();
    bool finite = true;
    for (float x : out) finite &= std::isfinite(x);
    return {max_rel_error(out.data(), ref.data(), n), finite};
}

// The compared part of a reference: `checked` of `units` rows or images.
std::string part(int64_t checked, int64_t units, const char* what) {
    return checked == units ? "" : fmt::format("{} 0..{} of {}", what, checked - 1, units);
}

// The weights' per-output-channel scales and the activation's quantization, as a generator
// quantized per channel would have them.
struct Quant {
    std::vector<float> w_scale, bias;
    float a_scale = 0.02f;
    int32_t a_zero_point = 128;
};

// C [m, n] = A [m, k] · B (weight [n, k], as Linear stores it) + bias, int8 or bf16.
class LowpGemmCase : public KernelCase {
public:
    LowpGemmCase(bool int8, int64_t m, int64_t n, int64_t k, double budget) : int8_(int8) {
        std::mt19937 rng(int8 ? 41 : 43);
        name = int8 ? "gemm_int8" : "gemm_bf16";
        shape = fmt::format("{}x{}x{}", m, n, k);
        op = name;
        peak = int8 ? Peak::Vnni : Peak::Bf16;
        g_.m = m, g_.n = n, g_.k = k, g_.lda = k, g_.ldb = k, g_.ldc = n, g_.trans_b = true;
        flop = 2.0 * double(m) * double(n) * double(k);
        q_.w_scale = random_floats(rng, n, 0.001f, 0.01f);
        q_.bias = random_floats(rng, n, -1, 1);
        g_.bias = q_.bias.data();
        if (int8) {
            a8_ = random_bytes(rng, m * k, 0, 255);
            w8_ = random_bytes(rng, n * k, 0, 255);
            g_.a_zero_point = q_.a_zero_point, g_.a_scale = q_.a_scale, g_.col_scale = q_.w_scale.data();
        } else {
            a16_ = random_bf16(rng, m * k, -1, 1);
            w16_ = random_bf16(rng, n * k, -1, 1);
        }
        c_.resize(size_t(m * n));
        rows_ = std::clamp<int64_t>(budget > 0 ? int64_t(budget / (2.0 * double(n * k))) : m, 1, m);
        tolerance_ = int8 ? 0.0 : 1e-5;
    }
    void run(std::string_view v) override { run_on(v, g_, c_.data()); }

protected:
    double compute_reference() override {
        kernels::LowpGemmArgs g = g_;
        g.m = rows_;
        ref_.resize(size_t(rows_ * g_.n));
        run_on("reference", g, ref_.data());
        return double(rows_) / double(g_.m);
    }
    std::pair<double, bool> run_and_compare(std::string_view v) override {
        return run_and_compare_first(c_, ref_, rows_ * g_.n, [&] { run(v); });
    }
    std::string compared_part() const override { return part(rows_, g_.m, "rows"); }

private:
    void run_on(std::string_view v, const kernels::LowpGemmArgs& g, float* c) {
        if (int8_)
            kernels::gemm_int8_table().get(v, kCpu, DType::UInt8)(g, a8_.data(),
                                                                  reinterpret_cast<const int8_t*>(w8_.data()), c);
        else
            kernels::gemm_bf16_table().get(v, kCpu, DType::Float32)(g, a16_.data(), w16_.data(), c);
    }
    bool int8_;
    kernels::LowpGemmArgs g_;
    Quant q_;
    std::vector<uint8_t> a8_, w8_;
    std::vector<uint16_t> a16_, w16_;
    std::vector<float> c_, ref_;
    int64_t rows_;
};

// conv2d or conv_transpose2d forward at the conv shape s (kernels/lowp.h), int8 or bf16.
class LowpConvCase : public KernelCase {
public:
    LowpConvCase(bool int8, bool transposed, const Conv2dShape& s, std::string label, double budget)
        : int8_(int8), transposed_(transposed), s_(s) {
        std::mt19937 rng(int8 ? 47 : 53);
        name = fmt::format("{}_{}", transposed ? "conv_transpose2d" : "conv2d", int8 ? "int8" : "bf16");
        shape = std::move(label);
        op = name + "_forward";
        peak = int8 ? Peak::Vnni : Peak::Bf16;
        flop = kernels::conv2d_cost(s, DType::Float32).flop;
        const int64_t in = transposed ? s.n * s.c_out * s.oh * s.ow : s.n * s.c_in * s.h * s.w;
        const int64_t out_c = transposed ? s.c_in : s.c_out;
        image_out_ = transposed ? s.c_in * s.h * s.w : s.c_out * s.oh * s.ow;
        const int64_t weights = s.c_out * s.c_in * s.kh * s.kw;
        q_.w_scale = random_floats(rng, out_c, 0.001f, 0.01f);
        q_.bias = random_floats(rng, out_c, -1, 1);
        if (int8) {
            x8_ = random_bytes(rng, in, 0, 255);
            w8_ = random_bytes(rng, weights, 0, 255);
        } else {
            x16_ = random_bf16(rng, in, -1, 1);
            w16_ = random_bf16(rng, weights, -0.2f, 0.2f);
        }
        y_.resize(size_t(s.n * image_out_));
        images_ = std::clamp<int64_t>(budget > 0 ? int64_t(budget / (flop / double(s.n))) : s.n, 1, s.n);
        tolerance_ = int8 ? 0.0 : 1e-5;
    }
    void run(std::string_view v) override { run_on(v, s_, y_.data()); }

protected:
    double compute_reference() override {
        Conv2dShape s = s_;
        s.n = images_;  // the first images' outputs depend on those images alone
        ref_.resize(size_t(images_ * image_out_));
        run_on("reference", s, ref_.data());
        return double(images_) / double(s_.n);
    }
    std::pair<double, bool> run_and_compare(std::string_view v) override {
        return run_and_compare_first(y_, ref_, images_ * image_out_, [&] { run(v); });
    }
    std::string compared_part() const override { return part(images_, s_.n, "images"); }

private:
    void run_on(std::string_view v, const Conv2dShape& s, float* y) {
        if (int8_) {
            kernels::LowpConvQuant q;
            q.a_zero_point = q_.a_zero_point, q.a_scale = q_.a_scale;
            q.w_scale = q_.w_scale.data(), q.bias = q_.bias.data();
            auto& t =
                transposed_ ? kernels::conv_transpose2d_int8_forward_table() : kernels::conv2d_int8_forward_table();
            t.get(v, kCpu, DType::UInt8)(s, q, x8_.data(), reinterpret_cast<const int8_t*>(w8_.data()), y);
        } else {
            auto& t =
                transposed_ ? kernels::conv_transpose2d_bf16_forward_table() : kernels::conv2d_bf16_forward_table();
            t.get(v, kCpu, DType::Float32)(s, x16_.data(), w16_.data(), q_.bias.data(), y);
        }
    }
    bool int8_, transposed_;
    Conv2dShape s_;
    Quant q_;
    int64_t image_out_ = 0, images_ = 1;
    std::vector<uint8_t> x8_, w8_;
    std::vector<uint16_t> x16_, w16_;
    std::vector<float> y_, ref_;
};

Conv2dShape conv_k4s2p1(int64_t n, int64_t c_in, int64_t h, int64_t c_out) {
    Conv2dShape s;
    s.n = n, s.c_in = c_in, s.h = s.w = h, s.c_out = c_out, s.kh = s.kw = 4;
    s.stride_h = s.stride_w = 2, s.pad_h = s.pad_w = 1;
    s.oh = s.ow = (h + 2 - 4) / 2 + 1;
    return s;
}

}  // namespace

std::vector<CaseSpec> lowp_kernel_cases(double budget, bool tiny) {
    std::vector<CaseSpec> out;
    for (bool int8 : {true, false}) {
        const DType dt = int8 ? DType::UInt8 : DType::Float32;
        auto gemm = [&](int64_t m, int64_t n, int64_t k) {
            const std::string name = int8 ? "gemm_int8" : "gemm_bf16", shape = fmt::format("{}x{}x{}", m, n, k);
            out.push_back({name, shape, name,
                           [=] { return std::unique_ptr<KernelCase>(new LowpGemmCase(int8, m, n, k, budget)); }, dt});
        };
        // label: the layer as it runs (the transposed conv's input -> output channels)
        auto conv = [&](bool transposed, const Conv2dShape& s, const std::string& label) {
            const std::string name =
                fmt::format("{}_{}", transposed ? "conv_transpose2d" : "conv2d", int8 ? "int8" : "bf16");
            out.push_back(
                {name, label, name + "_forward",
                 [=] { return std::unique_ptr<KernelCase>(new LowpConvCase(int8, transposed, s, label, budget)); },
                 dt});
        };
        if (tiny) {
            gemm(7, 70, 9);
            conv(true, conv_k4s2p1(3, 5, 8, 6), "3x6x4x4->5 k4s2p1");
            conv(false, conv_k4s2p1(3, 5, 8, 6), "3x5x8x8->6 k4s2p1");
            continue;
        }
        gemm(64, 6272, 100);                                                   // G: Linear(100, 6272)
        conv(true, conv_k4s2p1(64, 64, 14, 128), "64x128x7x7->64 k4s2p1");     // G: 7x7 -> 14x14
        conv(true, conv_k4s2p1(64, 1, 28, 64), "64x64x14x14->1 k4s2p1");       // G: 14x14 -> 28x28
        conv(false, conv_k4s2p1(64, 64, 14, 128), "64x64x14x14->128 k4s2p1");  // D's second conv
    }
    return out;
}

}  // namespace mg::tools::bench
