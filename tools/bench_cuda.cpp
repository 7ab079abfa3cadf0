// The GPU half of `minigen bench --device cuda`: the device's measured peaks, and every
// CUDA variant of the workload kernels timed through the op layer.
//
// A row runs one op on CUDA tensors with one variant of its kernel selected (the way a
// user would pick it: kernels::select), checks the result against the same op on the CPU
// (the CPU's default kernels, themselves checked against "reference" by the tests), and
// times it: each sample queues enough calls to last about a millisecond, then waits for
// the GPU, so launch latency is amortised as it is in a training step. Ops that launch
// other tables' kernels (an im2col convolution launches the active GEMM) time them too.
#include <cmath>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "kernels/device.h"
#include "kernels/registry.h"
#include "tools/bench.h"

namespace mg::tools::bench {

namespace {

constexpr auto kCuda = Device::CUDA;

struct GpuCase {
    std::string name, shape, op;  // op: the kernel table whose variants the rows compare
    double flop = 0, bytes = 0;
    Traffic traffic = Traffic::None;
    double tolerance = 1e-4;  // max |gpu - cpu| / max |cpu|
    std::vector<Tensor> inputs;                           // on the CPU
    std::function<Tensor(const std::vector<Tensor>&)> f;  // the op, on either device
};

Tensor uniform(const Shape& s) { return rand(s, {}, -1.0, 1.0); }

std::vector<GpuCase> gpu_cases() {
    std::vector<GpuCase> out;
    auto gemm = [&](int64_t m, int64_t n, int64_t k) {
        out.push_back({"sgemm", fmt::format("{}x{}x{}", m, n, k), "gemm", 2.0 * m * n * k, 0, Traffic::None,
                       1e-4, {uniform({m, k}), uniform({k, n})},
                       [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }});
    };
    for (int64_t s : {256, 512, 1024, 2048, 4096}) gemm(s, s, s);
    gemm(64, 6272, 100);
    gemm(64, 1, 6272);
    gemm(128, 400, 784);

    // dcgan D's conv (64x64x14x14 -> 128, k4 s2 p1): the three faces. Labels as on the CPU.
    const Conv2dOptions s2{.stride = 2, .padding = 1};
    const double conv_flop = 2.0 * 64 * 128 * 7 * 7 * 64 * 16;
    const std::string conv_shape = "64x64x14x14->128 k4s2p1";
    out.push_back({"conv2d", conv_shape + " forward", "conv2d_forward", conv_flop, 0, Traffic::None, 1e-4,
                   {uniform({64, 64, 14, 14}), uniform({128, 64, 4, 4})},
                   [s2](const std::vector<Tensor>& x) { return conv2d(x[0], x[1], {}, s2); }});
    out.push_back({"conv2d", conv_shape + " backward_input", "conv2d_backward_input", conv_flop, 0, Traffic::None, 1e-4,
                   {uniform({64, 128, 7, 7}), uniform({128, 64, 4, 4})},
                   [s2](const std::vector<Tensor>& x) { return conv_transpose2d(x[0], x[1], {}, s2); }});
    out.push_back({"conv2d", conv_shape + " backward_weight", "conv2d_backward_weight", conv_flop, 0, Traffic::None, 1e-4,
                   {uniform({64, 64, 14, 14}), uniform({64, 128, 7, 7})}, [s2](const std::vector<Tensor>& x) {
                       return conv2d_backward_weight(x[0], x[1], Shape{128, 64, 4, 4}, s2);
                   }});
    // PixelCNN's 7x7 'B' masked conv at 64 channels, forward.
    out.push_back({"masked_conv2d", "64x64x28x28->64 k7 B forward", "masked_conv2d_forward",
                   2.0 * 64 * 64 * 28 * 28 * 64 * 25, 0, Traffic::None, 1e-4,
                   {uniform({64, 64, 28, 28}), uniform({64, 64, 7, 7})},
                   [](const std::vector<Tensor>& x) { return masked_conv2d(x[0], x[1], 'B'); }});

    // Memory-bound: 16Mi floats.
    const int64_t n = 16 * 1024 * 1024;
    out.push_back({"add", "16Mi f32, out=", "add", 0, 12.0 * n, Traffic::Copy, 1e-6, {uniform({n}), uniform({n})},
                   [](const std::vector<Tensor>& x) { return add(x[0], x[1]); }});
    out.push_back({"sum", "16Mi f32", "sum", 0, 4.0 * n, Traffic::Copy, 1e-5, {uniform({n})},
                   [](const std::vector<Tensor>& x) { return sum(x[0]); }});
    out.push_back({"relu", "16Mi f32", "relu", 0, 8.0 * n, Traffic::Copy, 0, {uniform({n})},
                   [](const std::vector<Tensor>& x) { return relu(x[0]); }});
    // pixelcnn's 256-way loss over NCHW logits; dcgan's batch norm; D's bias + leaky_relu.
    out.push_back({"cross_entropy", "64x256x28x28 (NCHW)", "cross_entropy_forward", 0, 4.0 * 64 * 256 * 784,
                   Traffic::Copy, 1e-5, {uniform({64, 256, 28, 28}), randint(0, 256, {64, 28, 28})},
                   [](const std::vector<Tensor>& x) { return cross_entropy(x[0], x[1]); }});
    out.push_back({"batch_norm", "64x128x7x7", "batch_norm_forward", 0, 8.0 * 64 * 128 * 49, Traffic::Copy, 1e-5,
                   {uniform({64, 128, 7, 7})},
                   [](const std::vector<Tensor>& x) { return batch_norm(x[0], {}, {}, {}, {}, true); }});
    out.push_back({"bias_act", "64x64x14x14 leaky 0.2", "bias_act_forward", 0, 8.0 * 64 * 64 * 196, Traffic::Copy,
                   1e-6, {uniform({64, 64, 14, 14}), uniform({64})},
                   [](const std::vector<Tensor>& x) { return bias_leaky_relu(x[0], x[1], 0.2); }});
    return out;
}

double max_rel_error(const Tensor& got, const Tensor& want) {
    const std::vector<double> g = got.to(Device::CPU).to(DType::Float64).to_vector<double>();
    const std::vector<double> w = want.to(DType::Float64).to_vector<double>();
    double err = 0, scale = 0;
    for (size_t i = 0; i < w.size(); ++i) {
        if (!std::isfinite(g[i])) return INFINITY;
        err = std::max(err, std::fabs(g[i] - w[i]));
        scale = std::max(scale, std::fabs(w[i]));
    }
    return scale > 0 ? err / scale : err;
}

// Median / min / max milliseconds per call; each sample queues calls for about 1 ms of GPU
// time (calibrated from one synchronised call), then synchronises.
Timing time_gpu(const std::function<void()>& call, const RunOptions& opt) {
    call();
    kernels::cuda::synchronize("bench");
    const double t0 = now_seconds();
    call();
    kernels::cuda::synchronize("bench");
    const double one = std::max(now_seconds() - t0, 1e-6);
    const int64_t reps = std::clamp<int64_t>(int64_t(std::max(opt.min_time_s, 1e-3) / one), 1, 10000);
    TimingOptions t;
    t.samples = opt.repeat > 0 ? opt.repeat : 20;
    t.warmup = 1;
    Timing r = time_calls(
        [&] {
            for (int64_t i = 0; i < reps; ++i) call();
            kernels::cuda::synchronize("bench");
        },
        t);
    r.median_ms /= double(reps), r.min_ms /= double(reps), r.max_ms /= double(reps);
    r.calls_per_sample = reps;
    return r;
}

}  // namespace

Peaks measure_cuda_peaks() {
    Peaks p;
    p.isa = "cuda fp32";
    p.threads = 1;
    p.fma_gflops_1 = p.fma_gflops_all = kernels::cuda::measure_fma_gflops();
    p.copy_gbps = p.read_gbps = p.triad_gbps = kernels::cuda::measure_copy_gbps();
    p.bandwidth_bytes = int64_t(256) << 20;
    return p;
}

void run_cuda_kernel_group(const RunOptions& opt, const Peaks& peaks) {
    kernels::init();
    for (GpuCase& c : gpu_cases()) {
        kernels::OpTableBase* table = kernels::find_table(c.op);
        if (table == nullptr) continue;
        std::vector<kernels::VariantInfo> variants;
        for (const auto& v : table->variants())
            if (v.device == kCuda && v.dtype == DType::Float32) variants.push_back(v);
        if (variants.empty()) continue;
        bool any = false;
        for (const auto& v : variants) any |= opt.selected(fmt::format("{} {} {}", c.name, c.shape, v.name));
        if (!any) continue;

        opt.progress(fmt::format("{} {}: the CPU result to check against", c.name, c.shape));
        Tensor want;
        {
            autograd::NoGradGuard no_grad;
            want = c.f(c.inputs);
        }
        std::vector<Tensor> on_gpu;
        for (const Tensor& t : c.inputs) on_gpu.push_back(t.to(kCuda));
        for (const auto& v : variants) {
            if (!opt.selected(fmt::format("{} {} {}", c.name, c.shape, v.name))) continue;
            opt.progress(fmt::format("{} {} {}", c.name, c.shape, v.name));
            Result r;
            r.kind = "kernel";
            r.name = c.name, r.shape = c.shape, r.variant = v.name, r.op = c.op;
            r.is_default = v.active;
            r.threads = 1;
            r.flop = c.flop, r.bytes = c.bytes, r.traffic = c.traffic;
            r.note = "cuda";
            try {
                table->select(v.name);
                autograd::NoGradGuard no_grad;
                Tensor got = c.f(on_gpu);
                // Reduced-precision variants (TF32, BF16) are checked against their own bound.
                const bool reduced = v.name.find("tf32") != std::string::npos || v.name.find("bf16") != std::string::npos;
                const double tol = reduced ? 2e-2 : c.tolerance;
                r.max_rel_error = max_rel_error(got, want);
                r.check = r.max_rel_error <= tol ? "pass" : "fail";
                r.check_note = fmt::format("vs the CPU op, tolerance {:.0e}", tol);
                r.timing = time_gpu([&] { (void)c.f(on_gpu); }, opt);
                r.timed = true;
                finish_rates(r, peaks);
            } catch (const std::exception& e) {
                r.check = "fail";
                r.note = fmt::format("cuda; error: {}", e.what());
            }
            table->select_default();
            opt.emit(std::move(r));
        }
    }
}

}  // namespace mg::tools::bench
