// Host-and-device functions in headers that g++ and nvcc both compile (kernels/philox.h,
// kernels/cuda/*_ops.cuh): MG_HOST_DEVICE is `__host__ __device__` under nvcc and plain
// `inline` for a host compiler.
#pragma once

#ifndef MG_HOST_DEVICE
#ifdef __CUDACC__
#define MG_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MG_HOST_DEVICE inline
#endif
#endif

// `#pragma unroll` for the device pass only (host compilers warn about it).
#ifdef __CUDA_ARCH__
#define MG_UNROLL _Pragma("unroll")
#else
#define MG_UNROLL
#endif
