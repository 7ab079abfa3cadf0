// The correctness half of `minigen bench`: every registered CPU float32 variant of the ops
// the bench times, checked against "reference" by the bench's own check, on tiny shapes
// that cross the blocking edges. (Speed is never asserted.)
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "core/runtime.h"

// tools/bench_kernels.cpp belongs to the CLI, not the library: tests/CMakeLists.txt compiles
// it into the test binary and defines MINIGEN_TESTS_HAVE_BENCH. Without that, one failing
// case says so instead of a link error that would stop every other test.
#ifndef MINIGEN_TESTS_HAVE_BENCH
TEST_CASE("bench: tools/bench_kernels.cpp is compiled into the tests") {
    FAIL("tests/CMakeLists.txt must add tools/bench_kernels.cpp to minigen_tests and define MINIGEN_TESTS_HAVE_BENCH");
}
#else
#include "tools/bench_kernels.h"

using namespace mg::tools::bench;

TEST_CASE("bench: every CPU variant passes the bench's check on tiny shapes") {
    const int saved_threads = mg::num_threads();
    std::set<std::string> ops_seen;
    int checked = 0;
    for (int threads : {1, 2}) {
        mg::set_num_threads(threads);
        for (CaseSpec& spec : tiny_kernel_cases()) {
            std::unique_ptr<KernelCase> kc = spec.make();
            const std::vector<std::string> variants = cpu_f32_variants(kc->op);
            REQUIRE_MESSAGE(!variants.empty(), kc->op << " has no CPU float32 variant");
            for (const std::string& v : variants) {
                CAPTURE(kc->name);
                CAPTURE(kc->shape);
                CAPTURE(v);
                CAPTURE(threads);
                CheckResult r = kc->check(v);
                if (v == "reference") {
                    CHECK(r.status == "skipped");
                    continue;
                }
                CHECK_MESSAGE(r.status == "pass", "max relative error " << r.max_rel_error << " > " << r.tolerance
                                                                         << " " << r.note);
                CHECK(r.note.empty());  // tiny shapes compare the whole output
                ++checked;
            }
            ops_seen.insert(kc->op);
        }
    }
    mg::set_num_threads(saved_threads);
    // The tiny cases cover every op the workload cases time.
    for (const CaseSpec& spec : workload_kernel_cases(0)) CHECK_MESSAGE(ops_seen.count(spec.op), spec.op);
    CHECK(checked > 0);
}

TEST_CASE("bench: the check's error measure catches a wrong element, NaN and a wrong scale") {
    std::vector<float> ref = {1.0f, -2.0f, 4.0f, 0.5f};
    std::vector<float> y = ref;
    CHECK(max_rel_error(y.data(), ref.data(), 4) == 0.0);
    y[3] = 0.5f + 4e-3f;  // off by 1e-3 of the largest magnitude
    CHECK(max_rel_error(y.data(), ref.data(), 4) == doctest::Approx(1e-3).epsilon(1e-3));
    y[3] = NAN;
    CHECK(std::isinf(max_rel_error(y.data(), ref.data(), 4)));
    std::vector<float> zeros(4, 0.0f), ones(4, 1.0f);
    CHECK(std::isinf(max_rel_error(ones.data(), zeros.data(), 4)));
    CHECK(max_rel_error(zeros.data(), zeros.data(), 4) == 0.0);
}

TEST_CASE("bench: a reduced check says which part of the output it compared") {
    // A budget far below one row's work makes the GEMM check compare the first row only.
    for (CaseSpec& spec : workload_kernel_cases(1.0)) {
        if (spec.op != "gemm" || spec.shape != "256x256x256") continue;
        std::unique_ptr<KernelCase> kc = spec.make();
        for (const std::string& v : cpu_f32_variants("gemm")) {
            if (v == "reference") continue;
            CAPTURE(v);
            CheckResult r = kc->check(v);
            CHECK(r.status == "pass");
            CHECK(r.note == "rows 0..0 of 256");
        }
        CHECK(kc->reference_seconds() > 0);
    }
}

#endif  // MINIGEN_TESTS_HAVE_BENCH
