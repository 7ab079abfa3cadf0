// The CUDA kernel tests: every CUDA variant of every op table against the CPU reference
// on random inputs, through the kernel-level API only (device.h buffers, registry calls).
//
// Without a usable GPU the program prints "skipped: <reason>" and exits 77, which ctest
// reports as skipped (SKIP_RETURN_CODE 77). This file holds main(), the coverage check
// and the elementwise tests; the other families are in the test_cuda_*.cpp beside it.
#define DOCTEST_CONFIG_IMPLEMENT
#include <cstdio>

#include "kernels/elementwise.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// ---- layouts: one Iter per case, the same for the CPU and the GPU --------------------------

struct Layout {
    std::string name;
    std::vector<int64_t> sizes;
    std::vector<std::vector<int64_t>> strides;  // per operand, [0] the output
    bool contiguous = false;
    int64_t offset = 0;  // added to every pointer: 1 element misaligns the vector loads
};

Iter iter_of(const Layout& l) {
    Iter it;
    it.ndim = int(l.sizes.size());
    it.numel = 1;
    for (size_t d = 0; d < l.sizes.size(); ++d) {
        it.sizes[d] = l.sizes[d];
        it.numel *= l.sizes[d];
        for (size_t o = 0; o < l.strides.size(); ++o) it.strides[o][d] = l.strides[o][d];
    }
    it.contiguous = l.contiguous;
    return it;
}

// Elements operand o spans (strides are non-negative here).
size_t extent(const Layout& l, size_t o) {
    int64_t last = 0;
    for (size_t d = 0; d < l.sizes.size(); ++d) last += (l.sizes[d] - 1) * l.strides[o][d];
    return size_t(last + 1 + l.offset);
}

// contiguous (with a tail of 3 after the packs of 4), misaligned, a transposed first
// input, a broadcast last input.
std::vector<Layout> layouts(size_t operands) {
    std::vector<Layout> out;
    auto same = [&](std::vector<int64_t> s) { return std::vector<std::vector<int64_t>>(operands, s); };
    out.push_back({"contiguous", {1031}, same({1}), true, 0});
    out.push_back({"misaligned", {1031}, same({1}), true, 1});
    Layout transposed{"transposed", {23, 19}, same({19, 1}), false, 0};
    transposed.strides[1] = {1, 23};
    out.push_back(transposed);
    Layout broadcast{"broadcast", {7, 11}, same({11, 1}), false, 0};
    broadcast.strides[operands - 1] = {0, 1};
    out.push_back(broadcast);
    return out;
}

// ---- unary ----------------------------------------------------------------------------------

template <class T>
void check_unary(OpTable<UnaryFn>& table, Scalars s, double lo, double hi) {
    for_each_variant(table, dtype_of<T>::value, [&](const std::string& name, UnaryFn* fn, UnaryFn* ref) {
        for (const Layout& l : layouts(2)) {
            const Iter it = iter_of(l);
            const auto in = random_values<T>(extent(l, 1), lo, hi);
            auto want = sentinel<T>(extent(l, 0));
            DeviceBuffer din(in), dout(want);
            ref(it, want.data() + l.offset, in.data() + l.offset, s);
            fn(it, dout.get<T>(l.offset), din.get<T>(l.offset), s);
            expect_close(table.name() + "[" + name + "] " + l.name, dout.download<T>(), want, rtol_for<T>(name), {},
                         1.0);
        }
    });
}

// Every op of kernels/elementwise_ops.h's unary list, on its sample range and Scalars.
template <class T>
void check_unary_tables() {
    constexpr bool integer = std::is_integral_v<T>;
    for_each_unary_op([](auto op, OpTable<UnaryFn>& table) {
        constexpr ew::OpInfo info = ew::op_info<decltype(op)>;
        if constexpr (!integer || info.dtypes != ew::Dtypes::floats)
            check_unary<T>(table, {info.a, info.b}, integer ? -1000 : info.lo, integer ? 1000 : info.hi);
    });
    if constexpr (!integer) check_unary<T>(pow_scalar_table(), {2.0, 0}, -3, 3);  // its x * x branch
}

TEST_CASE("cuda elementwise: unary ops match the CPU reference") {
    check_unary_tables<float>();
    check_unary_tables<double>();
    check_unary_tables<int64_t>();
}

