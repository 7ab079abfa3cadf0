// The emulated backend has no cuBLAS or cuDNN: their variants ("cublas*", "cudnn*") are
// simply not registered, and everything else (our GEMMs, the im2col convolution) is.
namespace mg::kernels::cuda {
void register_cuda_gemm_cublas() {}
void register_cuda_conv_cudnn() {}
}  // namespace mg::kernels::cuda
