// silu and mish against their definitions (PyTorch's: silu(x) = x / (1 + e^-x),
// mish(x) = x tanh(ln(1 + e^x))) evaluated here in long double, where e^1000 does not
// overflow: every CPU variant in float32 and float64, at small and large |x| (where a form
// that is not written stably overflows to NaN or loses the tail), and their gradients.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "helpers.h"
#include "kernels/elementwise.h"

using namespace mg;
using namespace mg::test;
namespace K = mg::kernels;

namespace {

long double silu_ref(long double x) { return x / (1 + std::exp(-x)); }
long double mish_ref(long double x) { return x * std::tanh(std::log1p(std::exp(x))); }
long double sigmoid_ref(long double x) { return 1 / (1 + std::exp(-x)); }
long double silu_grad_ref(long double x) { return sigmoid_ref(x) * (1 + x * (1 - sigmoid_ref(x))); }
long double mish_grad_ref(long double x) {
    long double t = std::tanh(std::log1p(std::exp(x)));
    return t + x * sigmoid_ref(x) * (1 - t * t);
}

// A grid over [-8, 8] and large |x|: exp's clamps (+-89, -104 in float), float's and
// double's overflow of e^x (88.7, 709.8), and beyond.
std::vector<double> inputs() {
    std::vector<double> x;
    for (int i = -80; i <= 80; ++i) x.push_back(i / 10.0 + 0.013);
    for (double big : {20.0, 30.0, 50.0, 87.0, 89.0, 100.0, 104.5, 300.0, 709.0, 710.0, 1000.0, 1e30}) {
        x.push_back(big);
        x.push_back(-big);
    }
    return x;
}

void check_values(const char* name, K::OpTable<K::UnaryFn>& table, long double (*ref)(long double)) {
    const std::vector<double> x = inputs();
    const int64_t n = int64_t(x.size());
    for (DType dt : {DType::Float32, DType::Float64})
        for (const std::string& v : cpu_variants(table, dt)) {
            CAPTURE(name);
            CAPTURE(v);
            CAPTURE(dt);
            Tensor in = from_vector(x, Shape{n}).to(dt);
            Tensor out = full(Shape{n}, NAN, {dt});
            table.get(v, Device::CPU, dt)(dense_iter(n), out.raw_data(), in.raw_data(), {});
            const std::vector<double> xs = in.to_vector<double>(), y = out.to_vector<double>();
            // A few ulp of the result; where e^x is subnormal (x < -87 in float32), its spacing
            // times |x|, as x * e^x rounds e^x to that spacing first.
            const bool f32 = dt == DType::Float32;
            const double rtol = f32 ? 2e-6 : 1e-14, tiny = f32 ? 1e-44 : 1e-320;
            for (size_t i = 0; i < xs.size(); ++i) {
                CAPTURE(xs[i]);
                const long double want = ref(xs[i]);
                const double w = f32 ? double(float(want)) : double(want);
                REQUIRE(std::isfinite(y[i]));
                CHECK(std::abs(y[i] - w) <= rtol * std::abs(w) + tiny * (1 + std::abs(xs[i])));
            }
        }
}

void check_gradient(const char* name, const std::function<Tensor(const Tensor&)>& f,
                    long double (*ref)(long double)) {
    CAPTURE(name);
    const std::vector<double> x = inputs();
    Tensor in = from_vector(x, Shape{int64_t(x.size())}).requires_grad_();
    sum(f(in)).backward();
    const std::vector<double> g = in.grad().to_vector<double>();
    for (size_t i = 0; i < x.size(); ++i) {
        CAPTURE(x[i]);
        const double want = double(ref(x[i]));
        REQUIRE(std::isfinite(g[i]));
        CHECK(std::abs(g[i] - want) <= 1e-12 * std::abs(want) + 1e-300);
    }
}

}  // namespace

TEST_CASE("activations: silu and mish match their definitions at every |x|, in every CPU variant") {
    check_values("silu", K::silu_table(), silu_ref);
    check_values("mish", K::mish_table(), mish_ref);
    check_gradient("silu", [](const Tensor& t) { return silu(t); }, silu_grad_ref);
    check_gradient("mish", [](const Tensor& t) { return mish(t); }, mish_grad_ref);
}