// ---- binary and compare -----------------------------------------------------------------------

// Out is T for arithmetic, uint8_t for comparisons. Fn is BinaryFn, or BinaryScalarFn
// (the activation backward helpers that take Scalars s).
template <class T, class Out, class Fn>
void check_binary(OpTable<Fn>& table, double lo_a, double hi_a, double lo_b, double hi_b, bool integral,
                  Scalars s = {}) {
    auto call = [&](Fn* f, const Iter& it, void* out, const void* a, const void* b) {
        if constexpr (std::is_same_v<Fn, BinaryScalarFn>) f(it, out, a, b, s);
        else f(it, out, a, b);
    };
    for_each_variant(table, dtype_of<T>::value, [&](const std::string& name, Fn* fn, Fn* ref) {
        for (const Layout& l : layouts(3)) {
            const Iter it = iter_of(l);
            const auto a = random_values<T>(extent(l, 1), lo_a, hi_a, integral);
            const auto b = random_values<T>(extent(l, 2), lo_b, hi_b, integral);
            auto want = sentinel<Out>(extent(l, 0));
            DeviceBuffer da(a), db(b), dout(want);
            call(ref, it, want.data() + l.offset, a.data() + l.offset, b.data() + l.offset);
            call(fn, it, dout.get<Out>(l.offset), da.get<T>(l.offset), db.get<T>(l.offset));
            expect_close(table.name() + "[" + name + "] " + l.name, dout.download<Out>(), want, rtol_for<Out>(name),
                         {}, 1.0);
        }
    });
}

// T, or uint8_t for the comparisons.
template <class Op, class T> auto output_of() {
    if constexpr (std::is_invocable_v<Op, T, T>) return decltype(Op{}(T(), T())){};
    else return T{};
}

// Every op of the binary lists on its sample ranges (integers: +-50, or +-3 where ties matter).
template <class T>
void check_binary_tables() {
    constexpr bool integer = std::is_integral_v<T>;
    constexpr bool uint8 = std::is_same_v<T, uint8_t>;
    auto range = [](double lo, double hi, ew::Sample sample) {
        if constexpr (uint8) return std::pair<double, double>{0, 3};
        if constexpr (integer) return sample == ew::Sample::whole ? std::pair<double, double>{-3, 3}
                                                                  : std::pair<double, double>{-50, 50};
        return std::pair<double, double>{lo, hi};
    };
    auto check = [&](auto op, auto& table) {
        using Op = decltype(op);
        constexpr ew::OpInfo info = ew::op_info<Op>;
        if constexpr ((!integer || info.dtypes != ew::Dtypes::floats) &&
                      (!uint8 || info.dtypes == ew::Dtypes::floats_int64_uint8)) {
            const auto [alo, ahi] = range(info.lo, info.hi, info.sample);
            const auto [blo, bhi] = range(info.b_lo, info.b_hi, info.sample);
            check_binary<T, decltype(output_of<Op, T>())>(table, alo, ahi, blo, bhi,
                                                           integer || info.sample == ew::Sample::whole,
                                                           {info.a, info.b});
        }
    };
    for_each_binary_op(check);
    for_each_binary_scalar_op(check);
    if constexpr (!integer)  // relu's backward: leaky_relu's with slope 0
        check_binary<T, T>(leaky_relu_backward_table(), -3, 3, -3, 3, false, {0.0, 0});
}

TEST_CASE("cuda elementwise: binary, compare and activation backward ops match the CPU reference") {
    check_binary_tables<float>();
    check_binary_tables<double>();
    check_binary_tables<int64_t>();
    check_binary_tables<uint8_t>();
}

// ---- where, copy/cast, fill ---------------------------------------------------------------------

template <class T>
void check_where() {
    for_each_variant(where_table(), dtype_of<T>::value, [&](const std::string& name, WhereFn* fn, WhereFn* ref) {
        for (const Layout& l : layouts(4)) {
            const Iter it = iter_of(l);
            const auto cond = random_values<uint8_t>(extent(l, 1), 0, 1);
            const auto a = random_values<T>(extent(l, 2), -3, 3);
            const auto b = random_values<T>(extent(l, 3), -3, 3);
            auto want = sentinel<T>(extent(l, 0));
            DeviceBuffer dc(cond), da(a), db(b), dout(want);
            ref(it, want.data() + l.offset, cond.data() + l.offset, a.data() + l.offset, b.data() + l.offset);
            fn(it, dout.get<T>(l.offset), dc.get<uint8_t>(l.offset), da.get<T>(l.offset), db.get<T>(l.offset));
            expect_close("where[" + name + "] " + l.name, dout.download<T>(), want, 0.0);
        }
    });
}

