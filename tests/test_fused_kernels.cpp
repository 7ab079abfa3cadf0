// The fused and vectorised CPU kernels: softmax / log-softmax / cross-entropy, batch norm,
// the vector exp / tanh / sigmoid / leaky_relu and the vector sum.
//
// Every variant of each table is compared with its "reference" variant on random inputs of
// several shapes (odd sizes, tails shorter than a vector, sizes above the thread
// thresholds), with the error bound stated next to each check. The vector exp, tanh and
// sigmoid are also measured in ulps against double-precision libm over the whole float
// range. At the op layer: the fused ops against the composite formulas, their gradients by
// gradcheck (and gradgradcheck through the create_graph path) in float64, extreme logits,
// and the routing (the op records one fused node).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "helpers.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"

using namespace mg;
using namespace mg::test;
namespace K = mg::kernels;

namespace {

constexpr auto kCpu = Device::CPU;

// Deterministic uniform values in [lo, hi) (splitmix64).
template <class T> std::vector<T> uniform(size_t n, uint64_t seed, double lo, double hi) {
    std::vector<T> v(n);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto& x : v) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x = T(lo + (hi - lo) * double(z >> 11) * 0x1.0p-53);
    }
    return v;
}

// Restores the thread count at the end of a test that changes it.
struct ThreadsGuard {
    int saved = num_threads();
    ~ThreadsGuard() { set_num_threads(saved); }
};

// Distance in representable values (0: equal; 1: neighbours), across zero and subnormals.
int64_t ulp_distance(float a, float b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    int64_t oa = ia < 0 ? int64_t(INT32_MIN) - ia : ia, ob = ib < 0 ? int64_t(INT32_MIN) - ib : ib;
    return oa > ob ? oa - ob : ob - oa;
}
int64_t ulp_distance(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
    int64_t ia, ib;
    std::memcpy(&ia, &a, 8);
    std::memcpy(&ib, &b, 8);
    // ordered: negative patterns reflected below zero (saturating the extreme ends is harmless here)
    auto ord = [](int64_t i) { return i < 0 ? -(i & INT64_MAX) : i; };
    int64_t d = ord(ia) - ord(ib);
    return d < 0 ? -d : d;
}

// Inputs over the whole float range: every 4099th bit pattern (both signs, subnormals,
// huge values, inf, NaN), plus the edges of exp's range and special values.
std::vector<float> float_sweep() {
    std::vector<float> v;
    for (uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += 4099) {
        uint32_t b = uint32_t(bits);
        float f;
        std::memcpy(&f, &b, 4);
        v.push_back(f);
    }
    for (float f : {0.0f, -0.0f, 1.0f, -1.0f, 88.72f, 88.7228f, 88.73f, 89.0f, -87.3f, -87.34f, -103.9f, -103.98f,
                    -104.0f, -1e30f, 1e30f, 0.625f, -0.625f, 0.62499f, 1e-30f, -1e-30f})
        v.push_back(f);
    v.push_back(std::numeric_limits<float>::infinity());
    v.push_back(-std::numeric_limits<float>::infinity());
    v.push_back(std::numeric_limits<float>::quiet_NaN());
    return v;
}

// max over inputs of the ulp distance of a float32 unary variant to f computed in double.
template <class F> int64_t max_ulps_f32(K::OpTable<K::UnaryFn>& table, const std::string& variant,
                                        const std::vector<float>& x, F f, float* worst_x) {
    std::vector<float> y(x.size(), 0.0f);
    table.get(variant, kCpu, DType::Float32)(dense_iter(int64_t(x.size())), y.data(), x.data(), {});
    int64_t worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        int64_t d = ulp_distance(y[i], float(f(double(x[i]))));
        if (d > worst) {
            worst = d;
            *worst_x = x[i];
        }
    }
    return worst;
}

}  // namespace

// ---- vector math: ulps against libm in double ----------------------------------------------

TEST_CASE("fused kernels: vector exp is within 2 ulp of exp over the whole float32 range") {
    const std::vector<float> x = float_sweep();
    for (const std::string& v : cpu_variants(K::exp_table(), DType::Float32)) {
        if (v == "reference" || v == "omp") continue;  // libm itself
        CAPTURE(v);
        float at = 0;
        int64_t ulps = max_ulps_f32(K::exp_table(), v, x, [](double t) { return std::exp(t); }, &at);
        CAPTURE(at);
        CHECK(ulps <= 2);
    }
}

