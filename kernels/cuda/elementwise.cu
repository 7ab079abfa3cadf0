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

template <UnaryOp op>
void unary_as(DType t, ElementwisePath path, const Iter& it, void* out, const void* in, double a,
              double b) {
    auto go = [&](auto tag) {
        using T = decltype(tag);
        run("cuda unary", path, it, UnaryFunctor<op, T>{T(a), T(b)}, static_cast<T*>(out), static_cast<const T*>(in));
    };
    switch (t) {
        case DType::Float32: go(float{}); return;
        case DType::Float64: go(double{}); return;
        case DType::Int64:  // integer negation and affine maps (index arithmetic)
            if constexpr (op == UnaryOp::Neg || op == UnaryOp::Affine) {
                go(int64_t{});
                return;
            }
            break;
        default: break;
    }
    fail("cuda unary", "dtype not supported for this op");
}

template <BinaryOp op>
void binary_as(DType t, ElementwisePath path, const Iter& it, void* out, const void* a, const void* b,
               double scalar) {
    auto go = [&](auto tag) {
        using T = decltype(tag);
        using Out = std::conditional_t<is_compare(op), uint8_t, T>;
        run("cuda binary", path, it, BinaryFunctor<op, T>{T(scalar)}, static_cast<Out*>(out),
            static_cast<const T*>(a), static_cast<const T*>(b));
    };
    switch (t) {
        case DType::Float32: go(float{}); return;
        case DType::Float64: go(double{}); return;
        case DType::Int64:
            if constexpr (!is_float_only(op)) {
                go(int64_t{});
                return;
            }
            break;
        case DType::UInt8:  // mask equality
            if constexpr (op == BinaryOp::Eq || op == BinaryOp::Ne) {
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
#define MG_UNARY_CASE(name) \
    case UnaryOp::name: unary_as<UnaryOp::name>(t, path, it, out, in, a, b); return;
        MG_UNARY_CASE(Neg) MG_UNARY_CASE(Exp) MG_UNARY_CASE(Log) MG_UNARY_CASE(Sqrt) MG_UNARY_CASE(Abs)
        MG_UNARY_CASE(Sign) MG_UNARY_CASE(Tanh) MG_UNARY_CASE(Sigmoid) MG_UNARY_CASE(Relu)
        MG_UNARY_CASE(LeakyRelu) MG_UNARY_CASE(Elu) MG_UNARY_CASE(Softplus) MG_UNARY_CASE(Erf)
        MG_UNARY_CASE(Gelu) MG_UNARY_CASE(Clamp) MG_UNARY_CASE(PowScalar) MG_UNARY_CASE(Affine)
        MG_UNARY_CASE(Sin) MG_UNARY_CASE(Cos)
#undef MG_UNARY_CASE
    }
    fail("cuda unary", "unknown op");
}

void launch_binary(BinaryOp op, DType t, ElementwisePath path, const Iter& it, void* out, const void* a,
                   const void* b, double scalar) {
    switch (op) {
#define MG_BINARY_CASE(name) \
    case BinaryOp::name: binary_as<BinaryOp::name>(t, path, it, out, a, b, scalar); return;
        MG_BINARY_CASE(Add) MG_BINARY_CASE(Sub) MG_BINARY_CASE(Mul) MG_BINARY_CASE(Div) MG_BINARY_CASE(Pow)
        MG_BINARY_CASE(Maximum) MG_BINARY_CASE(Minimum) MG_BINARY_CASE(LeakyReluBackward)
        MG_BINARY_CASE(TanhBackward) MG_BINARY_CASE(SigmoidBackward) MG_BINARY_CASE(Eq) MG_BINARY_CASE(Ne)
        MG_BINARY_CASE(Gt) MG_BINARY_CASE(Ge) MG_BINARY_CASE(Lt) MG_BINARY_CASE(Le)
#undef MG_BINARY_CASE
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
