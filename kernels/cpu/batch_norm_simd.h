// The "avx2" and "avx512" batch-norm kernels (kernels/batch_norm.h), one template over the
// vector traits of kernels/cpu/simd.h; isa_avx512.cpp and isa_avx2.cpp instantiate it. What
// changes from the reference (batch_norm.cpp):
//   - hw > 1 (NCHW): a channel is n runs of hw contiguous values; each run is read in
//     vectors (a masked one for the tail). Sums go into double lanes (float data is widened
//     after the subtraction of the shift, which is exact or rounds once), and the lanes are
//     added up once per channel. Channels are split across OpenMP threads.
//   - hw = 1 ([N, C]): L neighbouring channels share a vector, one channel per lane, and the
//     rows are walked in order; blocks of channels are split across threads.
//   - y and grad_x are computed in the data type with FMAs: y = (x - mean) * scale + bias,
//     grad_x = A g + B (x - mean) + C with per-channel A, B, C computed in double.
//   - batch_norm_act: the activation is a select on each y vector before it is stored. The
//     backward's first pass reads y beside g, selects g or slope g, sums that and stores it in
//     grad_x; the second pass reads it back from there (the channel is still in cache) instead
//     of g, so it is the plain kernel's. With the extra stream (y) it takes 1.5-1.7x the plain
//     backward's time at dcgan's shapes: about the plain backward plus the activation's own
//     backward pass, which it replaces (docs/results/2026-12-07-bn-act-fusion.md).
//     Template arguments: the plain kernels stay as they were.
// Each channel's sums run on one thread in a fixed order: results do not depend on the
// thread count.
#pragma once

#include <math.h>

#include "kernels/batch_norm.h"
#include "kernels/cpu/isa_kernels.h"
#include "kernels/cpu/simd.h"

