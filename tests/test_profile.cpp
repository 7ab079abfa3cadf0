// The step profiler (kernels/profile.h): a tiny model's steps, kernel by kernel; the cost
// models of gemm and conv2d against hand-computed counts; the report's accounting.
#include <chrono>

#include "helpers.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/profile.h"
#include "optim/adam.h"
#include "tools/profile_report.h"

using namespace mg;
namespace prof = mg::kernels::profile;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The row of `table` under `node` in `phase` (summed over dtypes: here all float32).
prof::KernelRow find_row(const prof::Summary& s, std::string_view table, std::string_view node, prof::Phase phase) {
    prof::KernelRow out;
    for (const prof::KernelRow& r : s.rows)
        if (r.table == table && r.node == node && r.phase == phase) {
            out.table = r.table;
            out.calls += r.calls;
            out.self_s += r.self_s;
            out.total_s += r.total_s;
            out.flop += r.flop;
            out.bytes += r.bytes;
            out.has_cost = r.has_cost;
        }
    return out;
}

// y = x·Wᵀ + b on x [4, 8] -> [4, 16]; z = conv2d(img [2, 3, 8, 8], cw [4, 3, 3, 3], padding 1);
// loss = sum(y) + sum(z); one Adam step.
struct TinyModel {
    Tensor w, b, cw, x, img;
    std::unique_ptr<optim::Adam> adam;
    TinyModel() {
        manual_seed(3);
        w = randn({16, 8}).requires_grad_();
        b = zeros({16}).requires_grad_();
        cw = randn({4, 3, 3, 3}).requires_grad_();
        x = randn({4, 8}).requires_grad_();  // a hidden layer's input: its gradient is wanted too
        img = randn({2, 3, 8, 8});
        adam = std::make_unique<optim::Adam>(std::vector<Tensor>{w, b, cw});
    }
    void step() {
        Conv2dOptions pad1;
        pad1.padding = 1;
        Tensor loss = sum(linear(x, w, b)) + sum(conv2d(img, cw, {}, pad1));
        adam->zero_grad();
        x.zero_grad();
        autograd::backward({loss});
        adam->step();
    }
};

constexpr double kGemmFlop = 2.0 * 4 * 16 * 8;               // 2mnk of [4, 8] x [8, 16]
constexpr double kConvFlop = 2.0 * 2 * 4 * 8 * 8 * 3 * 3 * 3;  // 2 * N * C_out * OH * OW * C_in * KH * KW

}  // namespace

TEST_CASE("profile: the cost models of gemm and conv2d count what a hand count gives") {
    kernels::GemmArgs g;
    g.m = 4, g.n = 16, g.k = 8, g.batch = 3;
    const kernels::Cost c = kernels::gemm_cost(g, DType::Float32);
    CHECK(c.flop == 3 * kGemmFlop);
    CHECK(c.bytes == 3 * 4.0 * (4 * 8 + 8 * 16 + 4 * 16));
    g.beta = 1.0;  // C read as well
    CHECK(kernels::gemm_cost(g, DType::Float64).bytes == 3 * 8.0 * (4 * 8 + 8 * 16 + 2 * 4 * 16));

    kernels::Conv2dShape s;
    s.n = 2, s.c_in = 3, s.h = s.w = 8, s.c_out = 4, s.kh = s.kw = 3, s.oh = s.ow = 8, s.pad_h = s.pad_w = 1;
    const kernels::Cost cc = kernels::conv2d_cost(s, DType::Float32);
    CHECK(cc.flop == kConvFlop);
    CHECK(cc.bytes == 4.0 * (2 * 3 * 64 + 4 * 3 * 9 + 2 * 4 * 64));
    s.groups = 3, s.c_out = 6;  // each output channel sees one input channel
    CHECK(kernels::conv2d_cost(s, DType::Float32).flop == 2.0 * 2 * 6 * 64 * 1 * 9);
}

