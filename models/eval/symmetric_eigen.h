// Eigendecomposition of a small dense symmetric matrix (float64), for the FID's matrix
// square roots. Cyclic Jacobi rotations: slow for large n (O(n^3) per sweep) but simple,
// accurate to round-off even for tiny or repeated eigenvalues, and it always returns an
// orthonormal basis. At n = 128 it takes a few tens of milliseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mg::eval {

struct SymmetricEigen {
    int64_t n = 0;
    std::vector<double> values;   // [n], ascending
    std::vector<double> vectors;  // [n, n] row-major; column j is the unit eigenvector of values[j]
    int sweeps = 0;               // sweeps run until the off-diagonal part fell below tolerance
    double off_diagonal = 0;      // final off-diagonal Frobenius norm, relative to ||a||_F
};

// a: [n, n] row-major, symmetric (checked to round-off; the upper triangle is used).
// Converged when ||offdiag(A_k)||_F <= tol * ||a||_F; throws mg::Error when max_sweeps
// pass without that, or when a is not finite or not symmetric.
SymmetricEigen symmetric_eigen(const std::vector<double>& a, int64_t n, double tol = 1e-12, int max_sweeps = 100);

// V diag(f(values)) V^T for f applied to each eigenvalue: [n, n] row-major.
template <class F> std::vector<double> compose(const SymmetricEigen& e, F&& f) {
    const int64_t n = e.n;
    std::vector<double> scaled(e.vectors.size()), out(size_t(n * n), 0.0);
    for (int64_t j = 0; j < n; ++j) {
        const double fj = f(e.values[size_t(j)]);
        for (int64_t i = 0; i < n; ++i) scaled[size_t(i * n + j)] = e.vectors[size_t(i * n + j)] * fj;
    }
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < n; ++k) {
            const double s = scaled[size_t(i * n + k)];
            for (int64_t j = 0; j < n; ++j) out[size_t(i * n + j)] += s * e.vectors[size_t(j * n + k)];
        }
    return out;
}

}  // namespace mg::eval
