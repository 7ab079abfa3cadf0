// Kernel cases of `minigen bench`: one registry op at one shape, owning its operands.
// The shapes are those of workloads.md: GEMM, the three conv2d faces, and 16Mi-element
// vectors for add, sum and every other elementwise op and reduction.
//
// A case runs any CPU float32 variant of its op on the full shape, and checks a variant
// against the "reference" variant on the same inputs. Where the reference would be slow
// (a 2048^3 GEMM, the 7x7 conv) it computes only part of the output (the first rows of C,
// the first images, the first output channels: each an exact slice of the full result)
// and the check compares that part; check_note says which. The variant under test always
// runs on the full shape, and every output element must be finite.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bench.h"

namespace mg::tools::bench {

struct CheckResult {
    std::string status = "skipped";  // "pass" | "fail" | "skipped"
    double max_rel_error = -1;       // over the compared part (see max_rel_error below)
    double tolerance = 0;
    std::string note;                // "rows 0..22 of 2048", "the reference itself"
};

class KernelCase {
public:
    virtual ~KernelCase() = default;
    std::string name;   // the workload group: "sgemm", "conv2d", "add"
    std::string shape;  // "1024x1024x1024"
    std::string op;     // the registry op: "gemm", "conv2d_forward"
    double flop = 0;    // per call (compute-bound ops)
    double bytes = 0;   // moved per call (memory-bound ops)
    Traffic traffic = Traffic::None;
    int samples = 30;  // default timed samples (fewer for the ops no workload leans on)
    // The reduced-precision cases (bench_lowp.cpp): their rate is against this peak instead of the FMA one.
    enum class Peak { Fma, Vnni, Bf16 } peak = Peak::Fma;

    // One call of `variant` on the full shape.
    virtual void run(std::string_view variant) = 0;
    // Runs `variant` and compares it with the reference ("skipped" for the reference itself).
    CheckResult check(std::string_view variant);
    // Seconds one reference call on the full shape would take, extrapolated from the
    // checked part (computes that part first if no check has yet).
    double reference_seconds();

protected:
    // Names the row: its group, shape label and registry op.
    void describe(std::string group, std::string label, std::string registry_op) {
        name = std::move(group);
        shape = std::move(label);
        op = std::move(registry_op);
    }
    // Computes the reference's checked part into the case's own buffer; returns the
    // fraction of the full work it did (1 = all of it).
    virtual double compute_reference() = 0;
    // Fills the variant's output with NaN (so an element it never writes fails), runs it,
    // and returns {max relative error over the compared part, all outputs finite}.
    virtual std::pair<double, bool> run_and_compare(std::string_view variant) = 0;
    virtual std::string compared_part() const = 0;  // "" when the whole output is compared
    double tolerance_ = 1e-4;

private:
    bool have_reference_ = false;
    double reference_seconds_ = 0;
};

// max |y - ref| / max |ref| over n elements (inf when any y is NaN or the scale is 0 and y != ref):
// the error measure of GEMM, conv and reductions. Elementwise ops are compared element by
// element instead, |y - ref| / max(|ref|, 0.01).
double max_rel_error(const float* y, const float* ref, int64_t n);

// The CPU float32 (or dtype) variants of an op, in registration order, and the active one.
std::vector<std::string> cpu_f32_variants(const std::string& op, DType dtype = DType::Float32);
std::string active_cpu_f32_variant(const std::string& op, DType dtype = DType::Float32);

// A case not yet built: filters look at the labels before any memory is allocated.
struct CaseSpec {
    std::string name, shape, op;
    std::function<std::unique_ptr<KernelCase>()> make;
    DType dtype = DType::Float32;  // the registry dtype whose CPU variants run (uint8: the int8 ops)
};

// The kernels at the shapes of workloads.md. check_flop_budget bounds the reference's
// work in a check (the rest is extrapolated); 0 = no bound.
std::vector<CaseSpec> workload_kernel_cases(double check_flop_budget);
// Every op of workload_kernel_cases at a tiny shape, whole outputs checked (for tests).
std::vector<CaseSpec> tiny_kernel_cases();
// The int8 and bf16 kernels at the dcgan generator's shapes (bench_lowp.cpp); tiny: small odd shapes.
std::vector<CaseSpec> lowp_kernel_cases(double check_flop_budget, bool tiny = false);

}  // namespace mg::tools::bench
