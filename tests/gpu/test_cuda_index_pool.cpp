// CUDA index and pooling kernels against the CPU reference.
#include "kernels/index.h"
#include "kernels/pool.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// ---- index ------------------------------------------------------------------------------------

// Indices drawn with repetition, so the scatters (put_along, index_add) meet duplicates.
std::vector<int64_t> random_indices(size_t n, int64_t bound) { return random_values<int64_t>(n, 0, double(bound - 1)); }

template <class T>
void check_gathers() {
    const int64_t rows = 7, cols = 13, k = 9, v = 11, d = 5, picks = 23;
    for_each_variant(take_along_table(), dtype_of<T>::value,
                     [&](const std::string& name, TakeAlongFn* fn, TakeAlongFn* ref) {
                         const auto x = random_values<T>(size_t(rows * cols), -3, 3);
                         const auto idx = random_indices(size_t(rows * k), cols);
                         auto want = sentinel<T>(size_t(rows * k));
                         DeviceBuffer dx(x), didx(idx), dy(want);
                         ref(rows, cols, k, x.data(), idx.data(), want.data());
                         fn(rows, cols, k, dx.get(), didx.get<int64_t>(), dy.get());
                         expect_close("take_along[" + name + "]", dy.download<T>(), want, 0.0);
                     });
    for_each_variant(index_select_table(), dtype_of<T>::value,
                     [&](const std::string& name, IndexSelectFn* fn, IndexSelectFn* ref) {
                         const auto x = random_values<T>(size_t(v * d), -3, 3);
                         const auto idx = random_indices(size_t(picks), v);
                         auto want = sentinel<T>(size_t(picks * d));
                         DeviceBuffer dx(x), didx(idx), dy(want);
                         ref(v, d, picks, x.data(), idx.data(), want.data());
                         fn(v, d, picks, dx.get(), didx.get<int64_t>(), dy.get());
                         expect_close("index_select[" + name + "]", dy.download<T>(), want, 0.0);
                     });
}

template <class T>
void check_scatters() {
    struct Shape {
        int64_t a, b, k;  // put_along: rows, cols, k; index_add: v, d, k
    };
    for (Shape s : {Shape{7, 13, 9}, Shape{3, 5, 0}, Shape{40, 3, 50}}) {
        INFO("shape ", s.a, "x", s.b, " k=", s.k);
        const auto call = [&](auto* kernel, auto g, auto idx, auto x) { kernel(s.a, s.b, s.k, g, idx, x); };
        for_each_variant(
            put_along_table(), dtype_of<T>::value, [&](const std::string& name, PutAlongFn* fn, PutAlongFn* ref) {
                const auto g = random_values<T>(size_t(s.a * s.k), -3, 3);
                const auto idx = random_indices(size_t(s.a * s.k), s.b);
                check_two_input_variant<T>("put_along[" + name + "]", rtol_for<T>(name), size_t(s.a * s.b), fn, ref,
                                           g, absolute(g), idx, idx, call);
            });
        for_each_variant(
            index_add_table(), dtype_of<T>::value, [&](const std::string& name, IndexAddFn* fn, IndexAddFn* ref) {
                const auto g = random_values<T>(size_t(s.k * s.b), -3, 3);
                const auto idx = random_indices(size_t(s.k), s.a);
                check_two_input_variant<T>("index_add[" + name + "]", rtol_for<T>(name), size_t(s.a * s.b), fn, ref,
                                           g, absolute(g), idx, idx, call);
            });
    }
}

TEST_CASE("cuda index: gathers and scatter-adds match the CPU reference") {
    check_gathers<float>();
    check_gathers<double>();
    check_gathers<int64_t>();
    check_scatters<float>();
    check_scatters<double>();
    check_scatters<int64_t>();
}

// ---- pooling ----------------------------------------------------------------------------------

Pool2dShape pool_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t stride, int64_t pad) {
    Pool2dShape s;
    s.n = n, s.c = c, s.h = h, s.w = w;
    s.kh = s.kw = k;
    s.stride_h = s.stride_w = stride;
    s.pad_h = s.pad_w = pad;
    s.oh = (h + 2 * pad - k) / stride + 1;
    s.ow = (w + 2 * pad - k) / stride + 1;
    return s;
}

