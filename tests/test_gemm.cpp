// GEMM kernels: every registered CPU variant against a double-accumulated reference
// computed here, over odd sizes, all transposes, padded leading dimensions, batches
// with strides, alpha and beta, and beta = 0 over a C full of NaN. Kernel API only.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.h"
#include "kernels/cpu/gemm_blocking.h"
#include "kernels/gemm.h"

using mg::test::cpu_variants;

namespace {

using mg::DType;
using mg::Device;
using mg::kernels::GemmArgs;
using mg::kernels::gemm_table;

struct Shape {
    int64_t m, n, k;
};

// Rows of A and B as stored (each row is lda / ldb elements long).
int64_t a_rows(const GemmArgs& g) { return g.trans_a ? g.k : g.m; }
int64_t b_rows(const GemmArgs& g) { return g.trans_b ? g.n : g.k; }

GemmArgs make_args(Shape s, bool trans_a, bool trans_b, int64_t pad, int64_t batch, double alpha, double beta) {
    GemmArgs g;
    g.trans_a = trans_a;
    g.trans_b = trans_b;
    g.m = s.m;
    g.n = s.n;
    g.k = s.k;
    g.lda = (trans_a ? s.m : s.k) + pad;
    g.ldb = (trans_b ? s.k : s.n) + pad;
    g.ldc = s.n + pad;
    g.batch = batch;
    // Batch strides leave a gap after each matrix, so a read or write past the end shows.
    g.stride_a = a_rows(g) * g.lda + 3 * pad;
    g.stride_b = b_rows(g) * g.ldb + 3 * pad;
    g.stride_c = s.m * g.ldc + 3 * pad;
    g.alpha = alpha;
    g.beta = beta;
    return g;
}

// want = alpha * op(A) · op(B) + beta * C in double, and bound = |alpha| * |op(A)| · |op(B)| + |beta * C|,
// the scale of the rounding error a correct float GEMM may make.
template <class T>
void expected(const GemmArgs& g, const std::vector<T>& a, const std::vector<T>& b, const std::vector<T>& c,
              std::vector<double>& want, std::vector<double>& bound) {
    want.assign(c.size(), 0.0);
    bound.assign(c.size(), 0.0);
    std::vector<double> op_b(static_cast<size_t>(g.k * g.n)), sum(static_cast<size_t>(g.n)),
        abs_sum(static_cast<size_t>(g.n));
    for (int64_t t = 0; t < g.batch; ++t) {
        for (int64_t p = 0; p < g.k; ++p)  // op(B) as a dense k x n, so the loops below run along rows
            for (int64_t j = 0; j < g.n; ++j)
                op_b[p * g.n + j] = b[t * g.stride_b + (g.trans_b ? j * g.ldb + p : p * g.ldb + j)];
        for (int64_t i = 0; i < g.m; ++i) {
            std::fill(sum.begin(), sum.end(), 0.0);
            std::fill(abs_sum.begin(), abs_sum.end(), 0.0);
            for (int64_t p = 0; p < g.k; ++p) {
                const double x = a[t * g.stride_a + (g.trans_a ? p * g.lda + i : i * g.lda + p)];
                for (int64_t j = 0; j < g.n; ++j) {
                    sum[j] += x * op_b[p * g.n + j];
                    abs_sum[j] += std::fabs(x * op_b[p * g.n + j]);
                }
            }
            for (int64_t j = 0; j < g.n; ++j) {
                const int64_t at = t * g.stride_c + i * g.ldc + j;
                const double old = g.beta == 0.0 ? 0.0 : g.beta * double(c[at]);
                want[at] = g.alpha * sum[j] + old;
                bound[at] = std::fabs(g.alpha) * abs_sum[j] + std::fabs(old);
            }
        }
    }
}

// Runs `variant` on one case and checks every element of C: inside the matrices against
// the expected value, outside them (ldc padding, batch gaps) untouched.
template <class T>
void check_case(const std::string& variant, const GemmArgs& g, std::mt19937& rng) {
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    const auto span_a = static_cast<size_t>((g.batch - 1) * g.stride_a + a_rows(g) * g.lda);
    const auto span_b = static_cast<size_t>((g.batch - 1) * g.stride_b + b_rows(g) * g.ldb);
    const auto span_c = static_cast<size_t>((g.batch - 1) * g.stride_c + g.m * g.ldc);
    std::vector<T> a(span_a), b(span_b), c(span_c);
    for (T& x : a) x = T(dist(rng));
    for (T& x : b) x = T(dist(rng));
    const T sentinel = T(12345.0);
    std::vector<bool> inside(c.size(), false);
    for (int64_t t = 0; t < g.batch; ++t)
        for (int64_t i = 0; i < g.m; ++i)
            for (int64_t j = 0; j < g.n; ++j) inside[size_t(t * g.stride_c + i * g.ldc + j)] = true;
    for (size_t i = 0; i < c.size(); ++i) {
        if (!inside[i]) c[i] = sentinel;
        else c[i] = g.beta == 0.0 ? std::numeric_limits<T>::quiet_NaN() : T(dist(rng));  // beta = 0: write-only
    }
    std::vector<double> want, bound;
    expected(g, a, b, c, want, bound);

    auto* gemm = gemm_table().get(variant, Device::CPU, mg::dtype_of<T>::value);
    gemm(g, a.data(), b.data(), c.data());

    // A correct GEMM in T errs by at most about k * eps * bound; allow 2x that plus a floor.
    const double eps = std::numeric_limits<T>::epsilon();
    const double tolerance = 2.0 * double(g.k + 2) * eps;
    int64_t bad = 0;
    std::string first_error;
    for (size_t i = 0; i < c.size(); ++i) {
        const bool ok = inside[i] ? std::fabs(double(c[i]) - want[i]) <= tolerance * bound[i] + 1e-30  // NaN fails
                                  : c[i] == sentinel;
        if (ok || bad++ > 0) continue;
        std::ostringstream error;
        if (!inside[i]) error << "wrote outside C at offset " << i;
        else
            error << "C[" << i << "] = " << c[i] << ", want " << want[i] << " (allowed error "
                  << tolerance * bound[i] << ")";
        first_error = error.str();
    }
    CHECK_MESSAGE(bad == 0, variant << " " << mg::dtype_name(mg::dtype_of<T>::value) << " m=" << g.m << " n=" << g.n
                                    << " k=" << g.k << " trans_a=" << g.trans_a << " trans_b=" << g.trans_b
                                    << " batch=" << g.batch << " ld pad=" << (g.ldc - g.n) << " alpha=" << g.alpha
                                    << " beta=" << g.beta << ": " << bad << " bad elements, first: " << first_error);
}

template <class T>
std::vector<std::string> gemm_variants() {
    return cpu_variants(gemm_table(), mg::dtype_of<T>::value);
}

// Sizes around the micro-kernel tiles (1, 7, 13) and past them (129, 300), matrix-vector
// shapes (m or n = 1), k = 1, and k = 0 (C = beta * C).
const Shape kShapes[] = {
    {1, 1, 1},    {1, 7, 13},    {7, 1, 13},    {7, 13, 1},   {13, 7, 7},     {13, 129, 7},
    {129, 13, 300}, {300, 129, 13}, {129, 129, 129}, {1, 300, 129}, {300, 1, 129}, {64, 1, 300},
    {1, 129, 1},  {300, 300, 7},  {17, 33, 0},
};

// Every variant, every shape, the four transpose cases, each with beta 0, 1 and 0.5;
// `big` (shapes that take seconds in double) skips "reference" and runs one beta per case.
template <class T>
void check_all_variants(const Shape* shapes, size_t count, bool big = false) {
    mg::kernels::init();
    const auto variants = gemm_variants<T>();
    REQUIRE(!variants.empty());
    std::mt19937 rng(1234);
    const double betas[] = {0.0, 1.0, 0.5};
    for (const std::string& variant : variants) {
        if (big && variant == "reference") continue;
        int64_t case_index = 0;
        for (size_t s = 0; s < count; ++s)
            for (int trans = 0; trans < 4; ++trans)
                for (int which_beta = 0; which_beta < 3; ++which_beta) {
                    if (big && which_beta != trans % 3) continue;
                    // Vary alpha, padding and batch across cases rather than over their full product.
                    const double alpha = case_index % 2 ? -0.75 : 1.0;
                    const int64_t pad = case_index % 3 == 1 ? 5 : 0;
                    const int64_t batch = case_index % 4 == 2 ? 3 : 1;
                    ++case_index;
                    CAPTURE(variant);
                    check_case<T>(variant,
                                  make_args(shapes[s], trans & 1, trans & 2, pad, batch, alpha, betas[which_beta]),
                                  rng);
                }
    }
}

}  // namespace

