// Shape: a small inline vector of dimension sizes (or strides). No heap: the
// small models (gan2d) are dominated by per-op overhead, and every op builds shapes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels/base.h"

namespace mg {

class Shape {
public:
    static constexpr int kMaxDims = 8;

    Shape() = default;
    Shape(std::initializer_list<int64_t> dims) {
        MG_CHECK(dims.size() <= kMaxDims, "shape: at most {} dimensions, got {}", kMaxDims, dims.size());
        for (int64_t d : dims) v_[n_++] = d;
    }
    explicit Shape(const std::vector<int64_t>& dims) {
        MG_CHECK(dims.size() <= kMaxDims, "shape: at most {} dimensions, got {}", kMaxDims, dims.size());
        for (int64_t d : dims) v_[n_++] = d;
    }
    static Shape filled(int n, int64_t value) {
        MG_CHECK(n >= 0 && n <= kMaxDims, "shape: at most {} dimensions, got {}", kMaxDims, n);
        Shape s;
        s.n_ = n;
        std::fill(s.v_, s.v_ + n, value);
        return s;
    }

    int size() const { return n_; }
    bool empty() const { return n_ == 0; }
    int64_t operator[](int i) const { return v_[i]; }
    int64_t& operator[](int i) { return v_[i]; }
    int64_t back() const { return v_[n_ - 1]; }
    const int64_t* begin() const { return v_; }
    const int64_t* end() const { return v_ + n_; }
    int64_t* begin() { return v_; }
    int64_t* end() { return v_ + n_; }
    const int64_t* data() const { return v_; }

    void push_back(int64_t d) {
        MG_CHECK(n_ < kMaxDims, "shape: at most {} dimensions", kMaxDims);
        v_[n_++] = d;
    }
    void insert(int pos, int64_t d) {
        MG_CHECK(n_ < kMaxDims, "shape: at most {} dimensions", kMaxDims);
        for (int i = n_; i > pos; --i) v_[i] = v_[i - 1];
        v_[pos] = d;
        ++n_;
    }
    void erase(int pos) {
        for (int i = pos; i + 1 < n_; ++i) v_[i] = v_[i + 1];
        --n_;
    }
    std::vector<int64_t> vec() const { return {v_, v_ + n_}; }

    int64_t numel() const {
        int64_t p = 1;
        for (int i = 0; i < n_; ++i) p *= v_[i];
        return p;
    }
    friend bool operator==(const Shape& a, const Shape& b) {
        return a.n_ == b.n_ && std::equal(a.v_, a.v_ + a.n_, b.v_);
    }
    std::string str() const {
        std::string s = "[";
        for (int i = 0; i < n_; ++i) s += (i ? ", " : "") + std::to_string(v_[i]);
        return s + "]";
    }

private:
    int64_t v_[kMaxDims] = {};
    int n_ = 0;
};

// Row-major (C order) strides of a dense tensor of this shape.
inline Shape contiguous_strides(const Shape& shape) {
    Shape s = Shape::filled(shape.size(), 1);
    for (int i = shape.size() - 2; i >= 0; --i) s[i] = s[i + 1] * std::max<int64_t>(shape[i + 1], 1);
    return s;
}

// NumPy broadcasting of two shapes; throws naming `op` and both shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    int n = std::max(a.size(), b.size());
    Shape out = Shape::filled(n, 1);
    for (int i = 0; i < n; ++i) {
        int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        MG_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast together", op,
                 a.str(), b.str());
        out[i] = da == 1 ? db : da;
    }
    return out;
}

// Wraps a possibly negative axis into [0, ndim); throws naming `op`.
inline int wrap_dim(int64_t dim, int ndim, const char* op) {
    int64_t n = std::max(ndim, 1);
    MG_CHECK(dim >= -n && dim < n, "{}: dimension {} out of range for a tensor with {} dimensions", op, dim, ndim);
    return int(dim < 0 ? dim + n : dim);
}

}  // namespace mg

template <> struct fmt::formatter<mg::Shape> : fmt::formatter<std::string> {
    auto format(const mg::Shape& s, fmt::format_context& ctx) const {
        return fmt::formatter<std::string>::format(s.str(), ctx);
    }
};