TEST_CASE("fused kernels: vector exp in float64 is within 2 ulp of libm") {
    // every 2^44+1-th double bit pattern (about 1M inputs, both signs, all magnitudes)
    std::vector<double> x;
    for (uint64_t bits = 0; bits < ~uint64_t(0) - (uint64_t(1) << 44); bits += (uint64_t(1) << 44) + 12345) {
        double d;
        std::memcpy(&d, &bits, 8);
        x.push_back(d);
    }
    for (double d : {0.0, 709.78, 709.79, -708.4, -745.1, -745.2, 1e300, -1e300, 0.5, -0.5})
        x.push_back(d);
    for (const std::string& v : cpu_variants(K::exp_table(), DType::Float64)) {
        if (v == "reference" || v == "omp") continue;
        CAPTURE(v);
        std::vector<double> y(x.size());
        K::exp_table().get(v, kCpu, DType::Float64)(dense_iter(int64_t(x.size())), y.data(), x.data(), {});
        int64_t worst = 0;
        double at = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            int64_t d = ulp_distance(y[i], std::exp(x[i]));
            if (d > worst) worst = d, at = x[i];
        }
        CAPTURE(at);
        CHECK(worst <= 2);
    }
}

TEST_CASE("fused kernels: vector tanh, sigmoid and softplus are within 4 ulp of libm in double") {
    const std::vector<float> x = float_sweep();
    for (const std::string& v : cpu_variants(K::tanh_table(), DType::Float32)) {
        if (v == "reference" || v == "omp") continue;
        CAPTURE(v);
        float at = 0;
        int64_t ulps = max_ulps_f32(K::tanh_table(), v, x, [](double t) { return std::tanh(t); }, &at);
        CAPTURE(at);
        CHECK(ulps <= 4);
    }
    for (const std::string& v : cpu_variants(K::sigmoid_table(), DType::Float32)) {
        if (v == "reference" || v == "omp") continue;
        CAPTURE(v);
        float at = 0;
        int64_t ulps = max_ulps_f32(K::sigmoid_table(), v, x, [](double t) { return 1.0 / (1.0 + std::exp(-t)); }, &at);
        CAPTURE(at);
        CHECK(ulps <= 4);
    }
    for (const std::string& v : cpu_variants(K::softplus_table(), DType::Float32)) {
        if (v == "reference" || v == "omp") continue;
        CAPTURE(v);
        float at = 0;
        int64_t ulps = max_ulps_f32(
            K::softplus_table(), v, x, [](double t) { return std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))); },
            &at);
        CAPTURE(at);
        CHECK(ulps <= 4);
    }
}

// ---- elementwise and sum variants against the reference --------------------------------------

// Out [rows, cols] contiguous; every input read transposed (column-major): the strided walk.
K::Iter transposed_iter(int64_t rows, int64_t cols) {
    K::Iter it;
    it.ndim = 2;
    it.numel = rows * cols;
    it.sizes[0] = rows;
    it.sizes[1] = cols;
    it.strides[0][0] = cols;
    it.strides[0][1] = 1;
    for (int k = 1; k < 4; ++k) {
        it.strides[k][0] = 1;
        it.strides[k][1] = rows;
    }
    return it;
}

// One op of kernels/elementwise_ops.h's lists, as the variant test runs it.
struct ElementwiseCase {
    std::string name;
    K::OpTableBase& table;
    int inputs;  // 1: UnaryFn, 2: BinaryFn, 3: BinaryScalarFn
    double lo, hi, b_lo, b_hi;
    K::Scalars s;
    bool simd;  // a vector variant: float32 within a few ulp of the reference, float64 1e-14
    void run(const std::string& variant, DType dt, const K::Iter& it, void* y, const void* a, const void* b) const {
        if (inputs == 1)
            static_cast<K::OpTable<K::UnaryFn>&>(table).get(variant, kCpu, dt)(it, y, a, s);
        else if (inputs == 2)
            static_cast<K::OpTable<K::BinaryFn>&>(table).get(variant, kCpu, dt)(it, y, a, b);
        else
            static_cast<K::OpTable<K::BinaryScalarFn>&>(table).get(variant, kCpu, dt)(it, y, a, b, s);
    }
};

// Every op of the lists that writes its input type (not the comparisons), float and double.
std::vector<ElementwiseCase> elementwise_cases() {
    std::vector<ElementwiseCase> cases;
    auto add = [&](auto op, auto& table, int inputs) {
        constexpr K::ew::OpInfo info = K::ew::op_info<decltype(op)>;
        cases.push_back({info.name, table, inputs, info.lo, info.hi, info.b_lo, info.b_hi, {info.a, info.b},
                         info.simd != K::ew::Simd::none});
    };
    K::for_each_unary_op([&](auto op, auto& table) { add(op, table, 1); });
    K::for_each_binary_op([&](auto op, auto& table) {
        if constexpr (std::is_same_v<decltype(op(1.0f, 1.0f)), float>) add(op, table, 2);
    });
    K::for_each_binary_scalar_op([&](auto op, auto& table) { add(op, table, 3); });
    return cases;
}

