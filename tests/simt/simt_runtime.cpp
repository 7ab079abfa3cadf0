// kernels/cuda/runtime.h for the SIMT emulation: the stream is the calling thread, errors
// are mg::Error, scratch buffers are host memory. Compiled with -Dcuda=simt like the
// emulated kernel files, so none of it meets the real CUDA backend in the same program.
#include <array>
#include <cstdlib>

#include "kernels/base.h"
#include "kernels/cuda/runtime.h"

namespace mg::kernels::cuda {

cudaStream_t current_stream() { return nullptr; }
void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) MG_FAIL("{}: {}: {}", what, cudaGetErrorName(err), cudaGetErrorString(err));
}
void check_launch(const char*) {}
void fail(const char* what, const char* why) { MG_FAIL("{}: {}", what, why); }
// Two "multiprocessors": grid-stride loops then run several rounds at the test shapes.
int multiprocessor_count() { return 2; }

void* workspace(Workspace slot, size_t bytes, const char* what) {
    struct Scratch {
        void* ptr = nullptr;
        size_t bytes = 0;
    };
    thread_local std::array<Scratch, size_t(Workspace::Count)> scratch{};
    Scratch& s = scratch[size_t(slot)];
    if (bytes > s.bytes) {
        std::free(s.ptr);
        s.ptr = std::malloc(bytes);
        MG_CHECK(s.ptr != nullptr, "{}: cannot allocate {} bytes of scratch", what, bytes);
        s.bytes = bytes;
    }
    return s.ptr;
}

}  // namespace mg::kernels::cuda