std::vector<Pool2dShape> pool_shapes() {
    return {pool_shape(2, 3, 9, 9, 3, 2, 1), pool_shape(2, 2, 8, 8, 2, 2, 0), pool_shape(1, 4, 7, 5, 3, 1, 1),
            pool_shape(3, 2, 28, 28, 2, 2, 0)};
}

template <class T>
void check_pool() {
    constexpr DType t = dtype_of<T>::value;
    for (const Pool2dShape& s : pool_shapes()) {
        INFO("pool ", s.n, "x", s.c, "x", s.h, "x", s.w, " k", s.kh, " s", s.stride_h, " p", s.pad_h);
        const size_t in_size = size_t(s.n * s.c * s.h * s.w), out_size = size_t(s.n * s.c * s.oh * s.ow);
        const auto x = random_values<T>(in_size, -3, 3);
        const auto gy = random_values<T>(out_size, -3, 3);
        // The CPU forward's argmax feeds both backward kernels.
        std::vector<T> y_cpu(out_size);
        std::vector<int64_t> argmax(out_size);
        max_pool2d_forward_table().get("reference", Device::CPU, t)(s, x.data(), y_cpu.data(), argmax.data());

        for_each_variant(max_pool2d_forward_table(), t,
                         [&](const std::string& name, MaxPool2dForwardFn* fn, MaxPool2dForwardFn* ref) {
                             auto want = sentinel<T>(out_size);
                             auto want_arg = sentinel<int64_t>(out_size);
                             DeviceBuffer dx(x), dy(want), darg(want_arg);
                             ref(s, x.data(), want.data(), want_arg.data());
                             fn(s, dx.get(), dy.get(), darg.get<int64_t>());
                             expect_close("max_pool2d_forward[" + name + "] y", dy.download<T>(), want, 0.0);
                             expect_close("max_pool2d_forward[" + name + "] argmax", darg.download<int64_t>(), want_arg,
                                          0.0);
                         });
        for_each_variant(max_pool2d_backward_table(), t,
                         [&](const std::string& name, MaxPool2dBackwardFn* fn, MaxPool2dBackwardFn* ref) {
                             auto want = sentinel<T>(in_size);
                             DeviceBuffer dgy(gy), darg(argmax), dgx(want);
                             ref(s, gy.data(), argmax.data(), want.data());
                             fn(s, dgy.get(), darg.get<int64_t>(), dgx.get());
                             expect_close("max_pool2d_backward[" + name + "]", dgx.download<T>(), want,
                                          rtol_for<T>(name), {}, 1.0);
                         });
        for_each_variant(avg_pool2d_forward_table(), t,
                         [&](const std::string& name, AvgPool2dForwardFn* fn, AvgPool2dForwardFn* ref) {
                             auto want = sentinel<T>(out_size);
                             DeviceBuffer dx(x), dy(want);
                             ref(s, x.data(), want.data());
                             fn(s, dx.get(), dy.get());
                             expect_close("avg_pool2d_forward[" + name + "]", dy.download<T>(), want, rtol_for<T>(name),
                                          {}, 1.0);
                         });
        for_each_variant(avg_pool2d_backward_table(), t,
                         [&](const std::string& name, AvgPool2dBackwardFn* fn, AvgPool2dBackwardFn* ref) {
                             auto want = sentinel<T>(in_size);
                             DeviceBuffer dgy(gy), dgx(want);
                             ref(s, gy.data(), want.data());
                             fn(s, dgy.get(), dgx.get());
                             expect_close("avg_pool2d_backward[" + name + "]", dgx.download<T>(), want,
                                          rtol_for<T>(name), {}, 1.0);
                         });
    }
}

TEST_CASE("cuda pooling: max and avg, forward and backward, match the CPU reference") {
    check_pool<float>();
    check_pool<double>();
}

}  // namespace
}  // namespace mg::kernels::gpu_test
