// GEMM through cuBLAS (kernels/gemm.h), the default CUDA variant.
//
// cuBLAS is column-major; a row-major matrix read column-major is its transpose. So
// row-major C = op(A)·op(B) is computed as column-major C^T = op(B)^T · op(A)^T: swap
// the operands (B first), swap m and n, keep each operand's own transpose flag and
// leading dimension. One cublasGemmStridedBatchedEx call covers every batch.
//
//   "cublas"       float32 with CUBLAS_COMPUTE_32F (true FP32: no TF32 tensor cores,
//                  unless the environment sets NVIDIA_TF32_OVERRIDE=1), float64 with
//                  CUBLAS_COMPUTE_64F. The library's tuned kernels: the bar for ours.
//   "cublas_tf32"  float32 with CUBLAS_COMPUTE_32F_FAST_TF32: tensor cores, inputs
//                  rounded to TF32 (10-bit mantissa). Several times faster, relative
//                  error near 1e-3: TF32 PRECISION, NOT FP32.
//   "cublas_bf16"  float32 with CUBLAS_COMPUTE_32F_FAST_16BF: mixed precision on
//                  float32 data, inputs rounded to BF16 (8 significant bits; cuBLAS
//                  may pick TF32 instead, which is only more precise), float32
//                  accumulation. Relative error up to ~8e-3 of sum |a||b|: BF16
//                  PRECISION, NOT FP32. The bar for our wmma_bf16 kernel.
//
// The handle is created on first use (registration never touches the GPU), one per
// host thread, and runs on current_stream().
#ifdef MINIGEN_WITH_CUDA
#include <climits>
#include <type_traits>

#include <cublas_v2.h>

#include "kernels/cuda/checks.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/register.h"
#include "kernels/cuda/runtime.h"
#include "kernels/gemm.h"

namespace mg::kernels::cuda {

namespace {

void check_cublas(cublasStatus_t status, const char* what) {
    MG_CHECK(status == CUBLAS_STATUS_SUCCESS, "{}: {} ({})", what, cublasGetStatusName(status),
             cublasGetStatusString(status));
}

cublasHandle_t cublas_handle() {
    return thread_handle(&cublasCreate, &cublasSetStream, &check_cublas, "gemm[cublas]: cublasCreate",
                         "gemm[cublas]: cublasSetStream");
}

template <class T>
void gemm_cublas_as(const GemmArgs& g, const void* a, const void* b, void* c, cublasComputeType_t compute,
                    const char* variant) {
    check_gemm_args(g, variant, a, b, c);
    if (g.batch == 0 || g.m == 0 || g.n == 0) return;
    if (g.k == 0) {  // C = beta * C: no product; cuBLAS wants lda >= 1 even then
        launch_gemm(GemmKernel::Naive, dtype_of<T>::value, g, a, b, c);
        return;
    }
    for (int64_t v : {g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.batch})
        MG_CHECK(v <= INT_MAX, "gemm[{}]: size {} exceeds cuBLAS's int range (m={} n={} k={} batch={})", variant, v,
                 g.m, g.n, g.k, g.batch);
    const cudaDataType_t type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
    const T alpha = T(g.alpha), beta = T(g.beta);
    // Column-major C^T (n x m) = op(B)^T (n x k) · op(A)^T (k x m).
    check_cublas(cublasGemmStridedBatchedEx(cublas_handle(), g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                            g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.n), int(g.m), int(g.k),
                                            &alpha, b, type, int(g.ldb), (long long)g.stride_b, a, type, int(g.lda),
                                            (long long)g.stride_a, &beta, c, type, int(g.ldc), (long long)g.stride_c,
                                            int(g.batch), compute, CUBLAS_GEMM_DEFAULT),
                 "gemm[cublas]: cublasGemmStridedBatchedEx");
}

void gemm_cublas_f32(const GemmArgs& g, const void* a, const void* b, void* c) {
    gemm_cublas_as<float>(g, a, b, c, CUBLAS_COMPUTE_32F, "cublas");
}
void gemm_cublas_f64(const GemmArgs& g, const void* a, const void* b, void* c) {
    gemm_cublas_as<double>(g, a, b, c, CUBLAS_COMPUTE_64F, "cublas");
}
void gemm_cublas_tf32(const GemmArgs& g, const void* a, const void* b, void* c) {
    gemm_cublas_as<float>(g, a, b, c, CUBLAS_COMPUTE_32F_FAST_TF32, "cublas_tf32");
}
void gemm_cublas_bf16(const GemmArgs& g, const void* a, const void* b, void* c) {
    gemm_cublas_as<float>(g, a, b, c, CUBLAS_COMPUTE_32F_FAST_16BF, "cublas_bf16");
}

}  // namespace

void register_cuda_gemm_cublas() {
    auto& t = gemm_table();
    t.add("cublas", Device::CUDA, DType::Float32, &gemm_cublas_f32, 30,
          "cuBLAS strided-batched GEMM, FP32 compute (C^T = B^T A^T in column-major)");
    t.add("cublas", Device::CUDA, DType::Float64, &gemm_cublas_f64, 30,
          "cuBLAS strided-batched GEMM, FP64 compute (C^T = B^T A^T in column-major)");
    t.add("cublas_tf32", Device::CUDA, DType::Float32, &gemm_cublas_tf32, 1,
          "cuBLAS with TF32 tensor cores: faster, TF32 precision (~1e-3 relative), not FP32");
    t.add("cublas_bf16", Device::CUDA, DType::Float32, &gemm_cublas_bf16, 0,
          "cuBLAS on float32 data with BF16 tensor-core multiplies, FP32 accumulation: BF16 precision "
          "(~1e-2 relative), not FP32");
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