TEST_CASE("fused kernels: every elementwise variant matches the reference on odd sizes") {
    // Dense sizes: below one vector, one off a vector, and above each thread threshold (2^15,
    // 2^17); then strided [rows, cols] walks, the second above the "omp" threshold.
    const std::vector<int64_t> sizes = {1, 7, 15, 17, 33, 1000, 40001, 140001};
    const std::vector<std::pair<int64_t, int64_t>> strided = {{37, 41}, {190, 191}};
    for (const ElementwiseCase& c : elementwise_cases())
        for (DType dt : {DType::Float32, DType::Float64})
            for (const std::string& v : cpu_variants(c.table, dt))
                for (size_t k = 0; k < sizes.size() + strided.size(); ++k) {
                    const bool dense = k < sizes.size();
                    const K::Iter it = dense ? dense_iter(sizes[k])
                                             : transposed_iter(strided[k - sizes.size()].first,
                                                               strided[k - sizes.size()].second);
                    const int64_t n = it.numel;
                    CAPTURE(c.name);
                    CAPTURE(v);
                    CAPTURE(dt);
                    CAPTURE(n);
                    CAPTURE(dense);
                    Tensor a = from_vector(uniform<double>(size_t(n), 3, c.lo, c.hi), Shape{n}).to(dt);
                    Tensor b = from_vector(uniform<double>(size_t(n), 4, c.b_lo, c.b_hi), Shape{n}).to(dt);
                    Tensor y = full(Shape{n}, NAN, {dt}), ref = full(Shape{n}, NAN, {dt});
                    c.run(v, dt, it, y.raw_data(), a.raw_data(), b.raw_data());
                    c.run("reference", dt, it, ref.raw_data(), a.raw_data(), b.raw_data());
                    std::vector<double> got = y.to_vector<double>(), want = ref.to_vector<double>();
                    double err = 0;
                    for (size_t i = 0; i < got.size(); ++i)  // a NaN (an element not written) fails
                        err = std::max(err, std::isnan(got[i]) || std::isnan(want[i])
                                                ? INFINITY
                                                : std::abs(got[i] - want[i]) / std::max(std::abs(want[i]), 1e-3));
                    // Strided operands take the scalar functor in every variant: exact.
                    const double tol = !c.simd || !dense ? 0.0 : dt == DType::Float32 ? 6e-7 : 1e-14;
                    CHECK(err <= tol);
                }
}

TEST_CASE("fused kernels: every sum variant matches the reference, and ignores the thread count") {
    // Full sums (one contiguous run, or fixed 64k chunks above 256k), row sums, and a
    // per-channel sum over (0, 2, 3) of NCHW: the bias gradient's reduction.
    struct Case {
        Shape shape;
        std::vector<int64_t> dims;
    };
    ThreadsGuard threads;
    const Case cases[] = {{{1}, {}},           {{31}, {}},           {{1000}, {}},      {{262143}, {}},
                          {{600001}, {}},      {{37, 19}, {1}},      {{37, 19}, {0}},   {{5, 3, 7, 9}, {0, 2, 3}},
                          {{64, 64, 7, 7}, {0, 2, 3}}, {{3, 1000}, {1}}};
    for (DType dt : {DType::Float32, DType::Float64})
        for (const std::string& v : cpu_variants(K::sum_table(), dt))
            for (const Case& c : cases) {
                CAPTURE(v);
                CAPTURE(dt);
                CAPTURE(c.shape.str());
                manual_seed(11);
                Tensor x = rand(c.shape, {dt}, 0.0, 1.0);
                K::select("sum", "reference");
                Tensor ref = sum(x, c.dims).to(DType::Float64);
                K::select("sum", v);
                set_num_threads(1);
                Tensor one = sum(x, c.dims);
                set_num_threads(2);
                Tensor two = sum(x, c.dims);
                K::select_defaults();
                check_close(one, two, 0.0, 0.0);  // bitwise, whatever the thread count
                check_close(one.to(DType::Float64), ref, dt == DType::Float32 ? 1e-6 : 1e-13, 0.0);
            }
    K::select_defaults();
}

