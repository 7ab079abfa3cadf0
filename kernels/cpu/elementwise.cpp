// CPU elementwise kernels.
//
//   "reference": one serial loop; strided operands walk an N-d index.
//   "omp":       the same math; a dense (contiguous) walk is split across OpenMP
//                threads above kParallelMin elements and written as a plain indexed
//                loop that the compiler vectorises. Small tensors stay serial: thread
//                start-up costs microseconds, more than a 16k-element op takes.
//   "avx2", "avx512" (exp, sigmoid, tanh, softplus, leaky_relu and its backward): the dense loop of
//                kernels/cpu/elementwise_simd.h (vector exp, masked tails, per-op thread
//                thresholds); strided operands take the "omp" walk.
// No kernel here reads the FP exception flags. With GCC's default -ftrapping-math a select
// between two computed values (leaky_relu's x > 0 ? x : a*x) is not if-converted, since an
// operation on the unselected side might raise a flag that the branch would not: the loop
// stays scalar and branchy (75 ms on 16M floats instead of 3.5). The pragma comes before the
// includes so that the inline library functions (std::exp, std::abs) share the option and
// still inline into the loops.
#pragma GCC optimize("no-trapping-math")

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <type_traits>

#include <omp.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/elementwise.h"

namespace mg::kernels {

#if defined(__x86_64__)
// Dense loops of elementwise_avx512.cpp / elementwise_avx2.cpp: n elements, no strides.
using DenseUnaryFn = void(int64_t n, void* out, const void* in, Scalars s);
using DenseBinaryScalarFn = void(int64_t n, void* out, const void* a, const void* b, Scalars s);
#define MG_DECLARE_DENSE_ISA(isa)                                                                \
    DenseUnaryFn exp_dense_##isa##_f32, exp_dense_##isa##_f64, sigmoid_dense_##isa##_f32,        \
        sigmoid_dense_##isa##_f64, tanh_dense_##isa##_f32, softplus_dense_##isa##_f32,           \
        leaky_relu_dense_##isa##_f32,                                                            \
        leaky_relu_dense_##isa##_f64;                                                            \
    DenseBinaryScalarFn leaky_relu_backward_dense_##isa##_f32, leaky_relu_backward_dense_##isa##_f64;
MG_DECLARE_DENSE_ISA(avx512)
MG_DECLARE_DENSE_ISA(avx2)
#undef MG_DECLARE_DENSE_ISA
#endif

namespace {

constexpr int64_t kParallelMin = 1 << 15;

// f(e, offsets...) for the elements e .. e+len-1 of one innermost row, which steps each
// operand k by s[k]. The common stride patterns get their own loop, so that the compiler
// sees unit or zero steps and vectorises (a bias [1, C, 1, 1] added to [N, C, H, W] is
// the rows {1, 1, 0}); any other pattern takes the general multiply.
template <int N, class F>
inline void walk_row(int64_t e, int64_t len, const int64_t* off, const int64_t* s, F& f) {
    const int64_t o0 = off[0], o1 = off[1], o2 = off[2];
    const bool out_unit = s[0] == 1;
    const bool in1_unit = N < 2 || s[1] == 1, in1_zero = N < 2 || s[1] == 0;
    const bool in2_unit = N < 3 || s[2] == 1, in2_zero = N < 3 || s[2] == 0;
    if (out_unit && in1_unit && in2_unit) {
        for (int64_t i = 0; i < len; ++i) f(e + i, o0 + i, o1 + i, o2 + i);
    } else if (out_unit && in1_unit && in2_zero) {
        for (int64_t i = 0; i < len; ++i) f(e + i, o0 + i, o1 + i, o2);
    } else if (out_unit && in1_zero && in2_unit) {
        for (int64_t i = 0; i < len; ++i) f(e + i, o0 + i, o1, o2 + i);
    } else {
        const int64_t s0 = s[0], s1 = s[1], s2 = s[2];
        for (int64_t i = 0; i < len; ++i) f(e + i, o0 + i * s0, o1 + i * s1, o2 + i * s2);
    }
}

// Calls f(i, offsets...) for every element, offsets in elements per operand.
template <int N, bool Parallel, class F>
void walk(const Iter& it, F&& f) {
    const int64_t n = it.numel;
    if (it.contiguous) {
        if constexpr (Parallel) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
            for (int64_t i = 0; i < n; ++i) f(i, i, i, i);
        } else {
            for (int64_t i = 0; i < n; ++i) f(i, i, i, i);
        }
        return;
    }
    // Strided: split the element range into chunks per thread; each walks its own counter
    // over the outer dims and hands whole (or its chunk's partial) innermost rows to walk_row.
    const int nd = it.ndim;
    auto run_range = [&](int64_t begin, int64_t end) {
        if (nd == 0) {
            if (begin < end) f(0, 0, 0, 0);
            return;
        }
        int64_t idx[kMaxDims] = {};
        int64_t off[4] = {};
        int64_t rem = begin;
        for (int d = nd - 1; d >= 0; --d) {
            idx[d] = rem % it.sizes[d];
            rem /= it.sizes[d];
            for (int k = 0; k < N; ++k) off[k] += idx[d] * it.strides[k][d];
        }
        const int last = nd - 1;
        const int64_t inner = it.sizes[last];
        const int64_t step[3] = {it.strides[0][last], N > 1 ? it.strides[1][last] : 0, N > 2 ? it.strides[2][last] : 0};
        for (int64_t e = begin; e < end;) {
            const int64_t len = std::min(inner - idx[last], end - e);
            walk_row<N>(e, len, off, step, f);
            e += len;
            idx[last] += len;
            for (int k = 0; k < N; ++k) off[k] += len * step[k];
            if (idx[last] < inner) break;  // only the chunk's end stops inside a row
            for (int k = 0; k < N; ++k) off[k] -= inner * step[k];
            idx[last] = 0;
            for (int d = last - 1; d >= 0; --d) {
                ++idx[d];
                for (int k = 0; k < N; ++k) off[k] += it.strides[k][d];
                if (idx[d] < it.sizes[d]) break;
                for (int k = 0; k < N; ++k) off[k] -= it.strides[k][d] * it.sizes[d];
                idx[d] = 0;
            }
        }
    };
    if constexpr (Parallel) {
        if (n >= kParallelMin) {
#pragma omp parallel
            {
                int t = omp_get_thread_num(), nt = omp_get_num_threads();
                int64_t chunk = (n + nt - 1) / nt;
                int64_t b = std::min(n, chunk * t), e = std::min(n, b + chunk);
                if (b < e) run_range(b, e);
            }
            return;
        }
    }
    run_range(0, n);
}


// ---- unary ----------------------------------------------------------------------
template <class T> struct Neg { T operator()(T x, Scalars) const { return -x; } };
template <class T> struct Exp { T operator()(T x, Scalars) const { return std::exp(x); } };
template <class T> struct Log { T operator()(T x, Scalars) const { return std::log(x); } };
template <class T> struct Sqrt { T operator()(T x, Scalars) const { return std::sqrt(x); } };
template <class T> struct Abs { T operator()(T x, Scalars) const { return std::abs(x); } };
template <class T> struct Sign { T operator()(T x, Scalars) const { return T((x > 0) - (x < 0)); } };
template <class T> struct Tanh { T operator()(T x, Scalars) const { return std::tanh(x); } };
// sin and cos have no vector variant: a polynomial needs an exact argument reduction to
// stay accurate for large |x|, and libm's scalar loop is fast enough for toy data.
template <class T> struct Sin { T operator()(T x, Scalars) const { return std::sin(x); } };
template <class T> struct Cos { T operator()(T x, Scalars) const { return std::cos(x); } };
template <class T> struct Sigmoid {
    // Two branches keep exp() from overflowing for large |x|.
    T operator()(T x, Scalars) const {
        if (x >= 0) return T(1) / (T(1) + std::exp(-x));
        T e = std::exp(x);
        return e / (T(1) + e);
    }
};
template <class T> struct Relu { T operator()(T x, Scalars) const { return x > 0 ? x : T(0); } };
// Both sides are computed and one is selected, which vectorises (see the pragma above).
template <class T> struct LeakyRelu {
    T operator()(T x, Scalars s) const {
        T scaled = T(s.a) * x;
        return x > 0 ? x : scaled;
    }
};
template <class T> struct Elu { T operator()(T x, Scalars s) const { return x > 0 ? x : T(s.a) * std::expm1(x); } };
template <class T> struct Softplus {
    // ln(1 + e^x) = max(x, 0) + log1p(e^-|x|): exact and never overflows.
    T operator()(T x, Scalars) const { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); }
};
template <class T> struct Erf { T operator()(T x, Scalars) const { return std::erf(x); } };
template <class T> struct Gelu {
    T operator()(T x, Scalars) const { return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440))); }
};
template <class T> struct Clamp { T operator()(T x, Scalars s) const { return std::min(std::max(x, T(s.a)), T(s.b)); } };
template <class T> struct PowScalar {
    T operator()(T x, Scalars s) const {
        if (s.a == 2.0) return x * x;  // the common case, exact and fast
        return std::pow(x, T(s.a));
    }
};
template <class T> struct Affine { T operator()(T x, Scalars s) const { return T(s.a) * x + T(s.b); } };