TEST_CASE("gemm: every float32 variant matches the reference on odd shapes") {
    check_all_variants<float>(kShapes, std::size(kShapes));
}

TEST_CASE("gemm: every float64 variant matches the reference on odd shapes") {
    check_all_variants<double>(kShapes, std::size(kShapes));
}

TEST_CASE("gemm: shapes that cross the cache blocks (mc, kc, nc) of the blocked variants") {
    // m > mc, k > kc (several K blocks: beta applies only once), n > nc at the derived sizes
    // of a Zen 4 (336, 256, 4096).
    const Shape shapes[] = {{450, 40, 600}, {20, 4200, 300}};
    check_all_variants<float>(shapes, std::size(shapes), /*big=*/true);
}

namespace {

// Every float variant on random A and B: C bitwise the same at 1, 2 and 3 threads.
void check_same_bits_for_1_2_3_threads(const GemmArgs& g, std::mt19937& rng) {
    const int saved_threads = omp_get_max_threads();
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> a(size_t(a_rows(g) * g.lda)), b(size_t(b_rows(g) * g.ldb));
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    for (const std::string& variant : gemm_variants<float>()) {
        std::vector<float> first;
        for (int threads : {1, 2, 3}) {
            omp_set_num_threads(threads);
            std::vector<float> c(size_t(g.m * g.ldc));
            gemm_table().get(variant, Device::CPU, DType::Float32)(g, a.data(), b.data(), c.data());
            if (first.empty()) first = c;
            CAPTURE(variant);
            CAPTURE(threads);
            CHECK(std::memcmp(first.data(), c.data(), c.size() * sizeof(float)) == 0);
        }
    }
    omp_set_num_threads(saved_threads);
}

}  // namespace