TEST_CASE("reduction kernels: column reductions give the reference's bits, in every variant") {
    // The innermost kept dim contiguous ([B, F] -> [F], a Linear's bias gradient): the
    // optimized variants fold 64 outputs at a time in the reference's order, so sum, max and
    // min agree bit for bit at any thread count (widths below, at and above the 64-block,
    // several outer groups, a NaN that must propagate).
    struct Case {
        Shape shape;
        std::vector<int64_t> dims;
    };
    ThreadsGuard threads;
    const Case cases[] = {{{256, 128}, {0}}, {{7, 130}, {0}},       {{3, 37, 19}, {1}},
                          {{4, 6, 70}, {0, 1}}, {{2, 9, 5, 64}, {1, 2}}, {{1000, 8}, {0}}};
    struct Table {
        const char* name;
        K::OpTable<K::ReduceFn>& table;
    };
    for (Table t : {Table{"sum", K::sum_table()}, Table{"max", K::max_table()}, Table{"min", K::min_table()}})
        for (DType dt : {DType::Float32, DType::Float64})
            for (const std::string& v : cpu_variants(t.table, dt))
                for (const Case& c : cases) {
                    CAPTURE(t.name);
                    CAPTURE(v);
                    CAPTURE(dt);
                    CAPTURE(c.shape.str());
                    manual_seed(12);
                    Tensor x = rand(c.shape, {dt}, -1.0, 1.0);
                    if (c.shape.numel() == 7 * 130) x.view({-1}).slice(0, 200, 201).fill_(std::nan(""));
                    auto run = [&] {
                        if (std::string(t.name) == "sum") return sum(x, c.dims);
                        if (std::string(t.name) == "max") return amax(x, c.dims);
                        return amin(x, c.dims);
                    };
                    K::select(t.name, "reference");
                    Tensor ref = run();
                    K::select(t.name, v);
                    for (int threads_n : {1, 2}) {
                        set_num_threads(threads_n);
                        Tensor y = run();
                        REQUIRE(y.shape() == ref.shape());
                        std::vector<double> a = y.to_vector<double>(), b = ref.to_vector<double>();
                        for (size_t i = 0; i < a.size(); ++i)
                            CHECK((a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))));
                    }
                    K::select_defaults();
                }
    K::select_defaults();
}

// ---- softmax, log-softmax, cross-entropy kernels ------------------------------------------------

namespace {

// [outer, classes, inner] shapes: rows of a vector and less, odd classes, inner tails.
const K::SoftmaxShape kSoftmaxShapes[] = {{1, 1, 1},   {3, 5, 1},   {128, 10, 1}, {7, 256, 1}, {4, 1000, 1},
                                          {2, 17, 33}, {3, 4, 784}, {2, 7, 3},    {64, 256, 3}, {2, 256, 49}};

Tensor random_logits(const K::SoftmaxShape& s, DType dt, uint64_t seed, double scale = 4.0) {
    int64_t n = s.outer * s.classes * s.inner;
    return from_vector(uniform<double>(size_t(n), seed, -scale, scale), Shape{n}).to(dt);
}
Tensor random_targets(const K::SoftmaxShape& s, uint64_t seed) {
    std::vector<int64_t> t(size_t(s.rows()));
    std::vector<double> u = uniform<double>(t.size(), seed, 0, double(s.classes));
    for (size_t i = 0; i < t.size(); ++i) t[i] = std::min<int64_t>(int64_t(u[i]), s.classes - 1);
    return from_vector(t, Shape{s.rows()});
}

// max |a - b| / (atol + |b|) <= 1, element by element.
void check_near(const Tensor& a, const Tensor& b, double rtol, double atol) { check_close(a, b, rtol, atol); }

}  // namespace

TEST_CASE("fused kernels: every softmax / log_softmax variant matches the reference") {
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double rtol = dt == DType::Float32 ? 2e-6 : 1e-13, atol = dt == DType::Float32 ? 1e-6 : 1e-14;
        for (const K::SoftmaxShape& s : kSoftmaxShapes)
            for (bool log : {false, true}) {
                Tensor x = random_logits(s, dt, 1), gy = random_logits(s, dt, 2, 1.0);
                TensorOptions o{dt};
                Tensor ref_y = empty(x.shape(), o), ref_gx = empty(x.shape(), o);
                K::softmax_forward_table().get("reference", kCpu, dt)(s, x.raw_data(), ref_y.raw_data(), log);
                K::softmax_backward_table().get("reference", kCpu, dt)(s, ref_y.raw_data(), gy.raw_data(),
                                                                       ref_gx.raw_data(), log);
                for (const std::string& v : cpu_variants(K::softmax_forward_table(), dt)) {
                    CAPTURE(v);
                    CAPTURE(dt);
                    CAPTURE(log);
                    CAPTURE(s.outer);
                    CAPTURE(s.classes);
                    CAPTURE(s.inner);
                    Tensor y = full(x.shape(), NAN, o), gx = full(x.shape(), NAN, o);
                    K::softmax_forward_table().get(v, kCpu, dt)(s, x.raw_data(), y.raw_data(), log);
                    // backward from the reference's y, so that only the backward is compared
                    K::softmax_backward_table().get(v, kCpu, dt)(s, ref_y.raw_data(), gy.raw_data(), gx.raw_data(),
                                                                 log);
                    check_near(y, ref_y, rtol, atol);
                    check_near(gx, ref_gx, rtol, 4 * atol);
                }
            }
    }
}

