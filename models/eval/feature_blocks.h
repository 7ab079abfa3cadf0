// Shared by the metric files (not for callers): input checks and the blockwise products
// behind KID and precision/recall. A block is `rows` rows of X against all of Y, so memory
// stays at rows * N_y floats however large the sets are.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/tensor.h"

namespace mg::eval::detail {

// Rows per block: 1024 x 10,000 floats = 40 MB at the largest practical size.
constexpr int64_t kBlockRows = 1024;

// Checks x is a defined, 2-D, floating, finite [N, D] tensor and returns it as a dense
// tensor of `dtype` on the CPU. `fn` and `what` name the caller and argument in errors.
inline Tensor checked_matrix(const Tensor& x, std::string_view fn, std::string_view what, DType dtype) {
    MG_CHECK(x.defined(), "{}: {} is undefined", fn, what);
    MG_CHECK(x.dim() == 2, "{}: {} must be 2-D [N, D], got shape {}", fn, what, x.shape());
    MG_CHECK(is_floating(x.dtype()), "{}: {} must be float32 or float64, got {} (shape {})", fn, what, x.dtype(),
             x.shape());
    Tensor dense = x.detach().to(Device::CPU).to(dtype).contiguous();
    auto check_finite = [&](const auto* p) {
        for (int64_t i = 0; i < dense.numel(); ++i)
            MG_CHECK(std::isfinite(p[i]), "{}: {} {} has a non-finite value {} at row {}, column {}", fn, what,
                     x.shape(), double(p[i]), i / x.size(1), i % x.size(1));
    };
    if (dtype == DType::Float32) check_finite(dense.data<float>());
    else check_finite(dense.data<double>());
    return dense;
}

// Two feature sets to compare: checked_matrix of each, as float32, with the same width D >= 1.
inline std::pair<Tensor, Tensor> checked_real_fake(const Tensor& real, const Tensor& fake, std::string_view fn) {
    Tensor r = checked_matrix(real, fn, "real", DType::Float32);
    Tensor f = checked_matrix(fake, fn, "fake", DType::Float32);
    MG_CHECK(r.size(1) == f.size(1) && r.size(1) >= 1, "{}: feature dims differ, real {} vs fake {}", fn, real.shape(),
             fake.shape());
    return {r, f};
}

// |x_i|^2 per row of a dense float32 [N, D], summed in double.
inline std::vector<float> row_squared_norms(const Tensor& x) {
    const int64_t n = x.size(0), d = x.size(1);
    const float* p = x.data<float>();
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < d; ++j) s += double(p[i * d + j]) * double(p[i * d + j]);
        out[size_t(i)] = float(s);
    }
    return out;
}

// Overwrites a Gram row g [n] with the squared distances |x_i|^2 + |y_j|^2 - 2 g_j >= 0.
inline void gram_row_to_distances(float* g, float norm_i, const std::vector<float>& norms_y) {
    const int64_t n = int64_t(norms_y.size());
    for (int64_t j = 0; j < n; ++j) g[j] = std::max(0.0f, norm_i + norms_y[size_t(j)] - 2 * g[j]);
}

// Calls visit(row0, rows, gram) for consecutive row blocks of x, where gram points to
// the [rows, N_y] row-major block x[row0 : row0 + rows] · y^T (float32 GEMM), which the
// visitor may overwrite. x [N_x, D], y [N_y, D]: dense float32 CPU tensors.
template <class Visit> void for_each_gram_block(const Tensor& x, const Tensor& y, Visit&& visit) {
    autograd::NoGradGuard no_grad;
    const Tensor y_t = y.t();  // a transposed view: GEMM reads it with a flag, no copy
    for (int64_t row0 = 0; row0 < x.size(0); row0 += kBlockRows) {
        const int64_t rows = std::min(kBlockRows, x.size(0) - row0);
        Tensor gram = matmul(x.slice(0, row0, row0 + rows), y_t);
        visit(row0, rows, gram.data<float>());
    }
}

// The upper part of the symmetric x · x^T, for sums over pairs i < j at about half the
// cost: calls visit(row0, rows, gram) with gram the [rows, N - row0] block
// x[row0 : row0 + rows] · x[row0 :]^T, so row i's column j is the pair (row0 + i, row0 + j).
template <class Visit> void for_each_upper_gram_block(const Tensor& x, int64_t block_rows, Visit&& visit) {
    autograd::NoGradGuard no_grad;
    for (int64_t row0 = 0; row0 < x.size(0); row0 += block_rows) {
        const int64_t rows = std::min(block_rows, x.size(0) - row0);
        Tensor gram = matmul(x.slice(0, row0, row0 + rows), x.slice(0, row0, x.size(0)).t());
        visit(row0, rows, gram.data<float>());
    }
}

}  // namespace mg::eval::detail
