// CUDA reductions and random kernels against the CPU reference.
#include "kernels/random.h"
#include "kernels/reduce.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// ---- reductions ----------------------------------------------------------------------------

struct ReduceCase {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<int64_t> in_strides;  // of the input, per dim (a permuted layout is allowed)
    std::vector<int> reduced;         // dims folded away
};

size_t span_of(const ReduceCase& c) {
    int64_t last = 0;
    for (size_t d = 0; d < c.shape.size(); ++d) last += (c.shape[d] - 1) * c.in_strides[d];
    return size_t(last + 1);
}

ReduceArgs reduce_args(const ReduceCase& c) {
    ReduceArgs r;
    r.out_numel = 1;
    r.red_numel = 1;
    std::vector<int> kept;
    for (int d = 0; d < int(c.shape.size()); ++d)
        if (std::find(c.reduced.begin(), c.reduced.end(), d) == c.reduced.end()) kept.push_back(d);
    r.out_ndim = int(kept.size());
    int64_t stride = 1;
    for (int i = int(kept.size()) - 1; i >= 0; --i) {  // the output is dense over the kept dims
        r.out_sizes[i] = c.shape[kept[i]];
        r.out_strides[i] = stride;
        r.in_strides[i] = c.in_strides[kept[i]];
        stride *= c.shape[kept[i]];
        r.out_numel *= c.shape[kept[i]];
    }
    r.red_ndim = int(c.reduced.size());
    for (size_t i = 0; i < c.reduced.size(); ++i) {
        r.red_sizes[i] = c.shape[c.reduced[i]];
        r.red_strides[i] = c.in_strides[c.reduced[i]];
        r.red_numel *= c.shape[c.reduced[i]];
    }
    return r;
}

std::vector<ReduceCase> reduce_cases() {
    return {
        {"all of 100003", {100003}, {1}, {0}},
        {"rows [64, 1000] dim 1", {64, 1000}, {1000, 1}, {1}},
        {"columns [1000, 64] dim 0", {1000, 64}, {64, 1}, {0}},
        {"[8, 50, 30] dims 0, 2", {8, 50, 30}, {1500, 30, 1}, {0, 2}},
        {"long rows [3, 70000] dim 1", {3, 70000}, {70000, 1}, {1}},
        {"short rows [5000, 3] dim 1", {5000, 3}, {3, 1}, {1}},
        {"transposed [40, 60] dim 1", {40, 60}, {1, 40}, {1}},
    };
}

template <class T>
void check_reduce(OpTable<ReduceFn>& table, bool is_sum) {
    for_each_variant(table, dtype_of<T>::value, [&](const std::string& name, ReduceFn* fn, ReduceFn* ref) {
        for (const ReduceCase& c : reduce_cases()) {
            INFO("case ", c.name);
            const ReduceArgs r = reduce_args(c);
            const auto in = random_values<T>(span_of(c), -2, 2);
            auto want = sentinel<T>(size_t(r.out_numel));
            std::vector<T> magnitude;
            if (is_sum) {  // sum |x|: the scale of a sum's rounding error
                magnitude = sentinel<T>(size_t(r.out_numel));
                ref(r, magnitude.data(), absolute(in).data());
            }
            DeviceBuffer din(in), dout(want);
            ref(r, want.data(), in.data());
            fn(r, dout.get(), din.get());
            expect_close(table.name() + "[" + name + "] " + c.name, dout.download<T>(), want, rtol_for<T>(name),
                         magnitude);
        }
    });
}

TEST_CASE("cuda reductions: sum, max, min match the CPU reference") {
    check_reduce<float>(sum_table(), true);
    check_reduce<double>(sum_table(), true);
    check_reduce<float>(max_table(), false);
    check_reduce<double>(max_table(), false);
    check_reduce<float>(min_table(), false);
    check_reduce<double>(min_table(), false);
    check_reduce<int64_t>(sum_table(), true);  // exact
    check_reduce<int64_t>(max_table(), false);
    check_reduce<int64_t>(min_table(), false);
}

// ---- random -----------------------------------------------------------------------------------

// Uniform and Bernoulli draws must equal the CPU's bit for bit (the same Philox stream);
// normals may differ by the last bits of log/sin/cos.
template <class T>
void check_random(OpTable<RandomFn>& table, double a, double b, bool exact) {
    for_each_variant(table, dtype_of<T>::value, [&](const std::string& name, RandomFn* fn, RandomFn* ref) {
        for (int64_t n : {1, 3, 4, 1001, 65537}) {
            RandomArgs args;
            args.n = n;
            args.seed = 0x1234567890ABCDEFull + uint64_t(n);
            args.offset = uint64_t(n) * 7919;
            args.a = a;
            args.b = b;
            auto want = sentinel<T>(size_t(n) + 1);  // one past the end must stay untouched
            DeviceBuffer dout(want);
            ref(args, want.data());
            fn(args, dout.get());
            expect_close(table.name() + "[" + name + "] n=" + std::to_string(n), dout.download<T>(), want,
                         exact ? 0.0 : rtol_for<T>(name), {}, 1.0);
        }
    });
}

TEST_CASE("cuda random: the Philox stream matches the CPU") {
    check_random<float>(random_uniform_table(), -1.5, 2.5, true);
    check_random<double>(random_uniform_table(), -1.5, 2.5, true);
    check_random<float>(random_bernoulli_table(), 0.3, 0, true);
    check_random<double>(random_bernoulli_table(), 0.3, 0, true);
    check_random<float>(random_normal_table(), 0.5, 2.0, false);
    check_random<double>(random_normal_table(), 0.5, 2.0, false);
}

}  // namespace
}  // namespace mg::kernels::gpu_test