TEST_CASE("fused kernels: every cross_entropy variant matches the reference") {
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double rtol = dt == DType::Float32 ? 2e-6 : 1e-13, atol = dt == DType::Float32 ? 1e-6 : 1e-14;
        for (const K::SoftmaxShape& s : kSoftmaxShapes) {
            Tensor x = random_logits(s, dt, 3), t = random_targets(s, 4);
            Tensor g_rows = random_logits({1, s.rows(), 1}, dt, 5, 1.0);
            TensorOptions o{dt};
            Tensor ref_loss = empty(Shape{s.rows()}, o), ref_lse = empty(Shape{s.rows()}, o);
            K::cross_entropy_forward_table().get("reference", kCpu, dt)(s, x.raw_data(), t.data<int64_t>(),
                                                                        ref_loss.raw_data(), ref_lse.raw_data());
            for (const std::string& v : cpu_variants(K::cross_entropy_forward_table(), dt)) {
                CAPTURE(v);
                CAPTURE(dt);
                CAPTURE(s.outer);
                CAPTURE(s.classes);
                CAPTURE(s.inner);
                Tensor loss = full(Shape{s.rows()}, NAN, o), lse = full(Shape{s.rows()}, NAN, o);
                K::cross_entropy_forward_table().get(v, kCpu, dt)(s, x.raw_data(), t.data<int64_t>(), loss.raw_data(),
                                                                  lse.raw_data());
                check_near(loss, ref_loss, rtol, atol);
                check_near(lse, ref_lse, rtol, atol);
                // backward: per-row gradients (reduction none) and one broadcast gradient (mean)
                for (int64_t stride : {0, 1}) {
                    CAPTURE(stride);
                    const double scale = stride == 0 ? 1.0 / double(s.rows()) : 1.0;
                    Tensor gx = full(x.shape(), NAN, o), ref_gx = full(x.shape(), NAN, o);
                    K::cross_entropy_backward_table().get("reference", kCpu, dt)(
                        s, x.raw_data(), t.data<int64_t>(), ref_lse.raw_data(), g_rows.raw_data(), stride, scale,
                        ref_gx.raw_data());
                    K::cross_entropy_backward_table().get(v, kCpu, dt)(s, x.raw_data(), t.data<int64_t>(),
                                                                       ref_lse.raw_data(), g_rows.raw_data(), stride,
                                                                       scale, gx.raw_data());
                    check_near(gx, ref_gx, rtol, atol);
                }
                // a target out of range is an error, not a read out of bounds
                std::vector<int64_t> bad = t.to_vector<int64_t>();
                bad.back() = s.classes;
                Tensor tb = from_vector(bad, Shape{s.rows()});
                CHECK(test::error_of([&] {
                          K::cross_entropy_forward_table().get(v, kCpu, dt)(s, x.raw_data(), tb.data<int64_t>(),
                                                                            loss.raw_data(), lse.raw_data());
                      }).find("out of range") != std::string::npos);
            }
        }
    }
}

TEST_CASE("fused kernels: softmax and cross_entropy kernels ignore the thread count") {
    ThreadsGuard threads;
    const K::SoftmaxShape shapes[] = {{512, 256, 1}, {2, 256, 784}};
    for (const K::SoftmaxShape& s : shapes)
        for (const std::string& v : cpu_variants(K::cross_entropy_forward_table(), DType::Float32)) {
            CAPTURE(v);
            Tensor x = random_logits(s, DType::Float32, 6), t = random_targets(s, 7);
            Tensor loss[2], lse[2], gx[2];
            for (int threads : {1, 2}) {
                set_num_threads(threads);
                int i = threads - 1;
                loss[i] = empty(Shape{s.rows()}), lse[i] = empty(Shape{s.rows()}), gx[i] = empty(x.shape());
                float g = 1.0f;
                K::cross_entropy_forward_table().get(v, kCpu, DType::Float32)(s, x.raw_data(), t.data<int64_t>(),
                                                                              loss[i].raw_data(), lse[i].raw_data());
                K::cross_entropy_backward_table().get(v, kCpu, DType::Float32)(
                    s, x.raw_data(), t.data<int64_t>(), lse[i].raw_data(), &g, 0, 1.0 / double(s.rows()),
                    gx[i].raw_data());
            }
            check_close(loss[0], loss[1], 0, 0);
            check_close(gx[0], gx[1], 0, 0);
        }
}

// ---- batch norm kernels ---------------------------------------------------------------------------