namespace mg::kernels::simd {
namespace {

constexpr int64_t kBatchNormParallelMin = 1 << 15;  // elements

template <class S> struct BatchNorm {
    using T = typename S::T;
    using V = typename S::V;
    using D = F64;
    using DV = typename D::V;
    static constexpr int64_t L = S::L;
    static constexpr int64_t kWide = 2 * D::L;  // lanes of the double accumulators (float: L)

    using Act = BatchNormActivation;

    static V ld(const T* p, int64_t k, T fill) { return k == L ? S::load(p) : S::load_part(p, k, fill); }
    static void st(T* p, V v, int64_t k) {
        if (k == L) S::store(p, v);
        else S::store_part(p, v, k);
    }
    static int64_t min(int64_t a, int64_t b) { return a < b ? a : b; }

    // Double lanes: s1 += u, s2 += u v. A float vector fills both halves (lo, hi); a double
    // vector only lo.
    struct Sums {
        DV s1lo = D::zero(), s1hi = D::zero(), s2lo = D::zero(), s2hi = D::zero();
        void add(V u, V v) {
            if constexpr (sizeof(T) == 4) {
                DV ul, uh, vl, vh;
                S::widen(u, ul, uh);
                S::widen(v, vl, vh);
                s1lo = D::add(s1lo, ul);
                s1hi = D::add(s1hi, uh);
                s2lo = D::fmadd(ul, vl, s2lo);
                s2hi = D::fmadd(uh, vh, s2hi);
            } else {
                s1lo = D::add(s1lo, u);
                s2lo = D::fmadd(u, v, s2lo);
            }
        }
        double total1() const { return D::reduce_add(D::add(s1lo, s1hi)); }
        double total2() const { return D::reduce_add(D::add(s2lo, s2hi)); }
        // Lane j of each sum (j < L), for the one-channel-per-lane layout.
        void lanes(double* s1, double* s2) const {
            D::store(s1, s1lo);
            D::store(s1 + D::L, s1hi);
            D::store(s2, s2lo);
            D::store(s2 + D::L, s2hi);
        }
    };

    // f(offset, k) for each vector of channel c (hw > 1): n runs of hw values.
    template <class F> static void channel_vectors(const BatchNormShape& s, int64_t c, F&& f) {
        for (int64_t i = 0; i < s.n; ++i) {
            const int64_t base = (i * s.c + c) * s.hw;
            for (int64_t j = 0; j < s.hw; j += L) f(base + j, min(L, s.hw - j));
        }
    }

    static bool parallel(const BatchNormShape& s) { return s.n * s.c * s.hw >= kBatchNormParallelMin; }

    // The per-channel results of the statistics: mean and invstd, and the running update.
    static void finish_stats(const BatchNormForwardArgs& a, int64_t c, double k, double s1, double s2, double& mean,
                             double& invstd) {
        const double m = double(a.shape.count());
        T* rm = static_cast<T*>(a.running_mean);
        T* rv = static_cast<T*>(a.running_var);
        double var;
        if (a.training) {
            mean = k + s1 / m;
            var = (s2 - s1 * s1 / m) / m;
            var = var > 0 ? var : 0.0;
            if (rm && rv) {
                rm[c] = T((1.0 - a.momentum) * double(rm[c]) + a.momentum * mean);
                rv[c] = T((1.0 - a.momentum) * double(rv[c]) + a.momentum * var * m / (m > 1 ? m - 1.0 : 1.0));
            }
        } else {
            mean = double(rm[c]);
            var = double(rv[c]);
        }
        invstd = 1.0 / ::sqrt(var + a.eps);
        if (a.save_mean) static_cast<T*>(a.save_mean)[c] = T(mean);
        if (a.save_invstd) static_cast<T*>(a.save_invstd)[c] = T(invstd);
    }

    // The activation on normalised values v (kernels/elementwise_ops.h's Relu and LeakyRelu).
    template <Act::Kind K> static V activate(V v, V slope) {
        if constexpr (K == Act::None) return v;
        else if constexpr (K == Act::Relu) return S::select(S::gt(v, S::zero()), v, S::zero());
        else return S::select(S::gt(v, S::zero()), v, S::mul(slope, v));
    }

    // The gradient through the activation for g at the n outputs y + off: y > 0 ? g : slope g
    // (LeakyReluBackward; relu's slope is 0). Filled lanes: y = 0, so slope * (filled g).
    // Masked: also stored at gx + off (when there is a grad_x) for the second pass.
    template <bool Masked> static V through_act(V g, const T* y, T* gx, int64_t off, int64_t n, V slope) {
        if constexpr (!Masked) return g;
        V gv = S::select(S::gt(ld(y + off, n, T(0)), S::zero()), g, S::mul(slope, g));
        if (gx) st(gx + off, gv, n);
        return gv;
    }

    static void forward(const BatchNormForwardArgs& a) { forward_with<Act::None>(a, T(0)); }
    static void forward_act(const BatchNormActForwardArgs& a) {
        cpu::check_batch_norm_activation("batch_norm_act_forward", a.act);
        if (a.act.kind == Act::None) forward_with<Act::None>(a.bn, T(0));
        else if (a.act.kind == Act::Relu) forward_with<Act::Relu>(a.bn, T(0));
        else forward_with<Act::LeakyRelu>(a.bn, T(a.act.slope));
    }

    template <Act::Kind K> static void forward_with(const BatchNormForwardArgs& a, T slope_value) {
        const BatchNormShape& s = a.shape;
        const V slope = S::set1(slope_value);
        const T* x = static_cast<const T*>(a.x);
        const T* w = static_cast<const T*>(a.weight);
        const T* b = static_cast<const T*>(a.bias);
        T* y = static_cast<T*>(a.y);
        if (s.hw > 1) {
#pragma omp parallel for schedule(static) if (parallel(s))
            for (int64_t c = 0; c < s.c; ++c) {
                const T k = x[c * s.hw];
                Sums sums;
                if (a.training) {
                    const V vk = S::set1(k);
                    channel_vectors(s, c, [&](int64_t off, int64_t n) {
                        V d = S::sub(ld(x + off, n, k), vk);  // filled lanes: d = 0
                        sums.add(d, d);
                    });
                }
                double mean, invstd;
                finish_stats(a, c, double(k), sums.total1(), sums.total2(), mean, invstd);
                const V vmean = S::set1(T(mean));
                const V scale = S::set1(T((w ? double(w[c]) : 1.0) * invstd));
                const V shift = S::set1(b ? b[c] : T(0));
                channel_vectors(s, c, [&](int64_t off, int64_t n) {
                    st(y + off, activate<K>(S::fmadd(S::sub(ld(x + off, n, T(0)), vmean), scale, shift), slope), n);
                });
            }
            return;
        }
        // [N, C]: one channel per lane.
        const int64_t blocks = (s.c + L - 1) / L;
#pragma omp parallel for schedule(static) if (parallel(s))
        for (int64_t cb = 0; cb < blocks; ++cb) {
            const int64_t c0 = cb * L, k = min(L, s.c - c0);
            const V vk = ld(x + c0, k, T(0));  // row 0 shifts each channel
            Sums sums;
            if (a.training)
                for (int64_t i = 0; i < s.n; ++i) {
                    V d = S::sub(ld(x + i * s.c + c0, k, T(0)), vk);
                    sums.add(d, d);
                }
            alignas(64) double s1[kWide], s2[kWide];
            alignas(64) T kv[L], mean_t[L], scale_t[L], shift_t[L];
            sums.lanes(s1, s2);
            S::store(kv, vk);
            for (int64_t j = 0; j < L; ++j) {
                mean_t[j] = scale_t[j] = shift_t[j] = T(0);
                if (j >= k) continue;
                double mean, invstd;
                finish_stats(a, c0 + j, double(kv[j]), s1[j], s2[j], mean, invstd);
                mean_t[j] = T(mean);
                scale_t[j] = T((w ? double(w[c0 + j]) : 1.0) * invstd);
                shift_t[j] = b ? b[c0 + j] : T(0);
            }
            const V vmean = S::load(mean_t), scale = S::load(scale_t), shift = S::load(shift_t);
            for (int64_t i = 0; i < s.n; ++i) {
                const int64_t off = i * s.c + c0;
                st(y + off, activate<K>(S::fmadd(S::sub(ld(x + off, k, T(0)), vmean), scale, shift), slope), k);
            }
        }
    }

    // grad_x = A g + B (x - mean) + C: A = w invstd, B = -w invstd^3 sum(g d) / M,
    // C = -w invstd sum(g) / M, d = x - mean.
    static void coefficients(const BatchNormBackwardArgs& a, int64_t c, double sum_g, double sum_gd, T& ca, T& cb,
                             T& cc) {
        const double m = double(a.shape.count());
        const double invstd = double(static_cast<const T*>(a.save_invstd)[c]);
        const double w = a.weight ? double(static_cast<const T*>(a.weight)[c]) : 1.0;
        if (a.grad_bias) static_cast<T*>(a.grad_bias)[c] = T(sum_g);
        if (a.grad_weight) static_cast<T*>(a.grad_weight)[c] = T(sum_gd * invstd);
        ca = T(w * invstd);
        cb = T(-w * invstd * invstd * invstd * sum_gd / m);
        cc = T(-w * invstd * sum_g / m);
    }

    static void backward(const BatchNormBackwardArgs& a) { backward_with<false>(a, nullptr, T(0)); }
    static void backward_act(const BatchNormActBackwardArgs& a) {
        cpu::check_batch_norm_activation("batch_norm_act_backward", a.act);
        if (a.act.kind == Act::None) backward_with<false>(a.bn, nullptr, T(0));
        else backward_with<true>(a.bn, static_cast<const T*>(a.y), T(a.act.negative_slope()));
    }

    // Masked: grad_y is the gradient of the activation's output y_act, slope its negative slope.
    template <bool Masked> static void backward_with(const BatchNormBackwardArgs& a, const T* y_act, T slope_value) {
        const BatchNormShape& s = a.shape;
        const V slope = S::set1(slope_value);
        const T* x = static_cast<const T*>(a.x);
        const T* g = static_cast<const T*>(a.grad_y);
        const T* mean_ = static_cast<const T*>(a.save_mean);
        T* gx = static_cast<T*>(a.grad_x);
        const T* g_norm = Masked ? gx : g;  // the second pass's gradient of the normalised value
        if (s.hw > 1) {
#pragma omp parallel for schedule(static) if (parallel(s))
            for (int64_t c = 0; c < s.c; ++c) {
                const V vmean = S::set1(mean_[c]);
                Sums sums;
                channel_vectors(s, c, [&](int64_t off, int64_t n) {
                    V gv = through_act<Masked>(ld(g + off, n, T(0)), y_act, gx, off, n, slope);  // filled lanes: 0
                    sums.add(gv, S::sub(ld(x + off, n, T(0)), vmean));
                });
                T ca, cb, cc;
                coefficients(a, c, sums.total1(), sums.total2(), ca, cb, cc);
                if (!gx) continue;
                const V va = S::set1(ca), vb = S::set1(cb), vc = S::set1(cc);
                channel_vectors(s, c, [&](int64_t off, int64_t n) {
                    V d = S::sub(ld(x + off, n, T(0)), vmean);
                    st(gx + off, S::fmadd(va, ld(g_norm + off, n, T(0)), S::fmadd(vb, d, vc)), n);
                });
            }
            return;
        }
        const int64_t blocks = (s.c + L - 1) / L;
#pragma omp parallel for schedule(static) if (parallel(s))
        for (int64_t cb0 = 0; cb0 < blocks; ++cb0) {
            const int64_t c0 = cb0 * L, k = min(L, s.c - c0);
            const V vmean = ld(mean_ + c0, k, T(0));
            Sums sums;
            for (int64_t i = 0; i < s.n; ++i) {
                const int64_t off = i * s.c + c0;
                sums.add(through_act<Masked>(ld(g + off, k, T(0)), y_act, gx, off, k, slope),
                         S::sub(ld(x + off, k, T(0)), vmean));
            }
            alignas(64) double s1[kWide], s2[kWide];
            alignas(64) T av[L], bv[L], cv[L];
            sums.lanes(s1, s2);
            for (int64_t j = 0; j < L; ++j) {
                av[j] = bv[j] = cv[j] = T(0);
                if (j < k) coefficients(a, c0 + j, s1[j], s2[j], av[j], bv[j], cv[j]);
            }
            if (!gx) continue;
            const V va = S::load(av), vb = S::load(bv), vc = S::load(cv);
            for (int64_t i = 0; i < s.n; ++i) {
                const int64_t off = i * s.c + c0;
                V d = S::sub(ld(x + off, k, T(0)), vmean);
                st(gx + off, S::fmadd(va, ld(g_norm + off, k, T(0)), S::fmadd(vb, d, vc)), k);
            }
        }
    }
};

}  // namespace
}  // namespace mg::kernels::simd