// Dense operands get a plain indexed loop over local restrict pointers, which the
// compiler vectorises (through a lambda, stores to o[] could alias the captured
// pointers and every iteration would reload them). Exact aliasing (out == in, the
// in-place ops) is still correct: each element is read before it is written.
template <template <class> class Op, class T, bool Parallel>
void unary(const Iter& it, void* out, const void* in, Scalars s) {
    Op<T> op;
    if (it.contiguous) {
        T* __restrict o = static_cast<T*>(out);
        const T* __restrict x = static_cast<const T*>(in);
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], s);
        return;
    }
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(in);
    walk<2, Parallel>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t) { o[oo] = op(x[ox], s); });
}

// ---- binary -----------------------------------------------------------------------
template <class T> struct Add { T operator()(T a, T b) const { return a + b; } };
template <class T> struct Sub { T operator()(T a, T b) const { return a - b; } };
template <class T> struct Mul { T operator()(T a, T b) const { return a * b; } };
template <class T> struct Div { T operator()(T a, T b) const { return a / b; } };
template <class T> struct Pow { T operator()(T a, T b) const { return std::pow(a, b); } };
template <class T> struct Maximum { T operator()(T a, T b) const { return (a >= b || a != a) ? a : b; } };
template <class T> struct Minimum { T operator()(T a, T b) const { return (a <= b || a != a) ? a : b; } };
template <class T> struct TanhBackward { T operator()(T y, T g) const { return g * (T(1) - y * y); } };
template <class T> struct SigmoidBackward { T operator()(T y, T g) const { return g * (y * (T(1) - y)); } };
template <class T> struct Eq { uint8_t operator()(T a, T b) const { return a == b; } };
template <class T> struct Ne { uint8_t operator()(T a, T b) const { return a != b; } };
template <class T> struct Gt { uint8_t operator()(T a, T b) const { return a > b; } };
template <class T> struct Ge { uint8_t operator()(T a, T b) const { return a >= b; } };
template <class T> struct Lt { uint8_t operator()(T a, T b) const { return a < b; } };
template <class T> struct Le { uint8_t operator()(T a, T b) const { return a <= b; } };

