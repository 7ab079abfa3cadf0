// CPU elementwise kernels.
//
//   "reference": one serial loop; strided operands walk an N-d index.
//   "omp":       the same math; a dense (contiguous) walk is split across OpenMP
//                threads above kElementwiseParallelMin elements and written as a plain indexed
//                loop that the compiler vectorises. Small tensors stay serial: thread
//                start-up costs microseconds, more than a 16k-element op takes.
//   "avx2", "avx512" (the ops whose list entry has a vector form): the dense loop of
//                kernels/cpu/elementwise_simd.h (the same functor on vector lanes, masked
//                tails, per-op thread thresholds); strided operands take the "omp" walk.
// Every op's math is its functor in kernels/elementwise_ops.h; this file only walks and
// registers, generated from the lists there.
// No kernel here reads the FP exception flags. With GCC's default -ftrapping-math a select
// between two computed values (leaky_relu's x > 0 ? x : a*x) is not if-converted, since an
// operation on the unselected side might raise a flag that the branch would not: the loop
// stays scalar and branchy (75 ms on 16M floats instead of 3.5). The pragma comes before the
// includes so that the inline functions (the math vocabulary of elementwise_ops.h: abs, max,
// select...) share the option and still inline into the loops.
#pragma GCC optimize("no-trapping-math")

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <omp.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/elementwise_dense.h"
#include "kernels/elementwise.h"

namespace mg::kernels {

namespace {

constexpr int64_t kElementwiseParallelMin = 1 << 15;

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
#pragma omp parallel for simd schedule(static) if (n >= kElementwiseParallelMin)
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
        if (n >= kElementwiseParallelMin) {
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

// Dense operands get a plain indexed loop over local restrict pointers, which the
// compiler vectorises (through a lambda, stores to o[] could alias the captured
// pointers and every iteration would reload them). Exact aliasing (out == in, the
// in-place ops) is still correct: each element is read before it is written.
template <class Op, class T, bool Parallel>
void unary(const Iter& it, void* out, const void* in, Scalars s) {
    const Op op;
    const ew::Params<T> p{T(s.a), T(s.b)};
    if (it.contiguous) {
        T* __restrict o = static_cast<T*>(out);
        const T* __restrict x = static_cast<const T*>(in);
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kElementwiseParallelMin)
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], p);
        return;
    }
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(in);
    walk<2, Parallel>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t) { o[oo] = op(x[ox], p); });
}

// ---- binary -----------------------------------------------------------------------
template <class Op, class T, bool Parallel>
void binary(const Iter& it, void* out, const void* a, const void* b) {
    using R = decltype(Op()(T(), T()));  // T, or uint8_t for comparisons
    const Op op;
    if (it.contiguous) {
        R* __restrict o = static_cast<R*>(out);
        const T* __restrict x = static_cast<const T*>(a);
        const T* __restrict y = static_cast<const T*>(b);
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kElementwiseParallelMin)
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i]);
        return;
    }
    R* o = static_cast<R*>(out);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    walk<3, Parallel>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t oy) { o[oo] = op(x[ox], y[oy]); });
}

template <class Op, class T, bool Parallel>
void binary_scalar(const Iter& it, void* out, const void* a, const void* b, Scalars s) {
    const Op op;
    const ew::Params<T> p{T(s.a), T(s.b)};
    if (it.contiguous) {
        T* __restrict o = static_cast<T*>(out);
        const T* __restrict x = static_cast<const T*>(a);
        const T* __restrict y = static_cast<const T*>(b);
        const int64_t n = it.numel;
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kElementwiseParallelMin)
        for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i], p);
        return;
    }
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    walk<3, Parallel>(it, [&](int64_t, int64_t oo, int64_t ox, int64_t oy) { o[oo] = op(x[ox], y[oy], p); });
}

#if defined(__x86_64__)
// A vector variant: dense operands go to the ISA file's loop, strided ones to the "omp" walk.
template <class Op, class T, Isa isa>
void unary_dense_or_walk(const Iter& it, void* out, const void* in, Scalars s) {
    if (it.contiguous) DenseLoops<isa>::template unary<Op, T>(it.numel, out, in, s);
    else unary<Op, T, true>(it, out, in, s);
}
template <class Op, class T, Isa isa>
void binary_scalar_dense_or_walk(const Iter& it, void* out, const void* a, const void* b, Scalars s) {
    if (it.contiguous) DenseLoops<isa>::template binary_scalar<Op, T>(it.numel, out, a, b, s);
    else binary_scalar<Op, T, true>(it, out, a, b, s);
}