TEST_CASE("profile: off, a table hands out its variant itself; on, a timing trampoline") {
    auto& gemm = kernels::gemm_table();
    auto handed_out_itself = [&] {
        return gemm.get(Device::CPU, DType::Float32) == gemm.active_variant(Device::CPU, DType::Float32);
    };
    CHECK(handed_out_itself());
    prof::Session session;
    CHECK(handed_out_itself());
    session.begin_step();
    CHECK(!handed_out_itself());
    session.end_step();
    CHECK(handed_out_itself());
}

TEST_CASE("profile: two steps of a tiny model, every kernel counted once and within the step time") {
    TinyModel model;
    model.step();  // warm-up: first-use allocations
    const auto t0 = std::chrono::steady_clock::now();
    prof::Summary s;
    {
        prof::Session session;
        for (int i = 0; i < 2; ++i) {
            session.begin_step();
            model.step();
            session.end_step();
        }
        s = session.summary();
    }
    const double outside = seconds_since(t0);
    REQUIRE(s.steps == 2);

    // The parts sum to the measured step time (to within the recorder's own bookkeeping),
    // and the kernels alone take less.
    double kernels_self = 0, parts = 0;
    for (const prof::KernelRow& r : s.rows) kernels_self += r.self_s;
    for (double t : s.region_self_s) parts += t;
    CHECK(kernels_self > 0);
    CHECK(kernels_self <= s.wall_s);
    CHECK(s.wall_s <= outside);
    CHECK(parts <= s.wall_s);
    CHECK(parts >= 0.95 * s.wall_s);
    CHECK(s.region_self_s[int(prof::Region::Kernel)] == doctest::Approx(kernels_self).epsilon(1e-9));

    // The Linear layer's GEMM: once forward, twice backward (dx and dW) per step.
    const prof::KernelRow fwd = find_row(s, "gemm", "matmul", prof::Phase::Forward);
    const prof::KernelRow bwd = find_row(s, "gemm", "matmul", prof::Phase::Backward);
    CHECK(fwd.calls == 2);
    CHECK(bwd.calls == 4);
    CHECK(fwd.flop == 2 * kGemmFlop);
    CHECK(bwd.flop == 4 * kGemmFlop);  // dx [4, 8] = g [4, 16] · W; dW [16, 8] = gᵀ [16, 4] · x: 2mnk each

    // conv2d: forward once, and only the weight's gradient backward (img needs none).
    const prof::KernelRow conv = find_row(s, "conv2d_forward", "conv2d", prof::Phase::Forward);
    CHECK(conv.calls == 2);
    CHECK(conv.flop == 2 * kConvFlop);
    CHECK(find_row(s, "conv2d_backward_weight", "conv2d", prof::Phase::Backward).calls == 2);
    CHECK(find_row(s, "conv2d_backward_input", "conv2d", prof::Phase::Backward).calls == 0);
    // A GEMM the conv kernel calls (im2col) is its own row; the conv's self time leaves it out.
    const prof::KernelRow nested = find_row(s, "gemm", "conv2d", prof::Phase::Forward);
    CHECK(conv.self_s <= conv.total_s);
    CHECK(conv.self_s + nested.total_s <= conv.total_s * (1 + 1e-9));

    // The optimizer's update is its own region's.
    CHECK(find_row(s, "adam_update_multi", "optimizer step", prof::Phase::Region).calls == 2);

    // The report: nothing counted twice, and the breakdown sums to the step.
    tools::bench::Peaks peaks;
    peaks.threads = 1, peaks.fma_gflops_1 = 100, peaks.copy_gbps = 10, peaks.isa = "test";
    const tools::ProfileReport report = tools::make_profile_report(s, peaks, 5);
    double report_parts = 0;
    for (const tools::ProfilePart& p : report.parts) report_parts += p.seconds;
    CHECK(report_parts == doctest::Approx(parts / 2).epsilon(1e-9));
    const nlohmann::json j = tools::profile_json(report);
    CHECK(j["kernels"].size() == report.kernels.size());
    CHECK(tools::profile_table(report).find("where the step went") != std::string::npos);
}
