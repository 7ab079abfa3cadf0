#include "core/nn/flatten.h"

#include <algorithm>

#include "core/nn/format.h"

namespace mg::nn {

Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }

std::string Flatten::extra_repr() const { return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim); }

Unflatten::Unflatten(int64_t dim_, std::vector<int64_t> sizes_) : dim(dim_), sizes(std::move(sizes_)) {
    MG_CHECK(!sizes.empty(), "Unflatten: sizes must not be empty");
    int inferred = 0;
    for (int64_t s : sizes) {
        MG_CHECK(s > 0 || s == -1, "Unflatten: sizes {} must be positive (or -1 once)", fmt_detail::py_tuple(sizes));
        inferred += s == -1;
    }
    MG_CHECK(inferred <= 1, "Unflatten: at most one size may be -1, got {}", fmt_detail::py_tuple(sizes));
}

Tensor Unflatten::forward(const Tensor& x) {
    const int d = wrap_dim(dim, x.dim(), "Unflatten");
    int64_t known = 1;
    for (int64_t s : sizes) known *= s == -1 ? 1 : s;
    const int64_t n = x.size(d);
    MG_CHECK(std::find(sizes.begin(), sizes.end(), -1) != sizes.end() ? n % known == 0 : n == known,
             "Unflatten: dimension {} of input {} has size {}, which cannot be unflattened into {}", dim, x.shape(),
             n, fmt_detail::py_tuple(sizes));
    Shape out;
    for (int i = 0; i < d; ++i) out.push_back(x.size(i));
    for (int64_t s : sizes) out.push_back(s == -1 ? n / known : s);
    for (int i = d + 1; i < x.dim(); ++i) out.push_back(x.size(i));
    return x.reshape(out);
}

std::string Unflatten::extra_repr() const {
    return fmt::format("dim={}, unflattened_size={}", dim, fmt_detail::py_tuple(sizes));
}

}  // namespace mg::nn