TEST_CASE("fused kernels: every batch_norm variant matches the reference") {
    // [n, c, hw]: NCHW with tails (hw 25, 49), the [N, C] case (hw 1) with c below, at and
    // above one vector, and shapes above the thread threshold.
    const K::BatchNormShape shapes[] = {{4, 3, 25}, {2, 5, 49}, {3, 2, 784}, {64, 16, 49}, {512, 64, 1},
                                        {5, 19, 1}, {7, 1, 1},  {2, 33, 1},  {8, 64, 196}};
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double rtol = dt == DType::Float32 ? 1e-5 : 1e-12, atol = dt == DType::Float32 ? 2e-5 : 1e-12;
        for (const K::BatchNormShape& s : shapes)
            for (bool training : {true, false})
                for (bool affine : {true, false}) {
                    const int64_t n = s.n * s.c * s.hw;
                    TensorOptions o{dt};
                    // an offset mean (3) tests the shifted sums
                    Tensor x = from_vector(uniform<double>(size_t(n), 8, 2.0, 4.0), Shape{n}).to(dt);
                    Tensor gy = from_vector(uniform<double>(size_t(n), 9, -1.0, 1.0), Shape{n}).to(dt);
                    Tensor w = from_vector(uniform<double>(size_t(s.c), 10, 0.5, 1.5), Shape{s.c}).to(dt);
                    Tensor b = from_vector(uniform<double>(size_t(s.c), 11, -0.5, 0.5), Shape{s.c}).to(dt);
                    auto run = [&](const std::string& v, Tensor& y, Tensor& rm, Tensor& rv, Tensor& sm, Tensor& si,
                                   Tensor& gx, Tensor& gw, Tensor& gb) {
                        y = full(x.shape(), NAN, o), sm = full(Shape{s.c}, NAN, o), si = full(Shape{s.c}, NAN, o);
                        rm = full(Shape{s.c}, 0.5, o), rv = full(Shape{s.c}, 2.0, o);
                        K::BatchNormForwardArgs a;
                        a.shape = s;
                        a.x = x.raw_data();
                        a.weight = affine ? w.raw_data() : nullptr;
                        a.bias = affine ? b.raw_data() : nullptr;
                        a.running_mean = rm.raw_data();
                        a.running_var = rv.raw_data();
                        a.training = training;
                        a.momentum = 0.1;
                        a.eps = 1e-5;
                        a.y = y.raw_data();
                        a.save_mean = sm.raw_data();
                        a.save_invstd = si.raw_data();
                        K::batch_norm_forward_table().get(v, kCpu, dt)(a);
                        gx = full(x.shape(), NAN, o), gw = full(Shape{s.c}, NAN, o), gb = full(Shape{s.c}, NAN, o);
                        K::BatchNormBackwardArgs bw;
                        bw.shape = s;
                        bw.x = x.raw_data();
                        bw.grad_y = gy.raw_data();
                        bw.save_mean = sm.raw_data();
                        bw.save_invstd = si.raw_data();
                        bw.weight = affine ? w.raw_data() : nullptr;
                        bw.grad_x = gx.raw_data();
                        bw.grad_weight = gw.raw_data();
                        bw.grad_bias = gb.raw_data();
                        K::batch_norm_backward_table().get(v, kCpu, dt)(bw);
                    };
                    Tensor ry, rrm, rrv, rsm, rsi, rgx, rgw, rgb;
                    run("reference", ry, rrm, rrv, rsm, rsi, rgx, rgw, rgb);
                    for (const std::string& v : cpu_variants(K::batch_norm_forward_table(), dt)) {
                        CAPTURE(v);
                        CAPTURE(dt);
                        CAPTURE(training);
                        CAPTURE(affine);
                        CAPTURE(s.n);
                        CAPTURE(s.c);
                        CAPTURE(s.hw);
                        Tensor y, rm, rv, sm, si, gx, gw, gb;
                        run(v, y, rm, rv, sm, si, gx, gw, gb);
                        check_close(y, ry, rtol, atol);
                        check_close(rm, rrm, rtol, atol);
                        check_close(rv, rrv, rtol, atol);
                        check_close(sm, rsm, rtol, atol);
                        check_close(si, rsi, rtol, atol);
                        // gradient sums grow with n*hw: compare relative to their scale
                        check_close(gx, rgx, rtol, atol);
                        check_close(gw, rgw, 1e-5, dt == DType::Float32 ? 1e-5 * double(s.n * s.hw) : 1e-10);
                        check_close(gb, rgb, 1e-5, dt == DType::Float32 ? 1e-5 * double(s.n * s.hw) : 1e-10);
                    }
                }
    }
}

TEST_CASE("fused kernels: batch_norm statistics stay accurate far from zero") {
    // mean 1e4, std 1e-2 in float32: E[x^2] - E[x]^2 in float would lose every digit; the
    // shifted double sums keep the variance to float rounding of the data.
    const K::BatchNormShape s{16, 4, 49};
    const int64_t n = s.n * s.c * s.hw;
    std::vector<float> xv(static_cast<size_t>(n));
    std::vector<double> u = uniform<double>(size_t(n), 12, -1.0, 1.0);
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = float(1e4 + 1e-2 * u[i]);
    for (const std::string& v : cpu_variants(K::batch_norm_forward_table(), DType::Float32)) {
        CAPTURE(v);
        std::vector<float> y(static_cast<size_t>(n)), mean(4), invstd(4);
        K::BatchNormForwardArgs a;
        a.shape = s;
        a.x = xv.data();
        a.y = y.data();
        a.save_mean = mean.data();
        a.save_invstd = invstd.data();
        K::batch_norm_forward_table().get(v, kCpu, DType::Float32)(a);
        for (int64_t c = 0; c < s.c; ++c) {
            double m = 0, var = 0;
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t j = 0; j < s.hw; ++j) m += xv[size_t((i * s.c + c) * s.hw + j)];
            m /= double(s.count());
            for (int64_t i = 0; i < s.n; ++i)
                for (int64_t j = 0; j < s.hw; ++j) {
                    double d = xv[size_t((i * s.c + c) * s.hw + j)] - m;
                    var += d * d;
                }
            var /= double(s.count());
            CHECK(double(invstd[size_t(c)]) == doctest::Approx(1.0 / std::sqrt(var + 1e-5)).epsilon(1e-4));
        }
    }
}

