#include "core/nn/pool.h"

#include <fmt/format.h>

#include "core/nn/format.h"

namespace mg::nn {

namespace {
// PyTorch prints pooling sizes as plain ints when square: kernel_size=2, stride=2, padding=0.
std::string size_repr(const Pair& p) { return p.h == p.w ? std::to_string(p.h) : fmt_detail::py_tuple(p); }
}  // namespace

Pool2d::Pool2d(Pair kernel_size_, Pair stride_, Pair padding_)
    : kernel_size(kernel_size_), stride(stride_), padding(padding_) {}
std::string Pool2d::extra_repr() const {
    Pair shown_stride = stride.h == 0 && stride.w == 0 ? kernel_size : stride;
    return fmt::format("kernel_size={}, stride={}, padding={}", size_repr(kernel_size), size_repr(shown_stride),
                       size_repr(padding));
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding); }
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_size, stride, padding); }

}  // namespace mg::nn
