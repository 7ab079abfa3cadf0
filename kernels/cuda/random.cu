// Random kernels (kernels/random.h) on the GPU: the CPU kernels' Philox stream, bit for
// bit (philox.cuh holds the math and the specification). One thread per Philox block of
// four elements; a grid-stride loop over blocks, so any grid draws the same numbers.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/philox.cuh"

namespace mg::kernels::cuda {

namespace {

template <RandomDist dist, class T>
__global__ void random_kernel(int64_t n, uint64_t seed, uint64_t offset, double a, double b, T* out) {
    const int64_t blocks = (n + 3) / 4;
    for (int64_t blk = global_thread(); blk < blocks; blk += grid_threads()) {
        double v[4];
        philox::draw_block<dist, T>(seed, offset + uint64_t(blk), a, b, v);
#pragma unroll
        for (int j = 0; j < 4; ++j)
            if (4 * blk + j < n) out[4 * blk + j] = T(v[j]);
    }
}

template <RandomDist dist, class T>
void launch_as(const RandomArgs& r, T* out) {
    random_kernel<dist, T><<<grid_for((r.n + 3) / 4), kThreads, 0, current_stream()>>>(r.n, r.seed, r.offset, r.a,
                                                                                         r.b, out);
}

}  // namespace

void launch_random(RandomDist dist, DType t, const RandomArgs& r, void* out) {
    if (r.n <= 0) return;
    dispatch_float(t, "cuda random", [&](auto tag) {
        using T = decltype(tag);
        T* o = static_cast<T*>(out);
        switch (dist) {
            case RandomDist::Uniform: launch_as<RandomDist::Uniform>(r, o); break;
            case RandomDist::Normal: launch_as<RandomDist::Normal>(r, o); break;
            case RandomDist::Bernoulli: launch_as<RandomDist::Bernoulli>(r, o); break;
        }
    });
    check_launch("cuda random");
}

}  // namespace mg::kernels::cuda