template <class Fn, class Op, class T, Isa isa> constexpr Fn* dense_or_walk() {
    if constexpr (std::is_same_v<Fn, UnaryFn>) return &unary_dense_or_walk<Op, T, isa>;
    else return &binary_scalar_dense_or_walk<Op, T, isa>;
}

// The "avx2" and "avx512" variants of Op, for the dtypes its list entry gives a vector form.
template <class Op, class Fn, Isa isa>
void add_vector_variant(OpTable<Fn>& table, const char* name, int priority, const char* lanes) {
    constexpr ew::Simd simd = ew::op_info<Op>.simd;
    const std::string doc = std::string(lanes) + " lanes, the op's functor on vectors, threads above " +
                            (ew::op_info<Op>.cost == ew::Cost::cheap ? "128k" : "32k") + " elements";
    table.add(name, Device::CPU, DType::Float32, dense_or_walk<Fn, Op, float, isa>(), priority, doc);
    if constexpr (simd == ew::Simd::all)
        table.add(name, Device::CPU, DType::Float64, dense_or_walk<Fn, Op, double, isa>(), priority, doc);
}
template <class Op, class Fn> void add_vector_variants(OpTable<Fn>& table) {
    if constexpr (ew::op_info<Op>.simd != ew::Simd::none) {
        if (cpu::has_avx2_fma()) add_vector_variant<Op, Fn, Isa::avx2>(table, "avx2", 15, "AVX2, 8 float / 4 double");
        if (cpu::has_avx512())
            add_vector_variant<Op, Fn, Isa::avx512>(table, "avx512", 20, "AVX-512, 16 float / 8 double");
    }
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
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kElementwiseParallelMin)
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
#pragma omp parallel for simd schedule(static) if (n >= kElementwiseParallelMin)
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

constexpr const char* kOmpDoc = "OpenMP threads above 32k elements, vectorised dense loop";

// "reference" for every value type of Op, "omp" (and the vector variants) for float and double.
template <class Op, class Fn> void add_variants(OpTable<Fn>& table) {
    for_each_value_type<Op>([&](auto type) {
        using T = typename decltype(type)::type;
        constexpr DType t = dtype_of<T>::value;
        constexpr bool floating = std::is_floating_point_v<T>;
        if constexpr (std::is_same_v<Fn, UnaryFn>) {
            table.add("reference", Device::CPU, t, &unary<Op, T, false>, 0, "serial loop");
            if constexpr (floating) table.add("omp", Device::CPU, t, &unary<Op, T, true>, 10, kOmpDoc);
        } else if constexpr (std::is_same_v<Fn, BinaryFn>) {
            table.add("reference", Device::CPU, t, &binary<Op, T, false>, 0, "serial loop");
            if constexpr (floating) table.add("omp", Device::CPU, t, &binary<Op, T, true>, 10, kOmpDoc);
        } else {
            table.add("reference", Device::CPU, t, &binary_scalar<Op, T, false>, 0, "serial loop");
            if constexpr (floating) table.add("omp", Device::CPU, t, &binary_scalar<Op, T, true>, 10, kOmpDoc);
        }
    });
#if defined(__x86_64__)
    add_vector_variants<Op>(table);
#endif
}

}  // namespace

void register_cpu_elementwise() {
    auto add = [](auto op, auto& table) { add_variants<decltype(op)>(table); };
    for_each_unary_op(add);
    for_each_binary_op(add);
    for_each_binary_scalar_op(add);

    where_table().add("reference", Device::CPU, DType::Float32, &where_kernel<float, false>, 0, "serial loop");
    where_table().add("reference", Device::CPU, DType::Float64, &where_kernel<double, false>, 0, "serial loop");
    where_table().add("omp", Device::CPU, DType::Float32, &where_kernel<float, true>, 10, kOmpDoc);
    where_table().add("omp", Device::CPU, DType::Float64, &where_kernel<double, true>, 10, kOmpDoc);
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