// ---- the op layer -------------------------------------------------------------------------------------

TEST_CASE("fused ops: softmax, log_softmax, cross_entropy and batch_norm match the composite formulas") {
    manual_seed(3);
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double tol = dt == DType::Float32 ? 2e-6 : 1e-13, bn_tol = dt == DType::Float32 ? 2e-5 : 1e-12;
        Tensor x = randn({3, 5, 4, 2}, {dt}, 0.0, 3.0);
        for (int64_t dim : {0, 1, 3, -1}) {
            CAPTURE(dim);
            Tensor lse = logsumexp(x, dim, true);  // composite reference
            check_close(log_softmax(x, dim), sub(x, lse), tol, tol);
            check_close(softmax(x, dim), exp(sub(x, lse)), tol, tol);
        }
        Tensor t = randint(0, 5, {3, 4, 2});
        Tensor picked = gather_last(x.permute({0, 2, 3, 1}), t.unsqueeze(3)).squeeze(3);
        Tensor rows = sub(logsumexp(x, 1), picked);  // [3, 4, 2]
        check_close(cross_entropy(x, t, Reduction::None), rows, tol, tol);
        check_close(cross_entropy(x, t, Reduction::Sum), sum(rows), tol, tol);
        check_close(cross_entropy(x, t), mean(rows), tol, tol);

        Tensor w = rand({5}, {dt}, 0.5, 1.5), b = rand({5}, {dt}, -1.0, 1.0);
        Tensor rm = zeros({5}, {dt}), rv = ones({5}, {dt});
        Tensor y = batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
        Tensor m = mean(x, {0, 2, 3}, true), v = var(x, {0, 2, 3}, 0, true);
        Tensor expect = add(mul(div(sub(x, m), sqrt(add(v, 1e-5))), w.reshape({1, 5, 1, 1})), b.reshape({1, 5, 1, 1}));
        check_close(y, expect, bn_tol, bn_tol);
        check_close(rm, mul(m.reshape({5}), 0.1), bn_tol, bn_tol);
        check_close(rv, add(mul(var(x, {0, 2, 3}).reshape({5}), 0.1), 0.9), bn_tol, bn_tol);
        // eval: the running statistics
        Tensor ye = batch_norm(x, rm, rv, w, b, false, 0.1, 1e-5);
        Tensor expect_e = add(mul(div(sub(x, rm.reshape({1, 5, 1, 1})), sqrt(add(rv.reshape({1, 5, 1, 1}), 1e-5))),
                                  w.reshape({1, 5, 1, 1})),
                              b.reshape({1, 5, 1, 1}));
        check_close(ye, expect_e, bn_tol, bn_tol);
    }
}

TEST_CASE("fused ops: the CPU ops record one fused node") {
    Tensor x = randn({4, 3, 2, 2}).requires_grad_();
    CHECK(softmax(x, 1).grad_fn()->name == "softmax");
    CHECK(log_softmax(x, 1).grad_fn()->name == "log_softmax");
    CHECK(cross_entropy(x, randint(0, 3, {4, 2, 2})).grad_fn()->name == "cross_entropy");
    Tensor w = ones({3}).requires_grad_(), b = zeros({3}).requires_grad_();
    CHECK(batch_norm(x, zeros({3}), ones({3}), w, b, true).grad_fn()->name == "batch_norm");
}