template <template <class> class Op, class T, bool Parallel>
void binary(const Iter& it, void* out, const void* a, const void* b) {
    using R = decltype(Op<T>()(T(), T()));  // T, or uint8_t for comparisons
    Op<T> op;
    if (it.contiguous) {
        R* __restrict o = static_cast<R*>(out);
        const T* __restrict x = static_cast<const T*>(a);
        const T* __restrict y = static_cast<const T*>(b);
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i]);
        return;
    }
    R* o = static_cast<R*>(out);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    walk<3, Parallel>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t oy) { o[oo] = op(x[ox], y[oy]); });
}

// gx = a > 0 ? g : slope * g, the backward of leaky_relu (a = x) and relu (a = y, slope 0).
template <class T> struct LeakyReluBackward {
    T operator()(T a, T g, Scalars s) const {
        T scaled = T(s.a) * g;  // both sides, as in LeakyRelu
        return a > 0 ? g : scaled;
    }
};

template <template <class> class Op, class T, bool Parallel>
void binary_scalar(const Iter& it, void* out, const void* a, const void* b, Scalars s) {
    Op<T> op;
    if (it.contiguous) {
        T* __restrict o = static_cast<T*>(out);
        const T* __restrict x = static_cast<const T*>(a);
        const T* __restrict y = static_cast<const T*>(b);
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i], s);
        return;
    }
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    walk<3, Parallel>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t oy) { o[oo] = op(x[ox], y[oy], s); });
}

