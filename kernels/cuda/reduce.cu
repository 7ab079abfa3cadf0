// Reductions (kernels/reduce.h) on the GPU: sum, max, min over a set of axes.
//
// Every strategy fixes who adds what, and in which order, from the shapes alone, so a
// result is bitwise reproducible on a given GPU model (no atomics anywhere):
//   thread_per_output  one thread folds its output's elements in order. Right when the
//                      reduced run is short, or when the kept dimension is the
//                      contiguous one (neighbouring threads then read neighbouring
//                      addresses: a sum over dim 0 of a row-major matrix).
//   warp_per_output    lane l folds elements l, l+32, ...; a butterfly of shuffles
//                      combines the 32 lanes. Coalesced when the reduced dimension is
//                      the contiguous one (row sums).
//   block_per_output   256 threads per output and a shared-memory combine of the 8
//                      warps; a long reduction is cut into a fixed number of chunks
//                      (from the shape alone), one block each, whose partials a second
//                      pass folds in chunk order. Keeps the whole GPU busy when there are
//                      few outputs (a full sum of 16M elements).
// float32 sums accumulate in double, as on the CPU. max/min propagate NaN.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/reduce_ops.cuh"

namespace mg::kernels::cuda {

namespace {

template <ReduceOp op, class T>
__global__ void thread_per_output_kernel(ReduceArgs r, T* out, const T* in) {
    for (int64_t o = global_thread(); o < r.out_numel; o += grid_threads()) reduce_output_in_order<op>(r, out, in, o);
}

template <ReduceOp op, class T>
__global__ void warp_per_output_kernel(ReduceArgs r, T* out, const T* in) {
    Fold<op, T> fold;
    const int lane = threadIdx.x % 32;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
    for (int64_t o = global_thread() / 32; o < r.out_numel; o += warps) {
        OutputPlace p = place_of(r, o);
        auto acc = fold.identity();
        for (int64_t e = lane; e < r.red_numel; e += 32) acc = fold(acc, in[p.in + reduced_offset(r, e)]);
        acc = warp_reduce(acc, fold);
        if (lane == 0) out[p.out] = T(acc);
    }
}

// Block (o, c) folds chunk c of output o; with one chunk it writes the output, else the
// partial [o * chunks + c].
template <ReduceOp op, class T>
__global__ void block_per_output_kernel(ReduceArgs r, int64_t chunk_len, T* out,
                                       typename Fold<op, T>::Acc* partial, const T* in) {
    using Acc = typename Fold<op, T>::Acc;
    Fold<op, T> fold;
    __shared__ Acc warp_results[kThreads / 32];
    const int64_t o = blockIdx.x, chunk = blockIdx.y;
    OutputPlace p = place_of(r, o);
    const int64_t begin = chunk * chunk_len;
    const int64_t end = begin + chunk_len < r.red_numel ? begin + chunk_len : r.red_numel;
    Acc acc = fold.identity();
    for (int64_t e = begin + threadIdx.x; e < end; e += blockDim.x) acc = fold(acc, in[p.in + reduced_offset(r, e)]);
    acc = warp_reduce(acc, fold);
    if (threadIdx.x % 32 == 0) warp_results[threadIdx.x / 32] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        Acc total = warp_results[0];
        for (int w = 1; w < int(blockDim.x / 32); ++w) total = fold(total, warp_results[w]);
        if (gridDim.y == 1) out[p.out] = T(total);
        else partial[o * gridDim.y + chunk] = total;
    }
}

// Second pass: a warp per output folds its chunk partials.
template <ReduceOp op, class T>
__global__ void combine_chunks_kernel(ReduceArgs r, int64_t chunks, T* out, const typename Fold<op, T>::Acc* partial) {
    Fold<op, T> fold;
    const int lane = threadIdx.x % 32;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
    for (int64_t o = global_thread() / 32; o < r.out_numel; o += warps) {
        auto acc = fold.identity();
        for (int64_t c = lane; c < chunks; c += 32) acc = fold(acc, partial[o * chunks + c]);
        acc = warp_reduce(acc, fold);
        if (lane == 0) out[place_of(r, o).out] = T(acc);
    }
}

ReduceStrategy choose(const ReduceArgs& r) {
    const bool reduced_dim_contiguous = r.red_ndim > 0 && r.red_strides[r.red_ndim - 1] == 1;
    if (r.red_numel <= 32) return ReduceStrategy::ThreadPerOutput;
    if (!reduced_dim_contiguous && r.out_numel >= 4096) return ReduceStrategy::ThreadPerOutput;
    if (r.red_numel <= 4096) return ReduceStrategy::WarpPerOutput;
    return ReduceStrategy::BlockPerOutput;
}

template <ReduceOp op, class T>
void reduce_as(ReduceStrategy strategy, const ReduceArgs& r, T* out, const T* in) {
    const char* what = "cuda reduce";
    cudaStream_t stream = current_stream();
    if (strategy == ReduceStrategy::Auto) strategy = choose(r);
    switch (strategy) {
        case ReduceStrategy::ThreadPerOutput:
            thread_per_output_kernel<op, T><<<grid_for(r.out_numel), kThreads, 0, stream>>>(r, out, in);
            break;
        case ReduceStrategy::WarpPerOutput:
            warp_per_output_kernel<op, T><<<grid_for(r.out_numel * 32), kThreads, 0, stream>>>(r, out, in);
            break;
        default: {
            using Acc = typename Fold<op, T>::Acc;
            // A chunk of at least 16K elements (64 per thread), at most 256 chunks, and
            // splitting only when there are too few outputs to fill the GPU anyway.
            int64_t chunks = r.out_numel >= 1024 ? 1 : (r.red_numel + 16383) / 16384;
            chunks = chunks < 1 ? 1 : (chunks > 256 ? 256 : chunks);
            const int64_t chunk_len = (r.red_numel + chunks - 1) / chunks;
            if (r.out_numel > int64_t(INT32_MAX)) fail(what, "more than 2^31-1 outputs for block_per_output");
            Acc* partial = nullptr;
            if (chunks > 1)
                partial =
                    static_cast<Acc*>(workspace(Workspace::Reduce, size_t(r.out_numel * chunks) * sizeof(Acc), what));
            dim3 grid(unsigned(r.out_numel), unsigned(chunks));
            block_per_output_kernel<op, T><<<grid, kThreads, 0, stream>>>(r, chunk_len, out, partial, in);
            if (chunks > 1) {
                check_launch(what);
                combine_chunks_kernel<op, T>
                    <<<grid_for(r.out_numel * 32), kThreads, 0, stream>>>(r, chunks, out, partial);
            }
        }
    }
    check_launch(what);
}

}  // namespace

void launch_reduce(ReduceOp op, DType t, ReduceStrategy strategy, const ReduceArgs& r, void* out, const void* in) {
    if (r.out_numel <= 0) return;
    if (r.out_ndim < 0 || r.out_ndim > kMaxDims || r.red_ndim < 0 || r.red_ndim > kMaxDims)
        fail("cuda reduce", "ReduceArgs dimensions out of range");
    if (t != DType::Float32 && t != DType::Float64 && t != DType::Int64)
        fail("cuda reduce", "only float32, float64 and int64 are supported");
    dispatch_any(t, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (!std::is_same_v<T, uint8_t>) {  // uint8 was refused above
            T* o = static_cast<T*>(out);
            const T* i = static_cast<const T*>(in);
            switch (op) {
                case ReduceOp::Sum: reduce_as<ReduceOp::Sum, T>(strategy, r, o, i); break;
                case ReduceOp::Max: reduce_as<ReduceOp::Max, T>(strategy, r, o, i); break;
                case ReduceOp::Min: reduce_as<ReduceOp::Min, T>(strategy, r, o, i); break;
            }
        }
    });
}

}  // namespace mg::kernels::cuda