TEST_CASE("fused ops: gradients by gradcheck in float64, first and second order") {
    manual_seed(5);
    auto in = [](const Shape& s) { return randn(s, {DType::Float64}).requires_grad_(); };
    struct Case {
        const char* name;
        std::vector<Tensor> inputs;
        TensorFn f;
        bool second_order;
    };
    Tensor t_sp = randint(0, 4, {2, 3, 5}), t_2d = randint(0, 7, {6});
    Tensor rm = zeros({4}, {DType::Float64}), rv = ones({4}, {DType::Float64});
    std::vector<Case> cases = {
        {"softmax dim 1 of [2, 3, 5] (inner 5)", {in({2, 3, 5})}, [](const auto& x) { return softmax(x[0], 1); }, true},
        {"log_softmax dim 0", {in({4, 3})}, [](const auto& x) { return log_softmax(x[0], 0); }, true},
        {"cross_entropy none, NCHW", {in({2, 4, 3, 5})},
         [&](const auto& x) { return cross_entropy(x[0], t_sp, Reduction::None); }, true},
        {"cross_entropy sum, [6, 7]", {in({6, 7})},
         [&](const auto& x) { return cross_entropy(x[0], t_2d, Reduction::Sum); }, true},
        {"cross_entropy mean, [6, 7]", {in({6, 7})}, [&](const auto& x) { return cross_entropy(x[0], t_2d); }, true},
        {"batch_norm [5, 4] affine", {in({5, 4}), in({4}), in({4})},
         [&](const auto& x) { return batch_norm(x[0], rm, rv, x[1], x[2], true); }, true},
        {"batch_norm [3, 4, 2, 3] no affine", {in({3, 4, 2, 3})},
         [&](const auto& x) { return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, true},
        {"batch_norm [3, 4, 2, 3] weight only", {in({3, 4, 2, 3}), in({4})},
         [&](const auto& x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], Tensor(), true); }, false},
    };
    for (Case& c : cases) {
        CAPTURE(c.name);
        GradcheckResult r = gradcheck(c.f, c.inputs);
        INFO(r.message);
        CHECK(r.ok);
        if (c.second_order) {
            GradcheckResult r2 = gradgradcheck(c.f, c.inputs);
            INFO(r2.message);
            CHECK(r2.ok);
        }
    }
}

TEST_CASE("fused ops: extreme logits give finite, correct losses and gradients") {
    for (DType dt : {DType::Float32, DType::Float64}) {
        CAPTURE(dt);
        const double big = dt == DType::Float32 ? 1e30 : 1e300;
        // rows: one huge value; huge negatives; all equal and large; a mixed row
        const double tol = dt == DType::Float32 ? 1e-5 : 1e-9;
        Tensor x = from_vector(std::vector<double>{big, 0, 0, -big, 0, 0, 100, 100, 100, -1e30, 2, -1e30}, Shape{4, 3})
                       .to(dt)
                       .requires_grad_();
        Tensor t = from_vector<int64_t>({1, 0, 2, 1});
        Tensor loss = cross_entropy(x, t, Reduction::None);
        std::vector<double> l = loss.to_vector<double>();
        CHECK(l[0] == doctest::Approx(big).epsilon(tol));  // lse = big, target 0
        CHECK(l[1] == doctest::Approx(big + std::log(2.0)).epsilon(tol));
        CHECK(l[2] == doctest::Approx(std::log(3.0)).epsilon(tol));
        CHECK(l[3] == doctest::Approx(0.0).epsilon(tol));
        sum(loss).backward();
        std::vector<double> g = x.grad().to_vector<double>();
        const std::vector<double> expect = {1, -1, 0, -1, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3 - 1, 0, 0, 0};
        for (size_t i = 0; i < g.size(); ++i) {
            CAPTURE(i);
            CHECK(std::isfinite(g[i]));
            CHECK(g[i] == doctest::Approx(expect[i]).epsilon(tol));
        }
        // softmax and log_softmax of the same rows
        std::vector<double> p = softmax(x.detach(), 1).to_vector<double>();
        std::vector<double> lp = log_softmax(x.detach(), 1).to_vector<double>();
        for (size_t i = 0; i < p.size(); ++i) {
            CHECK(std::isfinite(p[i]));
            CHECK(!std::isnan(lp[i]));
        }
        CHECK(p[0] == 1.0);
        CHECK(p[4] == doctest::Approx(0.5));
        CHECK(lp[1] == doctest::Approx(-big).epsilon(tol));
    }
}

TEST_CASE("fused ops: the backward helpers of relu, leaky_relu, tanh and sigmoid match the formulas") {
    manual_seed(9);
    for (DType dt : {DType::Float32, DType::Float64}) {
        Tensor x = randn({3, 70001}, {dt}).requires_grad_();
        Tensor g = randn({3, 70001}, {dt});
        auto grad_of = [&](const std::function<Tensor(const Tensor&)>& f) {
            x.zero_grad();
            f(x).backward(g);
            return x.grad();
        };
        Tensor xd = x.detach();
        check_close(grad_of([](const Tensor& v) { return relu(v); }), mul(g, gt(xd, 0.0).to(dt)), 0, 0);
        check_close(grad_of([](const Tensor& v) { return leaky_relu(v, 0.2); }), where(gt(xd, 0.0), g, mul(g, 0.2)),
                    0, 0);
        Tensor th = tanh(xd), sg = sigmoid(xd);
        check_close(grad_of([](const Tensor& v) { return tanh(v); }), mul(g, sub(ones_like(th), mul(th, th))), 1e-6,
                    1e-7);
        check_close(grad_of([](const Tensor& v) { return sigmoid(v); }), mul(g, mul(sg, sub(ones_like(sg), sg))),
                    1e-6, 1e-7);
    }
}
