// Cyclic Jacobi: sweep over every pair (p, q) of the upper triangle and rotate rows and
// columns p, q so that a_pq becomes 0. Each rotation lowers the off-diagonal sum of
// squares by 2 a_pq^2; convergence is quadratic once the matrix is nearly diagonal, so
// a 128 x 128 covariance needs about 8-10 sweeps. The update formulas are the stable
// form (Rutishauser; Numerical Recipes' `jacobi`): tau = s / (1 + c), diagonal moved
// by t * a_pq, which keeps the round-off of the diagonal at the level of a_pq.
#include "models/eval/symmetric_eigen.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/base.h"

namespace mg::eval {

namespace {

double off_diagonal_norm(const std::vector<double>& a, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) s += a[size_t(i * n + j)] * a[size_t(i * n + j)];
    return std::sqrt(2 * s);
}

double frobenius_norm(const std::vector<double>& a) {
    double s = 0;
    for (double x : a) s += x * x;
    return std::sqrt(s);
}

// Rotates the plane (p, q) so that a_pq becomes 0: A <- J^T A J, V <- V J.
void rotate(std::vector<double>& a, std::vector<double>& v, int64_t n, int64_t p, int64_t q) {
    const double apq = a[size_t(p * n + q)];
    const double app = a[size_t(p * n + p)], aqq = a[size_t(q * n + q)];
    // t = tan(phi) is the smaller root of t^2 + 2 theta t - 1 = 0 (|phi| <= pi/4).
    const double theta = (aqq - app) / (2 * apq);
    double t = 1 / (std::abs(theta) + std::sqrt(theta * theta + 1));
    if (std::abs(theta) > 1e150) t = 1 / (2 * std::abs(theta));  // theta^2 would overflow
    if (theta < 0) t = -t;
    const double c = 1 / std::sqrt(t * t + 1), s = t * c, tau = s / (1 + c);

    a[size_t(p * n + p)] = app - t * apq;
    a[size_t(q * n + q)] = aqq + t * apq;
    a[size_t(p * n + q)] = a[size_t(q * n + p)] = 0;
    for (int64_t k = 0; k < n; ++k) {
        if (k == p || k == q) continue;
        const double akp = a[size_t(k * n + p)], akq = a[size_t(k * n + q)];
        const double new_kp = akp - s * (akq + tau * akp);
        const double new_kq = akq + s * (akp - tau * akq);
        a[size_t(k * n + p)] = a[size_t(p * n + k)] = new_kp;
        a[size_t(k * n + q)] = a[size_t(q * n + k)] = new_kq;
    }
    for (int64_t k = 0; k < n; ++k) {
        const double vkp = v[size_t(k * n + p)], vkq = v[size_t(k * n + q)];
        v[size_t(k * n + p)] = vkp - s * (vkq + tau * vkp);
        v[size_t(k * n + q)] = vkq + s * (vkp - tau * vkq);
    }
}

}  // namespace

SymmetricEigen symmetric_eigen(const std::vector<double>& input, int64_t n, double tol, int max_sweeps) {
    MG_CHECK(n >= 0, "symmetric_eigen: n must be >= 0, got {}", n);
    MG_CHECK(int64_t(input.size()) == n * n, "symmetric_eigen: expected {} x {} = {} values, got {}", n, n, n * n,
             input.size());
    MG_CHECK(tol > 0 && max_sweeps >= 1, "symmetric_eigen: needs tol > 0 and max_sweeps >= 1, got {} and {}", tol,
             max_sweeps);
    for (size_t i = 0; i < input.size(); ++i)
        MG_CHECK(std::isfinite(input[i]), "symmetric_eigen: element ({}, {}) of the {} x {} matrix is {}",
                 int64_t(i) / n, int64_t(i) % n, n, n, input[i]);
    const double norm = frobenius_norm(input);
    // Mirror the upper triangle; the lower one may differ only by round-off.
    std::vector<double> a = input;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) {
            const double upper = a[size_t(i * n + j)], lower = a[size_t(j * n + i)];
            MG_CHECK(std::abs(upper - lower) <= 1e-8 * norm,
                     "symmetric_eigen: the {} x {} matrix is not symmetric: a[{},{}] = {} but a[{},{}] = {}", n, n, i,
                     j, upper, j, i, lower);
            a[size_t(j * n + i)] = upper;
        }

    SymmetricEigen out;
    out.n = n;
    std::vector<double> v(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1;
    const double target = tol * norm;
    double off = off_diagonal_norm(a, n);
    while (off > target) {
        MG_CHECK(out.sweeps < max_sweeps,
                 "symmetric_eigen: no convergence on a {} x {} matrix after {} sweeps (off-diagonal norm {:.3g} > "
                 "tol {:.3g} * ||a|| {:.3g})",
                 n, n, max_sweeps, off, tol, norm);
        for (int64_t p = 0; p < n; ++p)
            for (int64_t q = p + 1; q < n; ++q)
                if (a[size_t(p * n + q)] != 0) rotate(a, v, n, p, q);
        ++out.sweeps;
        off = off_diagonal_norm(a, n);
    }
    out.off_diagonal = norm > 0 ? off / norm : 0.0;

    // Ascending order, eigenvectors moved along with their values.
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return a[size_t(x * n + x)] < a[size_t(y * n + y)]; });
    out.values.resize(size_t(n));
    out.vectors.resize(size_t(n * n));
    for (int64_t j = 0; j < n; ++j) {
        const int64_t src = order[size_t(j)];
        out.values[size_t(j)] = a[size_t(src * n + src)];
        for (int64_t i = 0; i < n; ++i) out.vectors[size_t(i * n + j)] = v[size_t(i * n + src)];
    }
    return out;
}

}  // namespace mg::eval
