// The bottom of minigen: the one error type, the dtypes and the devices.
// Everything above (kernels, core, optim, models, tools) includes this; of ours it includes only
// the plain kernels/args/dtype.h (the enums themselves, which nvcc shares).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kernels/args/dtype.h"

namespace mg {

// The one exception type. Its message names what is wrong: the op and the shapes,
// the file and the offset, or the flag and the value.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// MG_CHECK(cond, "conv2d: input has {} channels, weight expects {}", c, wc)
#define MG_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) [[unlikely]] throw ::mg::Error(::fmt::format(__VA_ARGS__)); \
    } while (0)

#define MG_FAIL(...) throw ::mg::Error(::fmt::format(__VA_ARGS__))

constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::Float32: return "float32";
        case DType::Float64: return "float64";
        case DType::Int64: return "int64";
        case DType::UInt8: return "uint8";
    }
    return "?";
}
constexpr std::string_view device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace mg

template <> struct fmt::formatter<mg::DType> : fmt::formatter<std::string_view> {
    auto format(mg::DType t, fmt::format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(mg::dtype_name(t), ctx);
    }
};
template <> struct fmt::formatter<mg::Device> : fmt::formatter<std::string_view> {
    auto format(mg::Device d, fmt::format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(mg::device_name(d), ctx);
    }
};
