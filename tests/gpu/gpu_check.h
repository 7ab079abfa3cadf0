// Helpers of the CUDA kernel tests: device buffers, random inputs, the comparison
// against the CPU reference, and the list of CUDA variants of a table.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <doctest/doctest.h>

#include "kernels/device.h"
#include "kernels/registry.h"

namespace mg::kernels::gpu_test {

// ---- device memory ---------------------------------------------------------------------

class DeviceBuffer {
public:
    explicit DeviceBuffer(size_t bytes) : bytes_(bytes), ptr_(cuda::malloc_device(bytes, "gpu test buffer")) {}
    template <class T>
    explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size() * sizeof(T)) {
        cuda::copy_host_to_device(ptr_, host.data(), bytes_, "gpu test upload");
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() { cuda::free_device(ptr_); }

    template <class T = void>
    T* get(int64_t offset = 0) const {
        if constexpr (std::is_void_v<T>) return ptr_;
        else return static_cast<T*>(ptr_) + offset;
    }
    template <class T>
    std::vector<T> download() const {
        std::vector<T> host(bytes_ / sizeof(T));
        cuda::copy_device_to_host(host.data(), ptr_, bytes_, "gpu test download");
        return host;
    }

private:
    size_t bytes_;
    void* ptr_;
};

// ---- inputs --------------------------------------------------------------------------------

inline uint64_t next_seed() {
    static uint64_t seed = 20240601;
    return ++seed;
}

// n values in [lo, hi] (integers for integer types); `integral` rounds floats to integers
// so that comparisons and maximum/minimum meet ties.
template <class T>
std::vector<T> random_values(size_t n, double lo, double hi, bool integral = false) {
    std::mt19937_64 rng(next_seed());
    std::vector<T> v(n);
    if constexpr (std::is_integral_v<T>) {
        std::uniform_int_distribution<int64_t> dist{int64_t(lo), int64_t(hi)};
        for (T& x : v) x = T(dist(rng));
    } else {
        std::uniform_real_distribution<double> dist{lo, hi};
        for (T& x : v) x = T(integral ? std::round(dist(rng)) : dist(rng));
    }
    return v;
}

// Recognisable values for outputs, so that writes outside the expected elements show.
template <class T>
std::vector<T> sentinel(size_t n) {
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = T(100 + i % 7);
    return v;
}

template <class T>
std::vector<T> absolute(const std::vector<T>& v) {
    std::vector<T> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] < T(0) ? T(-v[i]) : v[i];
    return out;
}

// ---- comparison ---------------------------------------------------------------------------

// Relative tolerance of a variant: 1e-5 for float32, 1e-10 for float64, exact for
// integers. TF32 variants (name containing "tf32") round inputs to a 10-bit mantissa
// (relative 2^-11 per input, ~1e-3 per product), so they get 3e-3 relative to sum |a||b|.
// BF16 variants (name containing "bf16") keep 7 stored mantissa bits, 8 significant:
// relative rounding up to 2^-8 per input, so up to 2^-7 ~ 7.8e-3 per product (the product
// of two BF16 values is exact in the float32 accumulator, and float32 accumulation adds
// ~k * 2^-24, negligible here). Whatever the signs, the error is then within 7.8e-3 of
// sum |a||b|, and a single product (k = 1, nothing averages out) can come close to that
// bound; 1.6e-2 leaves a 2x margin for the float32 roundings of accumulator and alpha/beta.
template <class T>
double rtol_for(const std::string& variant) {
    if constexpr (std::is_integral_v<T>) return 0.0;
    if (variant.find("tf32") != std::string::npos) return 3e-3;
    if (variant.find("bf16") != std::string::npos) return 1.6e-2;
    return std::is_same_v<T, float> ? 1e-5 : 1e-10;
}