template <class Out, class In>
void check_copy_from() {
    for_each_variant(copy_table(), dtype_of<Out>::value, [&](const std::string& name, CopyFn* fn, CopyFn* ref) {
        INFO("from ", std::string(dtype_name(dtype_of<In>::value)));
        for (const Layout& l : layouts(2)) {
            const Iter it = iter_of(l);
            // Non-negative and below 200: every cast is defined (float -> uint8 included).
            const auto in = random_values<In>(extent(l, 1), 0, std::is_integral_v<In> ? 199 : 199.9);
            auto want = sentinel<Out>(extent(l, 0));
            DeviceBuffer din(in), dout(want);
            ref(it, want.data() + l.offset, in.data() + l.offset, dtype_of<In>::value);
            fn(it, dout.get<Out>(l.offset), din.get<In>(l.offset), dtype_of<In>::value);
            expect_close("copy[" + name + "] " + l.name, dout.download<Out>(), want, 0.0);
        }
    });
}

template <class Out>
void check_copy() {
    check_copy_from<Out, float>();
    check_copy_from<Out, double>();
    check_copy_from<Out, int64_t>();
    check_copy_from<Out, uint8_t>();
}

template <class T>
void check_fill() {
    for_each_variant(fill_table(), dtype_of<T>::value, [&](const std::string& name, FillFn* fn, FillFn* ref) {
        std::vector<Layout> cases = {{"contiguous", {1031}, {{1}}, true, 0},
                                     {"misaligned", {1031}, {{1}}, true, 1},
                                     {"every other", {257}, {{2}}, false, 0}};
        for (const Layout& l : cases) {
            const Iter it = iter_of(l);
            auto want = sentinel<T>(extent(l, 0));
            DeviceBuffer dout(want);
            ref(it, want.data() + l.offset, 3.75);
            fn(it, dout.get<T>(l.offset), 3.75);
            expect_close("fill[" + name + "] " + l.name, dout.download<T>(), want, 0.0);
        }
    });
}

TEST_CASE("cuda elementwise: where, copy/cast and fill match the CPU reference") {
    check_where<float>();
    check_where<double>();
    check_where<int64_t>();
    check_copy<float>();
    check_copy<double>();
    check_copy<int64_t>();
    check_copy<uint8_t>();
    check_fill<float>();
    check_fill<double>();
    check_fill<int64_t>();
    check_fill<uint8_t>();
}

}  // namespace
}  // namespace mg::kernels::gpu_test

// Last in the file order that doctest runs: every CUDA variant in the registry must have
// been checked by one of the tests above (in this file or the test_cuda_*.cpp ones).
TEST_CASE("zz cuda coverage: every registered CUDA variant was checked") {
    using namespace mg::kernels;
    std::string missing;
    for (const VariantInfo& v : list_variants())
        if (v.device == mg::Device::CUDA && !gpu_test::checked_variants().count({v.op, v.name, v.dtype}))
            missing += " " + v.op + "[" + v.name + "] " + std::string(mg::dtype_name(v.dtype)) + ";";
    CHECK_MESSAGE(missing.empty(), "CUDA variants no test checked (or without a CPU kernel to compare with):",
                  missing);
}

int main(int argc, char** argv) {
    using namespace mg::kernels;
    // Listing the cases needs no GPU; running them does.
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing |= std::string(argv[i]).rfind("--list", 0) == 0 || std::string(argv[i]) == "-ltc";
    if (!cuda::available() && !listing) {
        std::printf("skipped: %s\n", cuda::unavailable_reason().c_str());
        return 77;
    }
    if (cuda::available()) std::printf("CUDA device 0: %s\n", cuda::device_name(0).c_str());
    doctest::Context context;
    context.setOption("order-by", "name");  // the coverage case ("zz ...") runs last
    context.applyCommandLine(argc, argv);
    return context.run();
}
