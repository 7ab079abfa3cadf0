#include "core/nn/pool.h"

#include <fmt/format.h>

#include "core/nn/format.h"

namespace mg::nn {

namespace {
// PyTorch prints pooling sizes as plain ints when square: kernel_size=2, stride=2, padding=0.
std::string size_repr(const Pair& p) { return p.h == p.w ? std::to_string(p.h) : fmt_detail::py_tuple(p); }
std::string pool_repr(const Pair& k, const Pair& s, const Pair& p) {
    Pair stride = s.h == 0 && s.w == 0 ? k : s;
    return fmt::format("kernel_size={}, stride={}, padding={}", size_repr(k), size_repr(stride), size_repr(p));
}
}  // namespace

MaxPool2d::MaxPool2d(Pair kernel_size_, Pair stride_, Pair padding_)
    : kernel_size(kernel_size_), stride(stride_), padding(padding_) {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding); }
std::string MaxPool2d::extra_repr() const { return pool_repr(kernel_size, stride, padding); }

AvgPool2d::AvgPool2d(Pair kernel_size_, Pair stride_, Pair padding_)
    : kernel_size(kernel_size_), stride(stride_), padding(padding_) {}
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_size, stride, padding); }
std::string AvgPool2d::extra_repr() const { return pool_repr(kernel_size, stride, padding); }

}  // namespace mg::nn