#if defined(__x86_64__)
// A vector variant: dense operands go to the ISA file's loop, strided ones to the "omp" walk.
template <template <class> class Op, class T, DenseUnaryFn* Dense>
void unary_dense_or_walk(const Iter& it, void* out, const void* in, Scalars s) {
    if (it.contiguous) Dense(it.numel, out, in, s);
    else unary<Op, T, true>(it, out, in, s);
}
template <template <class> class Op, class T, DenseBinaryScalarFn* Dense>
void binary_scalar_dense_or_walk(const Iter& it, void* out, const void* a, const void* b, Scalars s) {
    if (it.contiguous) Dense(it.numel, out, a, b, s);
    else binary_scalar<Op, T, true>(it, out, a, b, s);
}

void add_vector_variants() {
    constexpr auto kCpu = Device::CPU;
    constexpr auto f32 = DType::Float32;
    constexpr auto f64 = DType::Float64;
#define MG_REGISTER_DENSE_ISA(isa, priority, lanes)                                                                  \
    exp_table().add(#isa, kCpu, f32, &unary_dense_or_walk<Exp, float, &exp_dense_##isa##_f32>, priority,           \
                    lanes " lanes, polynomial exp (~1 ulp)");                                                         \
    exp_table().add(#isa, kCpu, f64, &unary_dense_or_walk<Exp, double, &exp_dense_##isa##_f64>, priority,          \
                    lanes " lanes, polynomial exp (~1 ulp)");                                                         \
    sigmoid_table().add(#isa, kCpu, f32, &unary_dense_or_walk<Sigmoid, float, &sigmoid_dense_##isa##_f32>,         \
                        priority, lanes " lanes, 1/(1+e^-|x|) with the vector exp");                                 \
    sigmoid_table().add(#isa, kCpu, f64, &unary_dense_or_walk<Sigmoid, double, &sigmoid_dense_##isa##_f64>,        \
                        priority, lanes " lanes, 1/(1+e^-|x|) with the vector exp");                                 \
    tanh_table().add(#isa, kCpu, f32, &unary_dense_or_walk<Tanh, float, &tanh_dense_##isa##_f32>, priority,        \
                     lanes " lanes, odd polynomial below 0.625, else 1 - 2/(e^2x + 1)");                             \
    softplus_table().add(#isa, kCpu, f32, &unary_dense_or_walk<Softplus, float, &softplus_dense_##isa##_f32>,      \
                         priority, lanes " lanes, max(x, 0) + log1p(e^-|x|) with the vector exp and a log polynomial"); \
    leaky_relu_table().add(#isa, kCpu, f32, &unary_dense_or_walk<LeakyRelu, float, &leaky_relu_dense_##isa##_f32>, \
                           priority, lanes " lanes, compare-and-select, threads above 128k elements");              \
    leaky_relu_table().add(#isa, kCpu, f64,                                                                          \
                           &unary_dense_or_walk<LeakyRelu, double, &leaky_relu_dense_##isa##_f64>, priority,         \
                           lanes " lanes, compare-and-select, threads above 128k elements");                        \
    leaky_relu_backward_table().add(                                                                                 \
        #isa, kCpu, f32,                                                                                             \
        &binary_scalar_dense_or_walk<LeakyReluBackward, float, &leaky_relu_backward_dense_##isa##_f32>, priority,    \
        lanes " lanes, compare-and-select, threads above 128k elements");                                            \
    leaky_relu_backward_table().add(                                                                                 \
        #isa, kCpu, f64,                                                                                             \
        &binary_scalar_dense_or_walk<LeakyReluBackward, double, &leaky_relu_backward_dense_##isa##_f64>, priority,   \
        lanes " lanes, compare-and-select, threads above 128k elements");
    if (cpu::has_avx2_fma()) {
        MG_REGISTER_DENSE_ISA(avx2, 15, "AVX2, 8 float / 4 double")
    }
    if (cpu::has_avx512()) {
        MG_REGISTER_DENSE_ISA(avx512, 20, "AVX-512, 16 float / 8 double")
    }
#undef MG_REGISTER_DENSE_ISA
}
#endif

