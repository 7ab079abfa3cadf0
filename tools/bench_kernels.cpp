// Kernel cases: GEMM, the three conv2d faces, elementwise ops and reductions, softmax
// cross-entropy, batch norm and causal attention (see bench_kernels.h).
#include "tools/bench_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "kernels/attention.h"
#include "kernels/batch_norm.h"
#include "kernels/bias_act.h"
#include "kernels/pool.h"
#include "kernels/conv.h"
#include "kernels/masked_conv.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/lstm.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"

namespace mg::tools::bench {

using kernels::Conv2dShape;

// ---- helpers -------------------------------------------------------------------------------

double max_rel_error(const float* y, const float* ref, int64_t n) {
    double scale = 0, err = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(y[i])) return std::numeric_limits<double>::infinity();
        scale = std::max(scale, std::abs(double(ref[i])));
        err = std::max(err, std::abs(double(y[i]) - double(ref[i])));
    }
    if (scale == 0) return err == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return err / scale;
}

std::vector<std::string> cpu_f32_variants(const std::string& op, DType dtype) {
    kernels::init();
    std::vector<std::string> out;
    if (kernels::OpTableBase* t = kernels::find_table(op))
        for (const auto& v : t->variants())
            // priority < 0: registered so that forcing it names the instruction set this CPU lacks
            if (v.device == Device::CPU && v.dtype == dtype && v.priority >= 0) out.push_back(v.name);
    return out;
}

std::string active_cpu_f32_variant(const std::string& op, DType dtype) {
    kernels::init();
    if (kernels::OpTableBase* t = kernels::find_table(op))
        for (const auto& v : t->variants())
            if (v.device == Device::CPU && v.dtype == dtype && v.active) return v.name;
    return "";
}