TEST_CASE("gemm: unusual run-time blockings match the reference, bitwise the same for 1, 2 and 3 threads") {
    // mc = MR, kc = 17, nc = NR (fitted from 1, 17, 1): every block is an edge, k splits into
    // blocks of 17 with a ragged last one. Then blocks that do not divide the tiles evenly.
    for (const mg::kernels::cpu::GemmBlocking b : {mg::kernels::cpu::GemmBlocking{1, 17, 1}, {29, 40, 70}}) {
        CAPTURE(b.mc);
        CAPTURE(b.kc);
        CAPTURE(b.nc);
        const mg::kernels::cpu::ScopedGemmBlocking use(b);
        check_all_variants<float>(kShapes, std::size(kShapes));
        check_all_variants<double>(kShapes, std::size(kShapes));
        const Shape big[] = {{100, 90, 75}};
        check_all_variants<float>(big, std::size(big), /*big=*/true);
        std::mt19937 rng(5);
        check_same_bits_for_1_2_3_threads(make_args({300, 257, 300}, false, true, 0, 1, 1.0, 0.0), rng);
    }
}

TEST_CASE("gemm: batched, with A shared across the batch (stride 0)") {
    mg::kernels::init();
    std::mt19937 rng(99);
    for (const std::string& variant : gemm_variants<float>()) {
        GemmArgs g = make_args({13, 40, 29}, false, true, 2, 5, 1.0, 0.5);
        g.stride_a = 0;  // one weight, many inputs
        CAPTURE(variant);
        check_case<float>(variant, g, rng);
    }
}

TEST_CASE("gemm: results are bitwise the same for 1, 2 and 3 threads") {
    mg::kernels::init();
    std::mt19937 rng(7);
    const Shape shapes[] = {{300, 257, 300}, {64, 1, 6272}, {6272, 1, 64}, {1, 700, 300}, {64, 700, 100}};
    for (const Shape& s : shapes)
        for (int trans = 0; trans < 4; ++trans) {
            CAPTURE(trans);
            check_same_bits_for_1_2_3_threads(make_args(s, trans & 1, trans & 2, 0, 1, 1.0, 0.0), rng);
        }
}

TEST_CASE("gemm: bad arguments throw mg::Error naming the op") {
    mg::kernels::init();
    std::vector<float> a(64), b(64), c(64);
    for (const std::string& variant : gemm_variants<float>()) {
        auto* gemm = gemm_table().get(variant, Device::CPU, DType::Float32);
        GemmArgs g = make_args({4, 4, 4}, false, false, 0, 1, 1.0, 0.0);
        g.ldc = 3;  // less than n
        CHECK_THROWS_AS(gemm(g, a.data(), b.data(), c.data()), mg::Error);
        g = make_args({4, 4, 4}, true, false, 0, 1, 1.0, 0.0);
        g.lda = 2;  // less than m for a transposed A
        CHECK_THROWS_AS(gemm(g, a.data(), b.data(), c.data()), mg::Error);
        g = make_args({4, 4, 4}, false, false, 0, 2, 1.0, 0.0);
        g.stride_c = 4;  // the two outputs would overlap
        CHECK_THROWS_AS(gemm(g, a.data(), b.data(), c.data()), mg::Error);
        g = make_args({4, 4, 4}, false, false, 0, 1, 1.0, 0.0);
        g.m = -1;
        CHECK_THROWS_WITH_AS(gemm(g, a.data(), b.data(), c.data()), doctest::Contains("gemm"), mg::Error);
    }
}