template <class T, bool Parallel>
void where_kernel(const Iter& it, void* out, const void* cond, const void* a, const void* b) {
    // Four operands: walk gives three offsets, so the condition uses its own strides via a second walk index.
    T* o = static_cast<T*>(out);
    const uint8_t* c = static_cast<const uint8_t*>(cond);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    if (it.contiguous) {
        T* __restrict ro = o;
        const uint8_t* __restrict rc = c;
        const T* __restrict rx = x;
        const T* __restrict ry = y;
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) ro[i] = rc[i] ? rx[i] : ry[i];
        return;
    }
    int64_t idx[kMaxDims] = {};
    for (int64_t e = 0; e < it.numel; ++e) {
        int64_t off[4] = {};
        for (int d = 0; d < it.ndim; ++d)
            for (int k = 0; k < 4; ++k) off[k] += idx[d] * it.strides[k][d];
        o[off[0]] = c[off[1]] ? x[off[2]] : y[off[3]];
        for (int d = it.ndim - 1; d >= 0; --d) {
            if (++idx[d] < it.sizes[d]) break;
            idx[d] = 0;
        }
    }
}

template <class To, class From>
void copy_typed(const Iter& it, To* o, const From* x) {
    if (it.contiguous) {
        To* __restrict ro = o;
        const From* __restrict rx = x;
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) ro[i] = static_cast<To>(rx[i]);
        return;
    }
    walk<2, true>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t) { o[oo] = static_cast<To>(x[ox]); });
}
template <class To> void copy_kernel(const Iter& it, void* out, const void* in, DType in_dtype) {
    To* o = static_cast<To*>(out);
    if (it.contiguous && in_dtype == dtype_of<To>::value) {
        std::memcpy(out, in, size_t(it.numel) * sizeof(To));
        return;
    }
    switch (in_dtype) {
        case DType::Float32: return copy_typed(it, o, static_cast<const float*>(in));
        case DType::Float64: return copy_typed(it, o, static_cast<const double*>(in));
        case DType::Int64: return copy_typed(it, o, static_cast<const int64_t*>(in));
        case DType::UInt8: return copy_typed(it, o, static_cast<const uint8_t*>(in));
    }
}
template <class T> void fill_kernel(const Iter& it, void* out, double value) {
    T* o = static_cast<T*>(out);
    T v = static_cast<T>(value);
    walk<1, true>(it, [&](int64_t, int64_t oo, int64_t, int64_t) { o[oo] = v; });
}

template <template <class> class Op>
void add_unary(OpTable<UnaryFn>& table) {
    table.add("reference", Device::CPU, DType::Float32, &unary<Op, float, false>, 0, "serial loop");
    table.add("reference", Device::CPU, DType::Float64, &unary<Op, double, false>, 0, "serial loop");
    table.add("omp", Device::CPU, DType::Float32, &unary<Op, float, true>, 10, "OpenMP threads above 32k elements, vectorised dense loop");
    table.add("omp", Device::CPU, DType::Float64, &unary<Op, double, true>, 10, "OpenMP threads above 32k elements, vectorised dense loop");
}
template <template <class> class Op>
void add_binary(OpTable<BinaryFn>& table, bool with_int64) {
    table.add("reference", Device::CPU, DType::Float32, &binary<Op, float, false>, 0, "serial loop");
    table.add("reference", Device::CPU, DType::Float64, &binary<Op, double, false>, 0, "serial loop");
    table.add("omp", Device::CPU, DType::Float32, &binary<Op, float, true>, 10, "OpenMP threads above 32k elements, vectorised dense loop");
    table.add("omp", Device::CPU, DType::Float64, &binary<Op, double, true>, 10, "OpenMP threads above 32k elements, vectorised dense loop");
    if (with_int64) table.add("reference", Device::CPU, DType::Int64, &binary<Op, int64_t, false>, 0, "serial loop");
}

}  // namespace