namespace {

// 64-byte aligned floats, as the tensor allocator hands them to kernels.
class Floats {
public:
    explicit Floats(int64_t n) : n_(n) {
        size_t bytes = (size_t(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
        p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
        MG_CHECK(p_ != nullptr, "bench: cannot allocate {} floats", n);
    }
    ~Floats() { std::free(p_); }
    Floats(const Floats&) = delete;
    Floats& operator=(const Floats&) = delete;
    float* data() const { return p_; }
    int64_t size() const { return n_; }
    // Uniform in [lo, hi) from a fixed seed (splitmix64): the same inputs on every run.
    void fill_uniform(uint64_t seed, float lo, float hi) {
        uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
        for (int64_t i = 0; i < n_; ++i) {
            uint64_t z = (s += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            p_[i] = lo + (hi - lo) * float(double(z >> 40) * 0x1.0p-24);
        }
    }
    void fill_nan() { std::fill(p_, p_ + n_, std::numeric_limits<float>::quiet_NaN()); }
    bool all_finite() const {
        for (int64_t i = 0; i < n_; ++i)
            if (!std::isfinite(p_[i])) return false;
        return true;
    }

private:
    int64_t n_;
    float* p_;
};

constexpr auto kCpu = Device::CPU;
constexpr auto kF32 = DType::Float32;

// How many of `units` (rows, images, channels) the reference may compute within the
// budget, each costing unit_flop; 0 budget = all.
int64_t units_within(double budget, double unit_flop, int64_t units) {
    if (budget <= 0 || unit_flop <= 0) return units;
    return std::clamp<int64_t>(int64_t(budget / unit_flop), 1, units);
}

// ---- GEMM: C [m, n] = A [m, k] · B [k, n], row-major ----------------------------------------
class GemmCase : public KernelCase {
public:
    GemmCase(int64_t m, int64_t n, int64_t k, double budget) : a_(m * k), b_(k * n), c_(m * n) {
        name = "sgemm";
        shape = fmt::format("{}x{}x{}", m, n, k);
        op = "gemm";
        args_.m = m, args_.n = n, args_.k = k;
        args_.lda = k, args_.ldb = n, args_.ldc = n;
        flop = kernels::gemm_cost(args_, kF32).flop;
        a_.fill_uniform(1, -1, 1);
        b_.fill_uniform(2, -1, 1);
        rows_ = units_within(budget, 2.0 * n * k, m);
        tolerance_ = 1e-4;
    }
    void run(std::string_view variant) override {
        kernels::gemm_table().get(variant, kCpu, kF32)(args_, a_.data(), b_.data(), c_.data());
    }

protected:
    double compute_reference() override {
        kernels::GemmArgs g = args_;
        g.m = rows_;  // the first rows of C need only the first rows of A
        ref_ = std::make_unique<Floats>(rows_ * args_.n);
        kernels::gemm_table().get("reference", kCpu, kF32)(g, a_.data(), b_.data(), ref_->data());
        return double(rows_) / double(args_.m);
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        c_.fill_nan();
        run(variant);
        return {max_rel_error(c_.data(), ref_->data(), rows_ * args_.n), c_.all_finite()};
    }
    std::string compared_part() const override {
        return rows_ == args_.m ? "" : fmt::format("rows 0..{} of {}", rows_ - 1, args_.m);
    }

private:
    kernels::GemmArgs args_;
    Floats a_, b_, c_;
    int64_t rows_;
    std::unique_ptr<Floats> ref_;
};

// ---- conv2d: the three faces of one bilinear map (kernels/conv.h) -----------------------------
enum class ConvFace { Forward, BackwardInput, BackwardWeight };

// The registry op of a face: conv2d's, or (masked) PixelCNN's masked_conv2d's.
const char* face_op(ConvFace f, bool masked = false) {
    switch (f) {
        case ConvFace::Forward: return masked ? "masked_conv2d_forward" : "conv2d_forward";
        case ConvFace::BackwardInput: return masked ? "masked_conv2d_backward_input" : "conv2d_backward_input";
        case ConvFace::BackwardWeight: return masked ? "masked_conv2d_backward_weight" : "conv2d_backward_weight";
    }
    return "";
}

Conv2dShape conv_shape(int64_t n, int64_t c_in, int64_t h, int64_t c_out, int64_t k, int64_t stride, int64_t pad) {
    Conv2dShape s;
    s.n = n, s.c_in = c_in, s.h = h, s.w = h, s.c_out = c_out, s.kh = k, s.kw = k;
    s.stride_h = s.stride_w = stride;
    s.pad_h = s.pad_w = pad;
    s.oh = (h + 2 * pad - k) / stride + 1;
    s.ow = s.oh;
    return s;
}

class ConvCase : public KernelCase {
public:
    // label: the workload's shape text; face: which kernel; budget: reference flops in a check;
    // mask_type 'A' or 'B': masked_conv2d's kernels (s square, stride 1, padding k/2), whose
    // flops count the kept taps only.
    ConvCase(std::string group, std::string label, ConvFace face, const Conv2dShape& s, double budget,
             char mask_type = 0)
        : face_(face), mask_(mask_type), s_(s),
          x_(s.n * s.c_in * s.h * s.w),
          w_(s.c_out * (s.c_in / s.groups) * s.kh * s.kw),
          gy_(s.n * s.c_out * s.oh * s.ow),
          out_(face == ConvFace::Forward ? gy_.size() : face == ConvFace::BackwardInput ? x_.size() : w_.size()) {
        MG_CHECK(s.groups == 1, "bench: conv cases assume groups == 1, got {}", s.groups);
        name = std::move(group);
        shape = std::move(label);
        op = face_op(face, mask_ != 0);
        const double taps = mask_ ? double(kernels::masked_conv_taps(s.kh, mask_)) : double(s.kh * s.kw);
        flop = kernels::conv2d_cost(s, kF32).flop * taps / double(s.kh * s.kw);  // the profiler's count
        x_.fill_uniform(3, -1, 1);
        w_.fill_uniform(4, -0.1f, 0.1f);
        gy_.fill_uniform(5, -1, 1);
        // forward / backward_input: the first images; backward_weight: the first output channels
        units_ = face == ConvFace::BackwardWeight ? s.c_out : s.n;
        checked_ = units_within(budget, flop / double(units_), units_);
        tolerance_ = 1e-4;
    }
    void run(std::string_view v) override { run_on(v, s_, x_.data(), gy_.data(), out_.data()); }

protected:
    double compute_reference() override {
        Conv2dShape s = s_;
        const float* gy = gy_.data();
        if (face_ == ConvFace::BackwardWeight) {
            // gw[co] needs only gy[:, co]: gather the first channels of every image
            s.c_out = checked_;
            const int64_t plane = s_.oh * s_.ow;
            gy_part_ = std::make_unique<Floats>(s.n * checked_ * plane);
            for (int64_t i = 0; i < s.n; ++i)
                std::memcpy(gy_part_->data() + i * checked_ * plane, gy_.data() + i * s_.c_out * plane,
                            size_t(checked_ * plane) * sizeof(float));
            gy = gy_part_->data();
        } else {
            s.n = checked_;  // images are independent; the first ones are contiguous
        }
        ref_ = std::make_unique<Floats>(out_.size() / units_ * checked_);
        run_on("reference", s, x_.data(), gy, ref_->data());
        gy_part_.reset();
        return double(checked_) / double(units_);
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        out_.fill_nan();
        run(variant);
        return {max_rel_error(out_.data(), ref_->data(), ref_->size()), out_.all_finite()};
    }
    std::string compared_part() const override {
        if (checked_ == units_) return "";
        return fmt::format("{} 0..{} of {}", face_ == ConvFace::BackwardWeight ? "output channels" : "images",
                           checked_ - 1, units_);
    }

private:
    void run_on(std::string_view v, const Conv2dShape& s, const float* x, const float* gy, float* out) {
        if (mask_) {
            const kernels::MaskedConv2dShape m{s.n, s.c_in, s.h, s.w, s.c_out, s.kh, mask_};
            switch (face_) {
                case ConvFace::Forward:
                    kernels::masked_conv2d_forward_table().get(v, kCpu, kF32)(m, x, w_.data(), out);
                    break;
                case ConvFace::BackwardInput:
                    kernels::masked_conv2d_backward_input_table().get(v, kCpu, kF32)(m, gy, w_.data(), out);
                    break;
                case ConvFace::BackwardWeight:
                    kernels::masked_conv2d_backward_weight_table().get(v, kCpu, kF32)(m, x, gy, out);
                    break;
            }
            return;
        }
        switch (face_) {
            case ConvFace::Forward: kernels::conv2d_forward_table().get(v, kCpu, kF32)(s, x, w_.data(), out); break;
            case ConvFace::BackwardInput:
                kernels::conv2d_backward_input_table().get(v, kCpu, kF32)(s, gy, w_.data(), out);
                break;
            case ConvFace::BackwardWeight:
                kernels::conv2d_backward_weight_table().get(v, kCpu, kF32)(s, x, gy, out);
                break;
        }
    }

    ConvFace face_;
    char mask_;
    Conv2dShape s_;
    Floats x_, w_, gy_, out_;
    int64_t units_, checked_;
    std::unique_ptr<Floats> ref_, gy_part_;
};

// ---- elementwise and reductions over dense vectors ----------------------------------------------
// Elementwise outputs are compared element by element, relative to max(|ref|, 0.01): an
// approximation that is good only near the largest values (a SIMD exp or tanh) still fails.
double elementwise_rel_error(const float* y, const float* ref, int64_t n) {
    double err = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (std::isfinite(ref[i]) != std::isfinite(y[i]) || std::isnan(y[i]))
            return std::numeric_limits<double>::infinity();
        if (!std::isfinite(ref[i])) {
            if (y[i] != ref[i]) return std::numeric_limits<double>::infinity();
            continue;
        }
        err = std::max(err, std::abs(double(y[i]) - double(ref[i])) / std::max(std::abs(double(ref[i])), 0.01));
    }
    return err;
}

// An elementwise op's table, input range and scalars, as the bench feeds it.
struct UnaryOp {
    const char* name;
    kernels::OpTable<kernels::UnaryFn>* table;
    float lo, hi;
    kernels::Scalars scalars;
};
struct BinaryOp {
    const char* name;
    kernels::OpTable<kernels::BinaryFn>* table;
    float a_lo, a_hi, b_lo, b_hi;
};
struct ReduceOp {
    const char* name;
    kernels::OpTable<kernels::ReduceFn>& (*table)();
};

// Every op of kernels/elementwise_ops.h's lists, on its sample range (inside its domain) and
// Scalars; the binary ones that write their input type (not the comparisons).
const std::vector<UnaryOp> kUnaryOps = [] {
    std::vector<UnaryOp> ops;
    kernels::for_each_unary_op([&](auto op, auto& table) {
        constexpr kernels::ew::OpInfo info = kernels::ew::op_info<decltype(op)>;
        ops.push_back({info.name, &table, float(info.lo), float(info.hi), {info.a, info.b}});
    });
    return ops;
}();
const std::vector<BinaryOp> kBinaryOps = [] {
    std::vector<BinaryOp> ops;
    kernels::for_each_binary_op([&](auto op, auto& table) {
        constexpr kernels::ew::OpInfo info = kernels::ew::op_info<decltype(op)>;
        if constexpr (std::is_same_v<decltype(op(1.0f, 1.0f)), float>)
            ops.push_back({info.name, &table, float(info.lo), float(info.hi), float(info.b_lo), float(info.b_hi)});
    });
    return ops;
}();
const ReduceOp kReduceOps[] = {
    {"sum", &kernels::sum_table}, {"max", &kernels::max_table}, {"min", &kernels::min_table}};

class UnaryCase : public KernelCase {
public:
    UnaryCase(const UnaryOp& u, int64_t n, std::string label) : u_(u), n_(n), x_(n), y_(n), ref_(n) {
        name = u.name;
        shape = std::move(label);
        op = u.name;
        bytes = 2.0 * 4.0 * double(n);
        traffic = Traffic::Copy;
        x_.fill_uniform(9, u.lo, u.hi);
        tolerance_ = 1e-5;  // a few ulp of float32
        samples = 10;
    }
    void run(std::string_view v) override {
        u_.table->get(v, kCpu, kF32)(kernels::dense_iter(n_), y_.data(), x_.data(), u_.scalars);
    }

protected:
    double compute_reference() override {
        u_.table->get("reference", kCpu, kF32)(kernels::dense_iter(n_), ref_.data(), x_.data(), u_.scalars);
        return 1.0;
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        y_.fill_nan();
        run(variant);
        return {elementwise_rel_error(y_.data(), ref_.data(), n_), y_.all_finite()};
    }
    std::string compared_part() const override { return ""; }

private:
    UnaryOp u_;
    int64_t n_;
    Floats x_, y_, ref_;
};

class BinaryCase : public KernelCase {
public:
    BinaryCase(const BinaryOp& b, int64_t n, std::string label) : b_(b), n_(n), a_(n), bb_(n), c_(n), ref_(n) {
        name = b.name;
        shape = std::move(label);
        op = b.name;
        bytes = 3.0 * 4.0 * double(n);
        traffic = Traffic::Triad;
        a_.fill_uniform(6, b.a_lo, b.a_hi);
        bb_.fill_uniform(7, b.b_lo, b.b_hi);
        tolerance_ = 1e-5;
        if (name != "add") samples = 10;
    }
    void run(std::string_view v) override {
        b_.table->get(v, kCpu, kF32)(kernels::dense_iter(n_), c_.data(), a_.data(), bb_.data());
    }

protected:
    double compute_reference() override {
        b_.table->get("reference", kCpu, kF32)(kernels::dense_iter(n_), ref_.data(), a_.data(), bb_.data());
        return 1.0;
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        c_.fill_nan();
        run(variant);
        return {elementwise_rel_error(c_.data(), ref_.data(), n_), c_.all_finite()};
    }
    std::string compared_part() const override { return ""; }

private:
    BinaryOp b_;
    int64_t n_;
    Floats a_, bb_, c_, ref_;
};

// A reduction of a dense vector to one number.
kernels::ReduceArgs full_reduction(int64_t n) {
    kernels::ReduceArgs r;
    r.out_ndim = 0;
    r.out_numel = 1;
    r.red_ndim = 1;
    r.red_numel = n;
    r.red_sizes[0] = n;
    r.red_strides[0] = 1;
    return r;
}

class ReduceCase : public KernelCase {
public:
    ReduceCase(const ReduceOp& r, int64_t n, std::string label) : r_(r), n_(n), x_(n), out_(1), ref_(1) {
        name = r.name;
        shape = std::move(label);
        op = r.name;
        bytes = 4.0 * double(n);
        traffic = Traffic::Read;
        x_.fill_uniform(8, 0, 1);  // positive: the sum is well conditioned, so the error is the kernel's
        tolerance_ = 1e-5;
        if (name != "sum") samples = 10;
    }
    void run(std::string_view v) override { r_.table().get(v, kCpu, kF32)(full_reduction(n_), out_.data(), x_.data()); }

protected:
    double compute_reference() override {
        r_.table().get("reference", kCpu, kF32)(full_reduction(n_), ref_.data(), x_.data());
        return 1.0;
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        out_.fill_nan();
        run(variant);
        return {max_rel_error(out_.data(), ref_.data(), 1), out_.all_finite()};
    }
    std::string compared_part() const override { return ""; }

private:
    ReduceOp r_;
    int64_t n_;
    Floats x_, out_, ref_;
};

// ---- softmax cross-entropy and batch norm (kernels/softmax.h, kernels/batch_norm.h) ----------
// Forward: loss and logsumexp per row; backward: the logits' gradient (reduction mean).
// Bytes: the logits read (forward), read + gradient written (backward).
class XentCase : public KernelCase {
public:
    XentCase(const kernels::SoftmaxShape& s, std::string label, bool backward)
        : s_(s), backward_(backward), x_(s.outer * s.classes * s.inner), loss_(s.rows()), lse_(s.rows()),
          gx_(x_.size()), target_(size_t(s.rows())) {
        name = "softmax_xent";
        shape = std::move(label);
        op = backward ? "cross_entropy_backward" : "cross_entropy_forward";
        bytes = (backward ? 2.0 : 1.0) * 4.0 * double(x_.size());
        traffic = backward ? Traffic::Copy : Traffic::Read;
        x_.fill_uniform(10, -4, 4);
        for (size_t r = 0; r < target_.size(); ++r) target_[r] = int64_t((r * 7919) % size_t(s.classes));
        // the backward's lse comes from the reference forward, so only the backward differs
        kernels::cross_entropy_forward_table().get("reference", kCpu, kF32)(s_, x_.data(), target_.data(),
                                                                            loss_.data(), lse_.data());
        tolerance_ = 1e-5;
    }
    void run(std::string_view v) override { run_into(v, backward_ ? gx_.data() : loss_.data(), lse_.data()); }

protected:
    double compute_reference() override {
        ref_ = std::make_unique<Floats>(backward_ ? gx_.size() : loss_.size());
        ref_lse_ = std::make_unique<Floats>(lse_.size());
        run_into("reference", ref_->data(), ref_lse_->data());
        return 1.0;
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        Floats& out = backward_ ? gx_ : loss_;
        out.fill_nan();
        run(variant);
        double err = max_rel_error(out.data(), ref_->data(), out.size());
        if (!backward_) err = std::max(err, max_rel_error(lse_.data(), ref_lse_->data(), lse_.size()));
        return {err, out.all_finite()};
    }
    std::string compared_part() const override { return ""; }

private:
    void run_into(std::string_view v, float* out, float* lse) {
        if (backward_) {
            const float g = 1.0f;
            kernels::cross_entropy_backward_table().get(v, kCpu, kF32)(s_, x_.data(), target_.data(), lse_.data(), &g,
                                                                       0, 1.0 / double(s_.rows()), out);
        } else {
            kernels::cross_entropy_forward_table().get(v, kCpu, kF32)(s_, x_.data(), target_.data(), out, lse);
        }
    }
    kernels::SoftmaxShape s_;
    bool backward_;
    Floats x_, loss_, lse_, gx_;
    std::vector<int64_t> target_;
    std::unique_ptr<Floats> ref_, ref_lse_;
};

// Training-mode forward (statistics, y, running update) and backward (grad_x, weight, bias).
// Bytes: x read twice and y written (forward); x and g read twice, grad_x written (backward).
// A case whose whole output (out_, filled by run_into) is compared with the reference's.
class WholeOutputCase : public KernelCase {
public:
    explicit WholeOutputCase(int64_t outputs) : out_(outputs) {}
    void run(std::string_view v) override { run_into(v, out_.data()); }

protected:
    virtual void run_into(std::string_view variant, float* out) = 0;
    double compute_reference() override {
        ref_ = std::make_unique<Floats>(out_.size());
        run_into("reference", ref_->data());
        return 1.0;
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        out_.fill_nan();
        run(variant);
        return {max_rel_error(out_.data(), ref_->data(), out_.size()), out_.all_finite()};
    }
    std::string compared_part() const override { return ""; }
    Floats out_;

private:
    std::unique_ptr<Floats> ref_;
};

// ---- causal attention (kernels/attention.h) ---------------------------------------------------
// "forward": out and lse; "forward+backward": the forward, then grad_q, grad_k, grad_v from it
// (what one training step runs). Compared: out, then the three gradients, as one output.
class AttentionCase : public WholeOutputCase {
public:
    AttentionCase(const kernels::AttentionShape& s, std::string label, bool backward)
        : WholeOutputCase((backward ? 4 : 1) * s.rows() * s.head_dim), s_(s), backward_(backward),
          q_(s.rows() * s.head_dim), k_(q_.size()), v_(q_.size()), go_(q_.size()), lse_(s.rows()) {
        describe("attention", std::move(label), backward ? "attention_backward" : "attention_forward");
        const kernels::Cost fwd = kernels::KernelCost<kernels::AttentionForwardFn>::of(
            kF32, s, nullptr, nullptr, nullptr, nullptr, nullptr);
        flop = fwd.flop;
        if (backward)
            flop += kernels::KernelCost<kernels::AttentionBackwardFn>::of(kF32, s, nullptr, nullptr, nullptr, nullptr,
                                                                         nullptr, nullptr, nullptr, nullptr, nullptr)
                        .flop;
        tolerance_ = 1e-4;
        q_.fill_uniform(21, -2, 2);
        k_.fill_uniform(22, -2, 2);
        v_.fill_uniform(23, -1, 1);
        go_.fill_uniform(24, -1, 1);
    }

private:
    void run_into(std::string_view v, float* out) override {
        kernels::attention_forward_table().get(v, kCpu, kF32)(s_, q_.data(), k_.data(), v_.data(), out, lse_.data());
        if (!backward_) return;
        const int64_t n = q_.size();
        kernels::attention_backward_table().get(v, kCpu, kF32)(s_, q_.data(), k_.data(), v_.data(), out, lse_.data(),
                                                               go_.data(), out + n, out + 2 * n, out + 3 * n);
    }
    kernels::AttentionShape s_;
    bool backward_;
    Floats q_, k_, v_, go_, lse_;
};

// With an activation (act not None): the batch_norm_act kernels, whose backward also reads the
// forward's output (two passes more).
class BatchNormCase : public WholeOutputCase {
public:
    BatchNormCase(const kernels::BatchNormShape& s, std::string label, bool backward,
                  kernels::BatchNormActivation act = {})
        : WholeOutputCase(s.n * s.c * s.hw), s_(s), backward_(backward), act_(act), x_(s.n * s.c * s.hw),
          g_(x_.size()), y_(x_.size()), w_(s.c), b_(s.c), rm_(s.c), rv_(s.c), mean_(s.c), invstd_(s.c), gw_(s.c),
          gb_(s.c) {
        const bool with_act = act.kind != kernels::BatchNormActivation::None;
        name = "batch_norm";
        shape = std::move(label);
        op = std::string(with_act ? "batch_norm_act" : "batch_norm") + (backward ? "_backward" : "_forward");
        bytes = (backward ? (with_act ? 7.0 : 5.0) : 3.0) * 4.0 * double(x_.size());
        traffic = Traffic::Copy;
        x_.fill_uniform(11, -2, 3);
        g_.fill_uniform(12, -1, 1);
        w_.fill_uniform(13, 0.5f, 1.5f);
        b_.fill_uniform(14, -0.5f, 0.5f);
        rm_.fill_uniform(15, 0, 0);
        rv_.fill_uniform(16, 1, 1);
        // the backward's saved statistics and output
        kernels::batch_norm_act_forward_table().get("reference", kCpu, kF32)({forward_args(y_.data()), act_});
        tolerance_ = 1e-5;
    }

private:
    kernels::BatchNormForwardArgs forward_args(float* y) {
        kernels::BatchNormForwardArgs a;
        a.shape = s_;
        a.x = x_.data();
        a.weight = w_.data();
        a.bias = b_.data();
        a.running_mean = rm_.data();
        a.running_var = rv_.data();
        a.y = y;
        a.save_mean = mean_.data();
        a.save_invstd = invstd_.data();
        return a;
    }
    void run_into(std::string_view v, float* out) override {
        const bool with_act = act_.kind != kernels::BatchNormActivation::None;
        if (!backward_) {
            if (with_act) kernels::batch_norm_act_forward_table().get(v, kCpu, kF32)({forward_args(out), act_});
            else kernels::batch_norm_forward_table().get(v, kCpu, kF32)(forward_args(out));
            return;
        }
        kernels::BatchNormBackwardArgs a;
        a.shape = s_;
        a.x = x_.data();
        a.grad_y = g_.data();
        a.save_mean = mean_.data();
        a.save_invstd = invstd_.data();
        a.weight = w_.data();
        a.grad_x = out;
        a.grad_weight = gw_.data();
        a.grad_bias = gb_.data();
        if (with_act) kernels::batch_norm_act_backward_table().get(v, kCpu, kF32)({a, y_.data(), act_});
        else kernels::batch_norm_backward_table().get(v, kCpu, kF32)(a);
    }
    kernels::BatchNormShape s_;
    bool backward_;
    kernels::BatchNormActivation act_;
    Floats x_, g_, y_, w_, b_, rm_, rv_, mean_, invstd_, gw_, gb_;
};

// bias + leaky_relu (kernels/bias_act.h): forward out = leaky(y + b); backward gy and gb, compared
// together. Bytes: y read and out written; out and g read, gy written.
class BiasActCase : public WholeOutputCase {
public:
    BiasActCase(const kernels::BiasActShape& s, std::string label, bool backward)
        : WholeOutputCase(s.outer * s.channels * s.inner + (backward ? s.channels : 0)), s_(s), backward_(backward),
          n_(s.outer * s.channels * s.inner), y_(n_), b_(s.channels), g_(n_), act_(n_) {
        name = "bias_act";
        shape = std::move(label);
        op = backward ? "bias_act_backward" : "bias_act_forward";
        bytes = (backward ? 3.0 : 2.0) * 4.0 * double(n_);
        traffic = Traffic::Copy;
        y_.fill_uniform(21, -1, 1);
        b_.fill_uniform(22, -0.5f, 0.5f);
        g_.fill_uniform(23, -1, 1);
        kernels::bias_act_forward_table().get("reference", kCpu, kF32)(s_, y_.data(), b_.data(), act_.data());
        tolerance_ = 1e-5;
    }

private:
    void run_into(std::string_view v, float* out) override {
        if (backward_)
            kernels::bias_act_backward_table().get(v, kCpu, kF32)(s_, act_.data(), g_.data(), out, out + n_);
        else
            kernels::bias_act_forward_table().get(v, kCpu, kF32)(s_, y_.data(), b_.data(), out);
    }
    kernels::BiasActShape s_;
    bool backward_;
    int64_t n_;
    Floats y_, b_, g_, act_;
};

// The fused LSTM cell (kernels/lstm.h). Forward: gates and c_prev read, [2, n, H] written;
// backward: gates, c_prev and grad_out read, grad_gates and grad_c_prev written (out_ holds both).
class LstmCellCase : public WholeOutputCase {
public:
    LstmCellCase(const kernels::LstmCellShape& s, std::string label, bool backward)
        : WholeOutputCase(backward ? 5 * s.n * s.hidden : 2 * s.n * s.hidden), s_(s), backward_(backward),
          gates_(4 * s.n * s.hidden), c_(s.n * s.hidden), g_(2 * s.n * s.hidden) {
        describe("lstm_cell", std::move(label), backward ? "lstm_cell_backward" : "lstm_cell_forward");
        bytes = 4.0 * double(s.n * s.hidden) * (backward ? 12.0 : 7.0);
        traffic = Traffic::Copy;
        gates_.fill_uniform(31, -4, 4);
        c_.fill_uniform(32, -2, 2);
        g_.fill_uniform(33, -1, 1);
        tolerance_ = 1e-5;
    }

private:
    void run_into(std::string_view v, float* out) override {
        if (backward_)
            kernels::lstm_cell_backward_table().get(v, kCpu, kF32)(s_, gates_.data(), c_.data(), g_.data(), out,
                                                                   out + 4 * s_.n * s_.hidden);
        else
            kernels::lstm_cell_forward_table().get(v, kCpu, kF32)(s_, gates_.data(), c_.data(), out);
    }
    kernels::LstmCellShape s_;
    bool backward_;
    Floats gates_, c_, g_;
};

// max_pool2d forward (values and argmax). Bytes: x read, y and the int64 argmax written.
class MaxPoolCase : public KernelCase {
public:
    MaxPoolCase(const kernels::Pool2dShape& s, std::string label)
        : s_(s), x_(s.n * s.c * s.h * s.w), y_(s.n * s.c * s.oh * s.ow), arg_(size_t(y_.size())) {
        name = "max_pool2d";
        shape = std::move(label);
        op = "max_pool2d_forward";
        bytes = 4.0 * double(x_.size()) + 12.0 * double(y_.size());
        traffic = Traffic::Copy;
        x_.fill_uniform(21, -1, 1);
        tolerance_ = 0;
    }
    void run(std::string_view v) override {
        kernels::max_pool2d_forward_table().get(v, kCpu, kF32)(s_, x_.data(), y_.data(), arg_.data());
    }

protected:
    double compute_reference() override {
        ref_ = std::make_unique<Floats>(y_.size());
        ref_arg_.assign(arg_.size(), 0);
        kernels::max_pool2d_forward_table().get("reference", kCpu, kF32)(s_, x_.data(), ref_->data(),
                                                                         ref_arg_.data());
        return 1.0;
    }
    std::pair<double, bool> run_and_compare(std::string_view variant) override {
        y_.fill_nan();
        std::fill(arg_.begin(), arg_.end(), int64_t(-7));
        run(variant);
        double err = max_rel_error(y_.data(), ref_->data(), y_.size());
        if (arg_ != ref_arg_) err = std::max(err, 1.0);  // a different winner is an error
        return {err, y_.all_finite()};
    }
    std::string compared_part() const override { return ""; }  // all of y, and argmax exactly

private:
    kernels::Pool2dShape s_;
    Floats x_, y_;
    std::vector<int64_t> arg_, ref_arg_;
    std::unique_ptr<Floats> ref_;
};

// max_pool2d backward: gy scattered to the argmax of a forward on random x. Bytes: gy and the
// int64 argmax read, gx written.
class MaxPoolBackwardCase : public WholeOutputCase {
public:
    MaxPoolBackwardCase(const kernels::Pool2dShape& s, std::string label)
        : WholeOutputCase(s.n * s.c * s.h * s.w), s_(s), gy_(s.n * s.c * s.oh * s.ow), arg_(size_t(gy_.size())) {
        describe("max_pool2d", std::move(label), "max_pool2d_backward");
        bytes = 12.0 * double(gy_.size()) + 4.0 * double(s.n * s.c * s.h * s.w);
        traffic = Traffic::Copy;
        Floats x(s.n * s.c * s.h * s.w), y(gy_.size());
        x.fill_uniform(24, -1, 1);
        gy_.fill_uniform(25, -1, 1);
        kernels::max_pool2d_forward_table().get("reference", kCpu, kF32)(s_, x.data(), y.data(), arg_.data());
        tolerance_ = 0;
    }

private:
    void run_into(std::string_view v, float* out) override {
        kernels::max_pool2d_backward_table().get(v, kCpu, kF32)(s_, gy_.data(), arg_.data(), out);
    }
    kernels::Pool2dShape s_;
    Floats gy_;
    std::vector<int64_t> arg_;
};

kernels::Pool2dShape pool_shape(int64_t n, int64_t c, int64_t hw, int64_t k) {
    kernels::Pool2dShape s;
    s.n = n, s.c = c, s.h = s.w = hw, s.kh = s.kw = k, s.stride_h = s.stride_w = k;
    s.oh = s.ow = hw / k;
    return s;
}

template <class Case, class... Args>
CaseSpec spec(std::string name, std::string shape, std::string op, Args... args) {
    return {std::move(name), std::move(shape), std::move(op),
            [=] { return std::unique_ptr<KernelCase>(new Case(args...)); }};
}

// The three conv2d faces at one shape; label_base like "64x64x14x14->128 k4s2p1".
void add_conv_faces(std::vector<CaseSpec>& out, const std::string& group, const std::string& label_base,
                    const Conv2dShape& s, double budget, char mask_type = 0) {
    const std::pair<ConvFace, const char*> faces[] = {{ConvFace::Forward, "forward"},
                                                      {ConvFace::BackwardInput, "backward_input"},
                                                      {ConvFace::BackwardWeight, "backward_weight"}};
    for (auto [face, label] : faces) {
        std::string shape = label_base + " " + label;
        out.push_back(spec<ConvCase>(group, shape, face_op(face, mask_type != 0), group, shape, face, s, budget,
                                     mask_type));
    }
}

// add and sum first (the workloads.md pair), then every other elementwise op and reduction.
// label(n, op): the shape text of op at n elements.
template <class Label>
void add_vector_cases(std::vector<CaseSpec>& out, std::initializer_list<int64_t> sizes, Label label) {
    auto binary = [&](const BinaryOp& b, int64_t n) {
        out.push_back(spec<BinaryCase>(b.name, label(n, b.name), b.name, b, n, label(n, b.name)));
    };
    auto reduce = [&](const ReduceOp& r, int64_t n) {
        out.push_back(spec<ReduceCase>(r.name, label(n, r.name), r.name, r, n, label(n, r.name)));
    };
    for (int64_t n : sizes) {
        binary(kBinaryOps[0], n);  // add
        reduce(kReduceOps[0], n);  // sum
    }
    for (int64_t n : sizes) {
        for (const UnaryOp& u : kUnaryOps)
            out.push_back(spec<UnaryCase>(u.name, label(n, u.name), u.name, u, n, label(n, u.name)));
        for (const BinaryOp& b : kBinaryOps)
            if (&b != &kBinaryOps[0]) binary(b, n);
        for (const ReduceOp& r : kReduceOps)
            if (&r != &kReduceOps[0]) reduce(r, n);
    }
}

// Forward and backward of softmax cross-entropy and of batch norm at one shape each.
void add_xent(std::vector<CaseSpec>& out, const kernels::SoftmaxShape& s, const std::string& label) {
    for (bool bwd : {false, true}) {
        std::string shape = label + (bwd ? " backward" : " forward");
        out.push_back(spec<XentCase>("softmax_xent", shape, bwd ? "cross_entropy_backward" : "cross_entropy_forward",
                                     s, shape, bwd));
    }
}
void add_batch_norm(std::vector<CaseSpec>& out, const kernels::BatchNormShape& s, const std::string& label,
                    kernels::BatchNormActivation act = {}) {
    const std::string op = act.kind == kernels::BatchNormActivation::None ? "batch_norm" : "batch_norm_act";
    for (bool bwd : {false, true}) {
        std::string shape = label + (bwd ? " backward" : " forward");
        out.push_back(spec<BatchNormCase>("batch_norm", shape, op + (bwd ? "_backward" : "_forward"), s, shape, bwd,
                                          act));
    }
}

void add_lstm_cell(std::vector<CaseSpec>& out, const kernels::LstmCellShape& s, const std::string& label) {
    for (bool bwd : {false, true}) {
        std::string shape = label + (bwd ? " backward" : " forward");
        out.push_back(spec<LstmCellCase>("lstm_cell", shape, bwd ? "lstm_cell_backward" : "lstm_cell_forward", s,
                                         shape, bwd));
    }
}

void add_bias_act(std::vector<CaseSpec>& out, const kernels::BiasActShape& s, const std::string& label) {
    for (bool bwd : {false, true}) {
        std::string shape = label + (bwd ? " backward" : " forward");
        out.push_back(spec<BiasActCase>("bias_act", shape, bwd ? "bias_act_backward" : "bias_act_forward", s, shape,
                                        bwd));
    }
}

// Causal attention's forward and forward+backward at one [B, H, T, D] shape.
void add_attention(std::vector<CaseSpec>& out, const kernels::AttentionShape& s) {
    for (bool bwd : {false, true}) {
        std::string shape = fmt::format("{}x{}x{}x{} {}", s.batch, s.heads, s.seq, s.head_dim,
                                        bwd ? "forward+backward" : "forward");
        out.push_back(spec<AttentionCase>("attention", shape, bwd ? "attention_backward" : "attention_forward", s,
                                          shape, bwd));
    }
}

std::vector<CaseSpec> make_cases(bool tiny, double budget) {
    std::vector<CaseSpec> out;
    auto gemm = [&](int64_t m, int64_t n, int64_t k) {
        out.push_back(spec<GemmCase>("sgemm", fmt::format("{}x{}x{}", m, n, k), "gemm", m, n, k, budget));
    };
    if (tiny) {
        // Odd sizes cross every blocking edge; the last two are GEMV-like shapes.
        for (auto [m, n, k] : {std::tuple{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 1, 100}, {5, 70, 1}, {37, 100, 129}})
            gemm(m, n, k);
        add_conv_faces(out, "conv2d", "3x4x9x9->6 k4s2p1", conv_shape(3, 4, 9, 6, 4, 2, 1), 0);
        add_conv_faces(out, "masked_conv7x7", "2x3x8x8->5 k7p3", conv_shape(2, 3, 8, 5, 7, 1, 3), 0);
        add_conv_faces(out, "masked_conv2d", "2x3x8x8->5 k7 B", conv_shape(2, 3, 8, 5, 7, 1, 3), 0, 'B');
        add_conv_faces(out, "conv2d", "2x5x6x6->3 k1s1p0", conv_shape(2, 5, 6, 3, 1, 1, 0), 0);
        add_vector_cases(out, {1, 31, 1000, 70001}, [](int64_t n, std::string_view) { return fmt::format("{}", n); });
        add_xent(out, {3, 5, 1}, "3x5");
        add_xent(out, {2, 37, 21}, "2x37x21 (NCHW)");
        add_batch_norm(out, {3, 5, 21}, "3x5x21");
        add_batch_norm(out, {9, 19, 1}, "9x19");
        add_batch_norm(out, {3, 5, 21}, "3x5x21 leaky 0.2", {kernels::BatchNormActivation::LeakyRelu, 0.2});
        add_batch_norm(out, {9, 19, 1}, "9x19 relu", {kernels::BatchNormActivation::Relu});
        add_bias_act(out, {3, 5, 7, 0.2}, "3x5x7 slope 0.2");
        add_bias_act(out, {9, 19, 1, 0.0}, "9x19 relu");
        add_lstm_cell(out, {7, 37}, "7x37");
        out.push_back(spec<MaxPoolCase>("max_pool2d", "2x3x9x9 k2s2", "max_pool2d_forward", pool_shape(2, 3, 9, 2),
                                        std::string("2x3x9x9 k2s2")));
        out.push_back(spec<MaxPoolBackwardCase>("max_pool2d", "2x3x9x9 k2s2 backward", "max_pool2d_backward",
                                                pool_shape(2, 3, 9, 2), std::string("2x3x9x9 k2s2 backward")));
        add_attention(out, {1, 2, 67, 5, 0.4});
        return out;
    }
    // workloads.md, "Kernel shapes"
    for (int64_t s : {256, 512, 1024, 2048}) gemm(s, s, s);
    gemm(64, 6272, 100);   // dcgan G: Linear(100, 6272) at batch 64
    gemm(64, 1, 6272);     // dcgan D: Linear(6272, 1)
    gemm(128, 400, 784);   // vae encoder: Linear(784, 400) at batch 128
    add_conv_faces(out, "conv2d", "64x64x14x14->128 k4s2p1", conv_shape(64, 64, 14, 128, 4, 2, 1), budget);
    // dcgan D's first conv (its backward_input: G's last conv_transpose2d, 64->1).
    add_conv_faces(out, "conv2d", "64x1x28x28->64 k4s2p1", conv_shape(64, 1, 28, 64, 4, 2, 1), budget);
    // The classifier's two 3x3 convs at batch 128 (the second one on winograd's F(2x2, 3x3)).
    add_conv_faces(out, "conv2d", "128x1x28x28->32 k3s1p1", conv_shape(128, 1, 28, 32, 3, 1, 1), budget);
    add_conv_faces(out, "conv2d", "128x32x14x14->64 k3s1p1", conv_shape(128, 32, 14, 64, 3, 1, 1), budget);
    // progan's 3x3 convs at batch 16, by level.
    for (auto [c, h] : {std::pair<int64_t, int64_t>{64, 8}, {64, 16}, {32, 32}, {16, 64}})
        add_conv_faces(out, "conv2d", fmt::format("16x{}x{}x{}->{} k3s1p1", c, h, h, c),
                       conv_shape(16, c, h, c, 3, 1, 1), budget);
    // dcgan-rgb64's inner convs (D's; G's transposed convs are their backward_input).
    for (auto [c, h] : {std::pair{64, 32}, {128, 16}, {256, 8}})
        add_conv_faces(out, "conv2d", fmt::format("64x{}x{}x{}->{} k4s2p1", c, h, h, 2 * c),
                       conv_shape(64, c, h, 2 * c, 4, 2, 1), budget);
    // conv_transpose2d (N=64, 128->64, 7x7->14x14) is conv2d_backward_input at the conv2d
    // shape above; its backward is that shape's forward and backward_weight.
    {
        std::string shape = "64x128x7x7->64 k4s2p1 forward";
        out.push_back(spec<ConvCase>("conv_transpose2d", shape, "conv2d_backward_input",
                                     std::string("conv_transpose2d"), shape, ConvFace::BackwardInput,
                                     conv_shape(64, 64, 14, 128, 4, 2, 1), budget));
    }
    add_conv_faces(out, "masked_conv7x7", "64x64x28x28->64 k7p3", conv_shape(64, 64, 28, 64, 7, 1, 3), budget);
    // The same layer as PixelCNN runs it: the mask-aware kernels on the 25 kept taps of 49.
    add_conv_faces(out, "masked_conv2d", "64x64x28x28->64 k7 B", conv_shape(64, 64, 28, 64, 7, 1, 3), budget, 'B');
    // 16Mi float32, with torch_ref.py's labels for add and sum
    add_vector_cases(out, {16 * 1024 * 1024}, [](int64_t, std::string_view op) {
        return std::string(op == "add" ? "16Mi f32, out=" : "16Mi f32");
    });
    // pixelcnn's 256-way loss over 64*784 pixels (rows, and the NCHW logits it produces);
    // the classifier's 10-way loss at batch 128
    add_xent(out, {64 * 784, 256, 1}, "50176x256");
    add_xent(out, {64, 256, 784}, "64x256x28x28 (NCHW)");
    add_xent(out, {128, 10, 1}, "128x10");
    // pixelcnn's BatchNorm2d(64); dcgan's BatchNorm2d(128) at 7x7 and (64) at 14x14; a 1-D case
    add_batch_norm(out, {64, 64, 28 * 28}, "64x64x28x28");
    add_batch_norm(out, {64, 128, 7 * 7}, "64x128x7x7");
    add_batch_norm(out, {64, 64, 14 * 14}, "64x64x14x14");
    add_batch_norm(out, {512, 64, 1}, "512x64");
    // with the activation fused (batch_norm_act): dcgan D's BatchNorm2d(128) + LeakyReLU(0.2),
    // G's BatchNorm2d(128) and (64) + ReLU
    add_batch_norm(out, {64, 128, 7 * 7}, "64x128x7x7 leaky 0.2", {kernels::BatchNormActivation::LeakyRelu, 0.2});
    add_batch_norm(out, {64, 128, 7 * 7}, "64x128x7x7 relu", {kernels::BatchNormActivation::Relu});
    add_batch_norm(out, {64, 64, 14 * 14}, "64x64x14x14 relu", {kernels::BatchNormActivation::Relu});
    // Conv2d/Linear + ReLU/LeakyReLU as nn::Sequential fuses them: the classifier's first conv
    // (relu), dcgan D's first conv (leaky 0.2), gan2d's hidden Linear (relu)
    add_bias_act(out, {128, 32, 28 * 28, 0.0}, "128x32x28x28 relu");
    add_bias_act(out, {64, 64, 14 * 14, 0.2}, "64x64x14x14 leaky 0.2");
    add_bias_act(out, {256, 128, 1, 0.0}, "256x128 relu");
    // Row LSTM's cell: 16 rows of 28 pixels (N = 448), 64 hidden units
    add_lstm_cell(out, {16 * 28, 64}, "448x64");
    // the classifier's two MaxPool2 at batch 128
    for (auto [c, hw] : {std::pair<int64_t, int64_t>{32, 28}, {64, 14}}) {
        std::string label = fmt::format("128x{}x{}x{} k2s2", c, hw, hw);
        out.push_back(spec<MaxPoolCase>("max_pool2d", label, "max_pool2d_forward", pool_shape(128, c, hw, 2), label));
        out.push_back(spec<MaxPoolBackwardCase>("max_pool2d", label + " backward", "max_pool2d_backward",
                                                pool_shape(128, c, hw, 2), label + " backward"));
    }
    // ImageGPT-small's attention: batch 4, 4 heads of 32 (width 128), the 784 pixels of a 28x28 image
    add_attention(out, {4, 4, 784, 32, 1.0 / std::sqrt(32.0)});
    return out;
}

}  // namespace

// ---- KernelCase --------------------------------------------------------------------------------

double KernelCase::reference_seconds() {
    if (!have_reference_) {
        double t0 = now_seconds();
        double fraction = compute_reference();
        reference_seconds_ = (now_seconds() - t0) / fraction;
        have_reference_ = true;
    }
    return reference_seconds_;
}

CheckResult KernelCase::check(std::string_view variant) {
    CheckResult r;
    r.tolerance = tolerance_;
    if (variant == "reference") {
        r.note = "the reference itself";
        return r;
    }
    reference_seconds();  // the reference's part, once per case
    auto [err, finite] = run_and_compare(variant);
    r.max_rel_error = err;
    r.status = finite && err <= tolerance_ ? "pass" : "fail";
    r.note = compared_part();
    if (!finite) r.note += std::string(r.note.empty() ? "" : "; ") + "non-finite output";
    return r;
}

std::vector<CaseSpec> workload_kernel_cases(double check_flop_budget) { return make_cases(false, check_flop_budget); }
std::vector<CaseSpec> tiny_kernel_cases() { return make_cases(true, 0); }

}  // namespace mg::tools::bench
