// A new kernel variant: a hand-written ReLU for float32 on the CPU, added to the kernel
// registry beside the built-in variants of `relu` (kernels/cpu/elementwise.cpp), selected so
// that mg::relu runs it, checked bitwise against the `reference` variant, and timed against
// every variant. The same steps add a variant to any op (docs/kernels.md lists the tables).
//
//   build/examples/example_custom_kernel --size 16777216 --runs 9
//
// It exits 1 if the new variant disagrees with the reference anywhere.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

#include "core/minigen.h"
#include "examples/flags.h"
#include "kernels/elementwise.h"

using namespace mg;

namespace {

// y = max(x, 0), float32. Like every elementwise kernel it sees pointers and an Iter: the
// sizes and, per operand (0 = the output, 1 = the input), the strides in elements. The op
// layer has already merged the dims it could, so a dense tensor arrives as one flat run.
void hand_relu(const kernels::Iter& it, void* out, const void* in, kernels::Scalars /*unused*/) {
    float* y = static_cast<float*>(out);
    const float* x = static_cast<const float*>(in);
    if (it.contiguous) {
        // Threads above 32k elements (below, starting them costs more than the loop); the
        // select x > 0 ? x : 0 vectorises, and sends NaN and -0 to +0 as the reference does.
#pragma omp parallel for simd schedule(static) if (it.numel >= (1 << 15))
        for (int64_t i = 0; i < it.numel; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        return;
    }
    // Strided (a transposed view, say): an N-d index, the last dim fastest.
    int64_t index[kernels::kMaxDims] = {};
    for (int64_t e = 0; e < it.numel; ++e) {
        int64_t oy = 0, ox = 0;
        for (int d = 0; d < it.ndim; ++d) {
            oy += index[d] * it.strides[0][d];
            ox += index[d] * it.strides[1][d];
        }
        y[oy] = x[ox] > 0.0f ? x[ox] : 0.0f;
        for (int d = it.ndim - 1; d >= 0 && ++index[d] == it.sizes[d]; --d) index[d] = 0;
    }
}

// mg::relu(x) with `variant` selected, as a dense copy.
Tensor relu_with(std::string_view variant, const Tensor& x) {
    kernels::select("relu", variant);
    return relu(x).contiguous();
}

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel()) * 4) == 0;
}

// The median time in ms of `runs` calls of one variant's kernel on a dense n-element Iter.
double median_ms(kernels::UnaryFn* kernel, const Tensor& x, Tensor& y, int64_t runs) {
    kernels::Iter it;
    it.ndim = 1;
    it.numel = x.numel();
    it.contiguous = true;
    it.sizes[0] = it.numel;
    it.strides[0][0] = it.strides[1][0] = 1;
    kernel(it, y.raw_data(), x.raw_data(), {});  // warm-up: page faults, thread start
    std::vector<double> ms;
    for (int64_t r = 0; r < runs; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        kernel(it, y.raw_data(), x.raw_data(), {});
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
    return ms[size_t(runs / 2)];
}

int run_example(int argc, char** argv) {
    examples::Flags flags(argc, argv,
                          "usage: example_custom_kernel [--size N] [--runs R]\n"
                          "  --size  elements of the timed tensor (default 16777216)\n"
                          "  --runs  timed calls per variant; the median is printed (default 9)",
                          {"size", "runs"});
    if (flags.help()) return 0;
    const int64_t n = flags.get_int("size", int64_t(1) << 24, 1, int64_t(1) << 30);
    const int64_t runs = flags.get_int("runs", 9, 1, 1000);

    // 1. Register. init() registers the built-in variants first; add() then recomputes each
    //    slot's default, which the highest priority wins: 5 keeps "omp" (10) the default.
    kernels::init();
    kernels::relu_table().add("hand", Device::CPU, DType::Float32, &hand_relu, 5,
                              "examples/custom_kernel.cpp: one OpenMP simd loop");

    // 2. Select and check: mg::relu runs whichever variant is selected. Random values, plus the
    //    ones a ReLU can get wrong (signed zeros, infinities, NaN, subnormals); then a strided view.
    manual_seed(0);
    Tensor x = randn({n});
    const float specials[] = {-0.0f, 0.0f, std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                              std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min()};
    for (size_t i = 0; i < std::size(specials) && int64_t(i) < n; ++i) x.data<float>()[i] = specials[i];
    Tensor m = randn({301, 257}).t();  // [257, 301], not contiguous
    const bool dense_ok = same_bits(relu_with("hand", x), relu_with("reference", x));
    const bool strided_ok = same_bits(relu_with("hand", m), relu_with("reference", m));
    kernels::select_defaults();
    fmt::print("hand vs reference, bitwise: {} elements {}, a transposed {} view {}\n", n,
               dense_ok ? "equal" : "DIFFER", m.shape(), strided_ok ? "equal" : "DIFFER");

    // 3. Time every float32 CPU variant of relu on the same input (one read, one write per element).
    Tensor y = empty({n});
    for (const kernels::VariantInfo& v : kernels::relu_table().variants()) {
        if (v.device != Device::CPU || v.dtype != DType::Float32) continue;
        double ms = median_ms(kernels::relu_table().get(v.name, Device::CPU, DType::Float32), x, y, runs);
        fmt::print("  {:<10} {:9.3f} ms  {:7.2f} GB/s{}\n", v.name, ms, 2.0 * 4 * double(n) / (ms * 1e6),
                   v.active ? "  (the default)" : "");
    }
    return dense_ok && strided_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run("example_custom_kernel", [&] { return run_example(argc, argv); });
}