void register_cpu_elementwise() {
    add_unary<Neg>(neg_table());
    add_unary<Exp>(exp_table());
    add_unary<Log>(log_table());
    add_unary<Sqrt>(sqrt_table());
    add_unary<Abs>(abs_table());
    add_unary<Sign>(sign_table());
    add_unary<Tanh>(tanh_table());
    add_unary<Sin>(sin_table());
    add_unary<Cos>(cos_table());
    add_unary<Sigmoid>(sigmoid_table());
    add_unary<Relu>(relu_table());
    add_unary<LeakyRelu>(leaky_relu_table());
    add_unary<Elu>(elu_table());
    add_unary<Softplus>(softplus_table());
    add_unary<Erf>(erf_table());
    add_unary<Gelu>(gelu_table());
    add_unary<Clamp>(clamp_table());
    add_unary<PowScalar>(pow_scalar_table());
    add_unary<Affine>(affine_table());
    neg_table().add("reference", Device::CPU, DType::Int64, &unary<Neg, int64_t, false>, 0, "serial loop");
    affine_table().add("reference", Device::CPU, DType::Int64, &unary<Affine, int64_t, false>, 0, "serial loop");

    add_binary<Add>(add_table(), true);
    add_binary<Sub>(sub_table(), true);
    add_binary<Mul>(mul_table(), true);
    add_binary<Div>(div_table(), false);
    add_binary<Pow>(pow_table(), false);
    add_binary<Maximum>(maximum_table(), true);
    add_binary<Minimum>(minimum_table(), true);
    add_binary<Eq>(eq_table(), true);
    add_binary<Ne>(ne_table(), true);
    add_binary<Gt>(gt_table(), true);
    add_binary<Ge>(ge_table(), true);
    add_binary<Lt>(lt_table(), true);
    add_binary<Le>(le_table(), true);
    eq_table().add("reference", Device::CPU, DType::UInt8, &binary<Eq, uint8_t, false>, 0, "serial loop");
    ne_table().add("reference", Device::CPU, DType::UInt8, &binary<Ne, uint8_t, false>, 0, "serial loop");

    add_binary<TanhBackward>(tanh_backward_table(), false);
    add_binary<SigmoidBackward>(sigmoid_backward_table(), false);
    for (auto [dt, ref, omp] : {std::tuple{DType::Float32, &binary_scalar<LeakyReluBackward, float, false>,
                                           &binary_scalar<LeakyReluBackward, float, true>},
                                std::tuple{DType::Float64, &binary_scalar<LeakyReluBackward, double, false>,
                                           &binary_scalar<LeakyReluBackward, double, true>}}) {
        leaky_relu_backward_table().add("reference", Device::CPU, dt, ref, 0, "serial loop");
        leaky_relu_backward_table().add("omp", Device::CPU, dt, omp, 10,
                                        "OpenMP threads above 32k elements, vectorised dense loop");
    }
#if defined(__x86_64__)
    add_vector_variants();
#endif

    where_table().add("reference", Device::CPU, DType::Float32, &where_kernel<float, false>, 0, "serial loop");
    where_table().add("reference", Device::CPU, DType::Float64, &where_kernel<double, false>, 0, "serial loop");
    where_table().add("omp", Device::CPU, DType::Float32, &where_kernel<float, true>, 10, "OpenMP threads above 32k elements, vectorised dense loop");
    where_table().add("omp", Device::CPU, DType::Float64, &where_kernel<double, true>, 10, "OpenMP threads above 32k elements, vectorised dense loop");
    where_table().add("reference", Device::CPU, DType::Int64, &where_kernel<int64_t, false>, 0, "serial loop");

    copy_table().add("reference", Device::CPU, DType::Float32, &copy_kernel<float>, 0, "strided copy/cast");
    copy_table().add("reference", Device::CPU, DType::Float64, &copy_kernel<double>, 0, "strided copy/cast");
    copy_table().add("reference", Device::CPU, DType::Int64, &copy_kernel<int64_t>, 0, "strided copy/cast");
    copy_table().add("reference", Device::CPU, DType::UInt8, &copy_kernel<uint8_t>, 0, "strided copy/cast");
    fill_table().add("reference", Device::CPU, DType::Float32, &fill_kernel<float>, 0, "strided fill");
    fill_table().add("reference", Device::CPU, DType::Float64, &fill_kernel<double>, 0, "strided fill");
    fill_table().add("reference", Device::CPU, DType::Int64, &fill_kernel<int64_t>, 0, "strided fill");
    fill_table().add("reference", Device::CPU, DType::UInt8, &fill_kernel<uint8_t>, 0, "strided fill");
}

}  // namespace mg::kernels
