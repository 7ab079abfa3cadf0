// The dtypes and devices, plain: no fmt, no registry, so that nvcc (the .cu files of
// kernels/cuda) and g++ share the one enum. kernels/base.h adds names and formatting.
#pragma once

#include <cstdint>

namespace mg {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8 };
enum class Device : uint8_t { CPU, CUDA };

constexpr int64_t dtype_size(DType t) {
    switch (t) {
        case DType::Float32: return 4;
        case DType::Float64: return 8;
        case DType::Int64: return 8;
        case DType::UInt8: return 1;
    }
    return 0;
}
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// C++ type -> DType, for templated kernels and factories.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };

}  // namespace mg
