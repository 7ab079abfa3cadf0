// Elementwise kernels (kernels/elementwise.h) on the GPU: unary, binary, compare, the
// activation backward helpers, where, copy/cast, fill. One op functor per table, run by
// one of two kernels:
//
//   strided_kernel  one thread per element (grid-stride): the linear index is decoded
//                   into coordinates with Iter's sizes, then into each operand's offset
//                   with its strides. Handles broadcasting, transposes, any layout.
//                   Index math is 32-bit when every offset fits (64-bit division is
//                   several times slower on the GPU), 64-bit otherwise.
//   vec4_kernel     contiguous operands only: each thread loads 4 elements of every
//                   operand with one aligned vector load (float4 for float32, two
//                   double2 for float64), applies the op and stores 4 results. Fewer,
//                   wider memory transactions: this is the bandwidth-bound fast path.
#include <utility>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise_ops.cuh"

namespace mg::kernels::cuda {

namespace {

template <class Index, class Op, class Out, class... In>
__global__ void strided_kernel(Iter it, Op op, Out* out, const In*... in) {
    constexpr int N = 1 + int(sizeof...(In));
    const Index n = Index(it.numel);
    for (Index i = Index(global_thread()); i < n; i += Index(grid_threads())) {
        Index off[N];
        decode(it, i, off);
        apply_at(op, off, std::index_sequence_for<In...>{}, out, in...);
    }
}

template <class T>
struct alignas(4 * sizeof(T)) Pack4 {
    T v[4];
};

template <class Op, class Out, class... In>
__device__ __forceinline__ Pack4<Out> apply4(const Op& op, Pack4<In>... x) {
    Pack4<Out> r;
#pragma unroll
    for (int j = 0; j < 4; ++j) r.v[j] = op(x.v[j]...);
    return r;
}

template <class Op, class Out, class... In>
__global__ void vec4_kernel(int64_t n, Op op, Out* __restrict__ out, const In* __restrict__... in) {
    const int64_t packs = n / 4;
    for (int64_t p = global_thread(); p < packs; p += grid_threads())
        reinterpret_cast<Pack4<Out>*>(out)[p] =
            apply4<Op, Out, In...>(op, reinterpret_cast<const Pack4<In>*>(in)[p]...);
    // The last n % 4 elements, one per thread of the first block.
    for (int64_t i = packs * 4 + global_thread(); i < n; i += grid_threads()) out[i] = op(in[i]...);
}

template <class T>
bool aligned_for_pack(const T* p) {
    return reinterpret_cast<uintptr_t>(p) % alignof(Pack4<T>) == 0;
}

// Every offset of every operand fits a signed 32-bit index, and so does the loop index
// plus one grid stride (half the range leaves room for any grid).
bool fits_int32(const Iter& it, int operands) {
    const int64_t limit = int64_t(INT32_MAX);
    if (it.numel > limit / 2) return false;
    for (int o = 0; o < operands; ++o) {
        int64_t reach = 0;
        for (int d = 0; d < it.ndim; ++d) {
            int64_t s = it.strides[o][d] < 0 ? -it.strides[o][d] : it.strides[o][d];
            reach += s * (it.sizes[d] > 0 ? it.sizes[d] - 1 : 0);
        }
        if (reach > limit) return false;
    }
    return true;
}

template <class Op, class Out, class... In>
void run(const char* what, ElementwisePath path, const Iter& it, const Op& op, Out* out, const In*... in) {
    if (it.numel <= 0) return;
    if (it.ndim < 0 || it.ndim > kMaxDims) fail(what, "Iter.ndim is out of range");
    cudaStream_t stream = current_stream();
    if (path == ElementwisePath::Vectorized && it.contiguous && aligned_for_pack(out) &&
        (aligned_for_pack(in) && ...)) {
        vec4_kernel<Op, Out, In...><<<grid_for((it.numel + 3) / 4), kThreads, 0, stream>>>(it.numel, op, out, in...);
    } else if (fits_int32(it, 1 + int(sizeof...(In)))) {
        strided_kernel<int32_t, Op, Out, In...><<<grid_for(it.numel), kThreads, 0, stream>>>(it, op, out, in...);
    } else {
        strided_kernel<int64_t, Op, Out, In...><<<grid_for(it.numel), kThreads, 0, stream>>>(it, op, out, in...);
    }
    check_launch(what);
}

// ---- dispatch from the runtime op to the compiled functor ------------------------

template <class Op>
void unary_as(DType t, ElementwisePath path, const Iter& it, void* out, const void* in, double a,
              double b) {
    auto go = [&](auto tag) {
        using T = decltype(tag);
        run("cuda unary", path, it, UnaryFunctor<Op, T>{{T(a), T(b)}}, static_cast<T*>(out),
            static_cast<const T*>(in));
    };
    switch (t) {
        case DType::Float32: go(float{}); return;
        case DType::Float64: go(double{}); return;
        case DType::Int64:  // integer negation and affine maps (index arithmetic)
            if constexpr (ew::op_info<Op>.dtypes != ew::Dtypes::floats) {
                go(int64_t{});
                return;
            }
            break;
        default: break;
    }
    fail("cuda unary", "dtype not supported for this op");
}

template <class Op>
void binary_as(DType t, ElementwisePath path, const Iter& it, void* out, const void* a, const void* b,
               double scalar) {
    auto go = [&](auto tag) {
        using T = decltype(tag);
        using F = BinaryFunctor<Op, T>;
        using Out = decltype(F{}(T(), T()));
        run("cuda binary", path, it, F{{T(scalar), T(0)}}, static_cast<Out*>(out), static_cast<const T*>(a),
            static_cast<const T*>(b));
    };
    constexpr ew::Dtypes dtypes = ew::op_info<Op>.dtypes;
    switch (t) {
        case DType::Float32: go(float{}); return;
        case DType::Float64: go(double{}); return;
        case DType::Int64:
            if constexpr (dtypes != ew::Dtypes::floats) {
                go(int64_t{});
                return;
            }
            break;
        case DType::UInt8:  // mask equality
            if constexpr (dtypes == ew::Dtypes::floats_int64_uint8) {
                go(uint8_t{});
                return;
            }
            break;
    }
    fail("cuda binary", "dtype not supported for this op");
}

}  // namespace

void launch_unary(UnaryOp op, DType t, ElementwisePath path, const Iter& it, void* out, const void* in,
                  double a, double b) {
    switch (op) {
#define MG_EW_UNARY_CASE(name, Op, ...) \
    case UnaryOp::Op: unary_as<ew::Op>(t, path, it, out, in, a, b); return;
        MG_UNARY_OPS(MG_EW_UNARY_CASE)
#undef MG_EW_UNARY_CASE
    }
    fail("cuda unary", "unknown op");
}

void launch_binary(BinaryOp op, DType t, ElementwisePath path, const Iter& it, void* out, const void* a,
                   const void* b, double scalar) {
    switch (op) {
#define MG_EW_BINARY_CASE(name, Op, ...) \
    case BinaryOp::Op: binary_as<ew::Op>(t, path, it, out, a, b, scalar); return;
        MG_BINARY_OPS(MG_EW_BINARY_CASE)
        MG_BINARY_SCALAR_OPS(MG_EW_BINARY_CASE)
#undef MG_EW_BINARY_CASE
    }
    fail("cuda binary", "unknown op");
}

void launch_where(DType t, ElementwisePath path, const Iter& it, void* out, const void* cond_u8,
                  const void* a, const void* b) {
    dispatch_any(t, [&](auto tag) {
        using T = decltype(tag);
        run("cuda where", path, it, WhereFunctor<T>{}, static_cast<T*>(out), static_cast<const uint8_t*>(cond_u8),
            static_cast<const T*>(a), static_cast<const T*>(b));
    });
}

void launch_copy(DType out_t, DType in_t, ElementwisePath path, const Iter& it, void* out,
                 const void* in) {
    dispatch_any(out_t, [&](auto out_tag) {
        dispatch_any(in_t, [&](auto in_tag) {
            using O = decltype(out_tag);
            using I = decltype(in_tag);
            run("cuda copy", path, it, CastFunctor<O, I>{}, static_cast<O*>(out), static_cast<const I*>(in));
        });
    });
}

void launch_fill(DType t, ElementwisePath path, const Iter& it, void* out, double value) {
    dispatch_any(t, [&](auto tag) {
        using T = decltype(tag);
        run("cuda fill", path, it, FillFunctor<T>{T(value)}, static_cast<T*>(out));
    });
}

}  // namespace mg::kernels::cuda