// |got - want| <= rtol * max(|want|, magnitude[i], floor); NaN matches NaN, an infinity
// matches the same infinity. `magnitude` (may be empty) is the size of the terms that
// produced element i (sum |a||b| for a product): cancellation makes |want| a poor scale.
template <class T>
void expect_close(const std::string& what, const std::vector<T>& got, const std::vector<T>& want, double rtol,
                  const std::vector<T>& magnitude = {}, double floor = 0.0) {
    REQUIRE_MESSAGE(got.size() == want.size(), what, ": size ", got.size(), " vs ", want.size());
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double g = double(got[i]), w = double(want[i]);
        bool ok;
        if (std::isnan(w) || std::isnan(g)) ok = std::isnan(w) && std::isnan(g);
        else if (std::isinf(w) || std::isinf(g)) ok = g == w;
        else {
            double scale = std::max(std::fabs(w), floor);
            if (!magnitude.empty()) scale = std::max(scale, std::fabs(double(magnitude[i])));
            const double err = std::fabs(g - w);
            ok = err <= rtol * scale;
            if (scale > 0) worst = std::max(worst, err / scale);
        }
        if (!ok && bad++ == 0) first = i;
    }
    CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", got.size(), " elements differ; first at ", first, ": got ",
                  bad ? double(got[first]) : 0.0, ", want ", bad ? double(want[first]) : 0.0, " (rtol ", rtol,
                  ", worst relative error ", worst, ")");
}

// One CUDA variant of a kernel with two inputs and one output of n elements, against its CPU
// reference: call(kernel, in1, in2, out) runs either. The reference runs on the inputs and on
// their sizes (in1_abs, in2_abs: the magnitude expect_close scales by; an index input is its
// own), the variant on device copies of the inputs into a sentinel-filled output.
template <class T, class Fn, class In1, class In2, class Call>
void check_two_input_variant(const std::string& what, double rtol, size_t n, Fn* fn, Fn* ref,
                             const std::vector<In1>& in1, const std::vector<In1>& in1_abs, const std::vector<In2>& in2,
                             const std::vector<In2>& in2_abs, Call&& call) {
    auto want = sentinel<T>(n), magnitude = want;
    DeviceBuffer d1(in1), d2(in2), dout(want);
    call(ref, in1.data(), in2.data(), want.data());
    call(ref, in1_abs.data(), in2_abs.data(), magnitude.data());
    call(fn, d1.get<In1>(), d2.get<In2>(), dout.get<T>());
    expect_close(what, dout.download<T>(), want, rtol, magnitude);
}

// ---- variants --------------------------------------------------------------------------------

// (op, variant, dtype) of every CUDA kernel a test ran: the coverage test compares
// this with the registry.
inline std::set<std::tuple<std::string, std::string, DType>>& checked_variants() {
    static std::set<std::tuple<std::string, std::string, DType>> checked;
    return checked;
}

inline std::vector<std::string> cuda_variants(const OpTableBase& table, DType t) {
    std::vector<std::string> names;
    for (const VariantInfo& v : table.variants())
        if (v.device == Device::CUDA && v.dtype == t) names.push_back(v.name);
    return names;
}

// The CPU kernel a CUDA variant is checked against: "reference", else the CPU default.
template <class Fn>
Fn* cpu_reference(OpTable<Fn>& table, DType t) {
    if (table.has("reference", Device::CPU, t)) return table.get("reference", Device::CPU, t);
    for (const VariantInfo& v : table.variants())
        if (v.device == Device::CPU && v.dtype == t && v.active) return table.get(v.name, Device::CPU, t);
    return nullptr;
}

// Calls check(variant_name, cuda_fn, cpu_reference) for every CUDA variant of `table` for
// dtype t; says so when the CPU has no kernel to check against.
template <class Fn, class Check>
void for_each_variant(OpTable<Fn>& table, DType t, Check&& check) {
    init();
    const auto names = cuda_variants(table, t);
    if (names.empty()) return;
    Fn* reference = cpu_reference(table, t);
    if (reference == nullptr) {
        MESSAGE(table.name(), " ", std::string(dtype_name(t)), ": no CPU kernel to check the CUDA variants against");
        return;
    }
    for (const std::string& name : names) {
        INFO(table.name(), "[", name, "] ", std::string(dtype_name(t)));
        checked_variants().insert({table.name(), name, t});
        try {  // one variant's error must not hide the others'
            check(name, table.get(name, Device::CUDA, t), reference);
        } catch (const std::exception& e) {
            FAIL_CHECK(table.name(), "[", name, "] ", std::string(dtype_name(t)), " threw: ", std::string(e.what()));
        }
    }
}

}  // namespace mg::kernels::gpu_test
