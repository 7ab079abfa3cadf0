// The pieces of `minigen bench`, the kernel lab (tools/cmd_bench.cpp drives them):
//
//   bench_peaks.cpp      the machine's measured FMA (and VNNI, BF16) peaks and memory bandwidth
//   bench_lowp.cpp       the int8 and bf16 kernels at the dcgan generator's shapes, against
//                        the VNNI and BF16 peaks
//   bench_kernels.cpp    each kernel op at the workload shapes: every CPU variant checked
//                        against "reference", then timed
//   bench_ops.cpp        the same workloads through the op layer (autograd included), as
//                        PyTorch runs them: conv fwd / fwd+bwd, softmax + cross-entropy,
//                        per-op overhead
//   bench_workloads.cpp  one training step of each registered model (on the CPU or the GPU)
//   bench_eval.cpp       --eval: a full evaluation of 10,000 samples, whole and per phase
//   bench_cuda.cpp       --device cuda: the GPU's peaks, every CUDA variant at the workload
//                        shapes, checked against the CPU op and timed
//   bench_timing.cpp     warm-up, calibrated samples, median/min/max
//
// Every measurement becomes one Result: a row of the table and one JSON line.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/base.h"

namespace mg::tools::bench {

// ---- timing ----------------------------------------------------------------------------
struct TimingOptions {
    int samples = 30;           // timed samples
    int warmup = 3;             // untimed calls first
    double max_warmup_s = 1.0;  // > 0: stop warming up after this long (slow calls)
    double min_sample_s = 0.0;  // a sample repeats the call until it lasts this long
    double max_total_s = 0.0;   // > 0: fewer samples (at least 3) for slow calls
    bool cpu_time = false;      // this process's CPU time, not the wall clock: on a loaded
                                // machine the waits for a core do not count (1 thread)
};

struct Timing {
    double median_ms = 0, min_ms = 0, max_ms = 0;  // per call
    int samples = 0;
    int64_t calls_per_sample = 1;
};

// Times fn as above: warm-up, then `samples` samples of `calls_per_sample` calls each.
Timing time_calls(const std::function<void()>& fn, const TimingOptions& opt);
inline double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- machine peaks ---------------------------------------------------------------------
struct Peaks {
    std::string isa;              // "avx512" | "avx2" | "scalar": the FMA loop used
    double fma_gflops_1 = 0;      // one core
    double fma_gflops_all = 0;    // `threads` cores
    int threads = 1;
    double vnni_gops_1 = 0, vnni_gops_all = 0;      // AVX-512 VNNI int8 ops/s (0: no VNNI)
    double bf16_gflops_1 = 0, bf16_gflops_all = 0;  // AVX512-BF16 flop/s (0: no BF16)
    double read_gbps = 0;         // streaming read (a sum), bytes read
    double copy_gbps = 0;         // b = a: bytes read + written (best of plain / non-temporal stores)
    double triad_gbps = 0;        // a = b + s*c: bytes read + written (best of plain / non-temporal stores)
    int64_t bandwidth_bytes = 0;  // size of each array in the bandwidth loops
};

Peaks measure_peaks(int threads, bool cpu_time = false);  // cpu_time: the 1-thread peaks by thread CPU time

// ---- results ---------------------------------------------------------------------------
// Which peak a memory-bound row is compared with: the same access pattern.
enum class Traffic { None, Read, Copy, Triad };

struct Result {
    std::string kind;     // "peak" | "kernel" | "ops" | "model"
    std::string name;     // "sgemm", "conv2d", "dcgan", "peak_fma" (as in workloads.md / torch_ref.py)
    std::string shape;    // "1024x1024x1024", "64x64x14x14->128 k4s2p1 fwd"
    std::string variant;  // kernel variant; "ops" for the op layer; "" for models
    std::string op;       // registry op ("gemm", "conv2d_forward"), "" if none
    bool is_default = false;  // the variant the op layer uses (PyTorch comparisons pick these)
    int threads = 0;

    bool timed = false;
    Timing timing;
    double flop = 0;     // per call; gflops = flop / median
    double bytes = 0;    // per call; gbps = bytes / median
    Traffic traffic = Traffic::None;
    double gflops = 0, gbps = 0;
    bool integer_ops = false;  // int8 kernels: the rate is GOP/s, not GFLOP/s
    double peak_fraction = -1;  // < 0: none

    std::string check = "skipped";  // "pass" | "fail" | "skipped"
    double max_rel_error = -1;      // < 0: not checked
    std::string check_note;         // what was compared
    std::string note;

    // models
    int64_t batch = 0;
    double slowdown = 0;  // busy rows: median step / the idle median step
    std::string unit;  // "images" | "samples"
    double items_per_s = 0;
};

// Fills gflops / gbps / peak_fraction from the timing and the peaks.
void finish_rates(Result& r, const Peaks& peaks);

// ---- the benchmark groups ----------------------------------------------------------------
struct RunOptions {
    int threads = 1;
    Device device = Device::CPU;  // where the workload group trains
    int repeat = 0;             // 0: the default sample / step count of each group
    double min_time_s = 0.002;  // shortest kernel sample
    bool cpu_time = false;      // TimingOptions::cpu_time for every row (1 thread)
    std::function<bool(const std::string& label)> selected;  // label: "name shape variant"
    std::function<void(Result)> emit;                        // called once per finished row
    std::function<void(const std::string&)> progress;        // what runs now (stderr)
};

void run_kernel_group(const RunOptions& opt, const Peaks& peaks);
void run_ops_group(const RunOptions& opt, const Peaks& peaks);
void run_workload_group(const RunOptions& opt);
// bench_eval.cpp: a full evaluation of 10,000 samples vs Fashion-MNIST's test set, whole and
// phase by phase (kind "eval" rows, one timed run each).
void run_eval_group(const RunOptions& opt);
// bench_allreduce.cpp: core/dist's all-reduce from 4 KiB to 64 MiB on the process's world
// (kind "collective" rows, emitted by rank 0 only; every rank must call it).
void run_allreduce_group(const RunOptions& opt, const Peaks& peaks);

// One training step of the model-table workload `name`, on random batches, ready to call
// repeatedly. Fills row's name, threads, shape, batch, unit and note; `step` is empty (and the
// note says why) when the model is not registered.
struct WorkloadSteps {
    std::function<void()> step;
    int steps = 0, warmup = 0;  // as torch_ref.py's MODEL_STEPS
};
WorkloadSteps prepare_workload(const std::string& name, const RunOptions& opt, Result& row);

// ---- a busy machine (bench_busy.cpp) -------------------------------------------------------
// A child process spinning on a core at `nice_increment` above this process's nice level,
// for as long as the object lives. It is killed by the destructor (also during an
// exception's unwinding), by the kernel when this process dies (PR_SET_PDEATHSIG), and by
// Ctrl-C like this process (it stays in this process group).
class SpinningProcess {
public:
    explicit SpinningProcess(int nice_increment);
    ~SpinningProcess();
    SpinningProcess(const SpinningProcess&) = delete;
    SpinningProcess& operator=(const SpinningProcess&) = delete;
    int pid() const { return pid_; }

private:
    int pid_ = -1;
};

// gan2d, vae and dcgan steps idle, then beside a SpinningProcess at nice 19 and at nice 0:
// kind "busy" rows, variant "idle" / "nice 19" / "nice 0", slowdown = step / idle step.
void run_busy_group(const RunOptions& opt);
// The GPU's measured FP32 FMA peak (fma_gflops_1 = fma_gflops_all) and device-to-device
// copy bandwidth (copy_gbps; read and triad repeat it).
Peaks measure_cuda_peaks();
void run_cuda_kernel_group(const RunOptions& opt, const Peaks& peaks);

// The ops whose variants no kernel case exercises (listed so nothing is missed silently).
std::vector<std::string> ops_without_cases();

}  // namespace mg::tools::bench
