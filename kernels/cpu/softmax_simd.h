// The "avx2" and "avx512" softmax / log-softmax / cross-entropy kernels (kernels/softmax.h),
// one template over the vector traits of kernels/cpu/simd.h; isa_avx512.cpp and isa_avx2.cpp
// instantiate it. What changes from the reference (softmax.cpp):
//   - e^x is simd::exp (about 1 ulp in float32) instead of libm's, L lanes at a time;
//   - inner = 1 (rows contiguous): a row is walked in vectors along the classes, two
//     accumulators per pass (max, then sum of e^(x - max)), horizontal reductions once
//     per row; a float32 row accumulates in float32 lanes (the reference in double);
//   - inner > 1 (NCHW logits): chunks of up to 1024 neighbouring rows are computed
//     together, one row per lane, the classes in the outer loop: x streams in address
//     order, per-row state stays in L1, and there are no horizontal reductions;
//   - rows are split across OpenMP threads above kSoftmaxParallelMin elements. Each row is
//     computed by one thread in a fixed order, so results do not depend on the thread count.
// Targets are checked here; the count of bad ones goes to cpu::check_cross_entropy_targets
// (softmax.cpp, compiled for the baseline ISA), which formats the error.
#pragma once

#include <math.h>

#include <limits>
#include <type_traits>

#include "kernels/cpu/isa_kernels.h"
#include "kernels/cpu/simd.h"
#include "kernels/softmax.h"

namespace mg::kernels::simd {
namespace {

constexpr int64_t kSoftmaxParallelMin = 1 << 15;  // elements; below this a call takes < ~10 µs

inline float scalar_log(float x) { return ::logf(x); }
inline double scalar_log(double x) { return ::log(x); }
inline int64_t lanes_left(int64_t n, int64_t L) { return n < L ? n : L; }

template <class S> struct Softmax {
    using T = typename S::T;
    using V = typename S::V;
    static constexpr int64_t L = S::L;
    static constexpr T kNegInf = -std::numeric_limits<T>::infinity();

    // A vector of k lanes (k <= L) from p; full vectors take the plain load.
    static V ld(const T* p, int64_t k, T fill) { return k == L ? S::load(p) : S::load_part(p, k, fill); }
    static void st(T* p, V v, int64_t k) {
        if (k == L) S::store(p, v);
        else S::store_part(p, v, k);
    }

    // ---- contiguous rows ----------------------------------------------------------------
    static T row_max(const T* x, int64_t n) {
        V m0 = S::set1(kNegInf), m1 = m0;
        int64_t c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            m0 = S::max(m0, S::load(x + c));
            m1 = S::max(m1, S::load(x + c + L));
        }
        for (; c < n; c += L) m0 = S::max(m0, ld(x + c, lanes_left(n - c, L), kNegInf));
        return S::reduce_max(S::max(m0, m1));
    }
    // sum_c e^(x_c - shift); with Store also y_c = e^(x_c - shift).
    template <bool Store> static T row_sum_exp(const T* x, T* y, int64_t n, T shift) {
        const V sh = S::set1(shift);
        V s0 = S::zero(), s1 = S::zero();
        int64_t c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            V e0 = simd::exp<S>(S::sub(S::load(x + c), sh));
            V e1 = simd::exp<S>(S::sub(S::load(x + c + L), sh));
            if constexpr (Store) {
                S::store(y + c, e0);
                S::store(y + c + L, e1);
            }
            s0 = S::add(s0, e0);
            s1 = S::add(s1, e1);
        }
        for (; c < n; c += L) {
            const int64_t k = lanes_left(n - c, L);
            V e = simd::exp<S>(S::sub(ld(x + c, k, kNegInf), sh));  // filled lanes: e^-inf = 0
            if constexpr (Store) st(y + c, e, k);
            s0 = S::add(s0, e);
        }
        return S::reduce_add(S::add(s0, s1));
    }
    static T row_sum(const T* x, int64_t n) {
        V s0 = S::zero(), s1 = S::zero();
        int64_t c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            s0 = S::add(s0, S::load(x + c));
            s1 = S::add(s1, S::load(x + c + L));
        }
        for (; c < n; c += L) s0 = S::add(s0, ld(x + c, lanes_left(n - c, L), T(0)));
        return S::reduce_add(S::add(s0, s1));
    }
    static T row_dot(const T* a, const T* b, int64_t n) {
        V s0 = S::zero(), s1 = S::zero();
        int64_t c = 0;
        for (; c + 2 * L <= n; c += 2 * L) {
            s0 = S::fmadd(S::load(a + c), S::load(b + c), s0);
            s1 = S::fmadd(S::load(a + c + L), S::load(b + c + L), s1);
        }
        for (; c < n; c += L) {
            const int64_t k = lanes_left(n - c, L);
            s0 = S::fmadd(ld(a + c, k, T(0)), ld(b + c, k, T(0)), s0);
        }
        return S::reduce_add(S::add(s0, s1));
    }
    // y_c = f(x_c) over a row, f on vectors.
    template <class F> static void row_map(const T* x, T* y, int64_t n, F f) {
        for (int64_t c = 0; c < n; c += L) {
            const int64_t k = lanes_left(n - c, L);
            st(y + c, f(ld(x + c, k, T(0))), k);
        }
    }
    template <class F> static void row_map2(const T* a, const T* b, T* y, int64_t n, F f) {
        for (int64_t c = 0; c < n; c += L) {
            const int64_t k = lanes_left(n - c, L);
            st(y + c, f(ld(a + c, k, T(0)), ld(b + c, k, T(0))), k);
        }
    }

    // ---- chunks of rows along inner ----------------------------------------------------------
    // A chunk is up to kChunk neighbouring rows (of one outer index): its per-row state (max,
    // sum) lives in small L1 buffers, and every pass walks the classes in the outer loop and
    // the chunk's rows in the inner one, so x is read (and gx written) as one contiguous run of
    // the chunk's width at a time (3 KB at inner = 784), in address order. Measured at the
    // pixelcnn shape, one thread: walking a tile of 64 rows down all the classes (a new page
    // at every step) was 1.3x slower in the backward; interleaving 8 classes per pass over the
    // run (8 streams) 1.9x slower; the state's extra L1 loads and stores cost the forward
    // about 1.5x against contiguous rows.
    static constexpr int64_t kChunk = 1024;
    struct Chunk {
        int64_t offset, row, width;  // of its first element, its first row, its row count
    };
    static int64_t chunks(const SoftmaxShape& s) { return s.outer * ((s.inner + kChunk - 1) / kChunk); }
    static Chunk chunk(const SoftmaxShape& s, int64_t b) {
        const int64_t per = (s.inner + kChunk - 1) / kChunk;
        const int64_t o = b / per, i0 = (b % per) * kChunk;
        return {o * s.classes * s.inner + i0, o * s.inner + i0, lanes_left(s.inner - i0, kChunk)};
    }
    // f(offset within the run, lanes) over a chunk's run of `width` values, one vector at a time.
    template <class F> static void over_run(int64_t width, F&& f) {
        for (int64_t j = 0; j < width; j += L) f(j, lanes_left(width - j, L));
    }
    // Per row of the chunk: m = max over the classes, sum = sum of e^(x - m).
    static void chunk_max_sum(const T* x, int64_t classes, int64_t stride, int64_t width, T* m, T* sum) {
        over_run(width, [&](int64_t j, int64_t k) {
            st(m + j, S::set1(kNegInf), k);
            st(sum + j, S::zero(), k);
        });
        for (int64_t c = 0; c < classes; ++c) {
            const T* xc = x + c * stride;
            over_run(width, [&](int64_t j, int64_t k) {
                st(m + j, S::max(ld(m + j, k, T(0)), ld(xc + j, k, T(0))), k);
            });
        }
        for (int64_t c = 0; c < classes; ++c) {
            const T* xc = x + c * stride;
            over_run(width, [&](int64_t j, int64_t k) {
                V e = simd::exp<S>(S::sub(ld(xc + j, k, T(0)), ld(m + j, k, T(0))));
                st(sum + j, S::add(ld(sum + j, k, T(0)), e), k);
            });
        }
    }

    static bool parallel(const SoftmaxShape& s) { return s.outer * s.classes * s.inner >= kSoftmaxParallelMin; }

    // f(r) for every row r (inner = 1), or f(chunk) for every chunk of rows (inner > 1), split
    // across OpenMP threads for large tensors; returns the sum of what f returns (the count of
    // bad targets), 0 when f returns nothing.
    template <class Item, class F> static int64_t for_each(const SoftmaxShape& s, int64_t count, Item item, F&& f) {
        int64_t total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (parallel(s))
        for (int64_t i = 0; i < count; ++i) {
            if constexpr (std::is_void_v<decltype(f(item(i)))>) f(item(i));
            else total += f(item(i));
        }
        return total;
    }
    template <class F> static int64_t for_each_row(const SoftmaxShape& s, F&& f) {
        return for_each(s, s.outer, [](int64_t r) { return r; }, f);
    }
    template <class F> static int64_t for_each_chunk(const SoftmaxShape& s, F&& f) {
        return for_each(s, chunks(s), [&s](int64_t b) { return chunk(s, b); }, f);
    }

    // ---- kernels --------------------------------------------------------------------------
    static void forward(const SoftmaxShape& s, const T* x, T* y, bool log) {
        const int64_t C = s.classes;
        if (s.inner == 1) {
            for_each_row(s, [&](int64_t r) {
                const T* xr = x + r * C;
                T* yr = y + r * C;
                const T m = row_max(xr, C);
                if (log) {
                    const V lse = S::set1(m + scalar_log(row_sum_exp<false>(xr, nullptr, C, m)));
                    row_map(xr, yr, C, [&](V v) { return S::sub(v, lse); });
                } else {
                    const V inv = S::set1(T(1) / row_sum_exp<true>(xr, yr, C, m));
                    row_map(yr, yr, C, [&](V v) { return S::mul(v, inv); });
                }
            });
            return;
        }
        const int64_t stride = s.inner;
        for_each_chunk(s, [&](const Chunk& ch) {
            const T* xb = x + ch.offset;
            T* yb = y + ch.offset;
            alignas(64) T m[kChunk], sum[kChunk];
            chunk_max_sum(xb, C, stride, ch.width, m, sum);
            // shift: lse (log) or 1 / sum (softmax), per row
            for (int64_t j = 0; j < ch.width; ++j) sum[j] = log ? m[j] + scalar_log(sum[j]) : T(1) / sum[j];
            for (int64_t c = 0; c < C; ++c)
                over_run(ch.width, [&](int64_t j, int64_t k) {
                    V xv = ld(xb + c * stride + j, k, T(0)), sh = ld(sum + j, k, T(0));
                    V yv = log ? S::sub(xv, sh) : S::mul(simd::exp<S>(S::sub(xv, ld(m + j, k, T(0)))), sh);
                    st(yb + c * stride + j, yv, k);
                });
        });
    }

    static void backward(const SoftmaxShape& s, const T* y, const T* gy, T* gx, bool log) {
        const int64_t C = s.classes;
        if (s.inner == 1) {
            for_each_row(s, [&](int64_t r) {
                const T* yr = y + r * C;
                const T* gr = gy + r * C;
                T* out = gx + r * C;
                if (log) {
                    const V total = S::set1(row_sum(gr, C));  // gx = gy - e^y sum(gy)
                    row_map2(yr, gr, out, C, [&](V yv, V gv) { return S::fnmadd(simd::exp<S>(yv), total, gv); });
                } else {
                    const V dot = S::set1(row_dot(gr, yr, C));  // gx = y (gy - sum(gy y))
                    row_map2(yr, gr, out, C, [&](V yv, V gv) { return S::mul(yv, S::sub(gv, dot)); });
                }
            });
            return;
        }
        const int64_t stride = s.inner;
        for_each_chunk(s, [&](const Chunk& ch) {
            const T* yb = y + ch.offset;
            const T* gb = gy + ch.offset;
            T* out = gx + ch.offset;
            alignas(64) T acc[kChunk];  // log: sum gy; softmax: sum gy*y
            over_run(ch.width, [&](int64_t j, int64_t k) { st(acc + j, S::zero(), k); });
            for (int64_t c = 0; c < C; ++c)
                over_run(ch.width, [&](int64_t j, int64_t k) {
                    V gv = ld(gb + c * stride + j, k, T(0)), a = ld(acc + j, k, T(0));
                    st(acc + j, log ? S::add(a, gv) : S::fmadd(gv, ld(yb + c * stride + j, k, T(0)), a), k);
                });
            for (int64_t c = 0; c < C; ++c)
                over_run(ch.width, [&](int64_t j, int64_t k) {
                    const int64_t off = c * stride + j;
                    V yv = ld(yb + off, k, T(0)), gv = ld(gb + off, k, T(0)), a = ld(acc + j, k, T(0));
                    st(out + off, log ? S::fnmadd(simd::exp<S>(yv), a, gv) : S::mul(yv, S::sub(gv, a)), k);
                });
        });
    }

    // Returns the number of targets outside [0, classes).
    static int64_t xent_forward(const SoftmaxShape& s, const T* x, const int64_t* target, T* loss, T* lse) {
        const int64_t C = s.classes;
        const T nan = std::numeric_limits<T>::quiet_NaN();
        // Row r's lse l and its loss l - x_target, the target read from `row` (stride apart).
        const auto finish = [&](int64_t r, T l, const T* row, int64_t stride) -> int64_t {
            lse[r] = l;
            const int64_t t = target[r];
            const bool ok = t >= 0 && t < C;
            loss[r] = ok ? l - row[t * stride] : nan;
            return ok ? 0 : 1;
        };
        if (s.inner == 1)
            return for_each_row(s, [&](int64_t r) {
                const T* xr = x + r * C;
                const T m = row_max(xr, C);
                return finish(r, m + scalar_log(row_sum_exp<false>(xr, nullptr, C, m)), xr, 1);
            });
        return for_each_chunk(s, [&](const Chunk& ch) {
            const T* xb = x + ch.offset;
            alignas(64) T m[kChunk], sum[kChunk];
            chunk_max_sum(xb, C, s.inner, ch.width, m, sum);
            int64_t bad = 0;
            for (int64_t j = 0; j < ch.width; ++j) bad += finish(ch.row + j, m[j] + scalar_log(sum[j]), xb + j, s.inner);
            return bad;
        });
    }

    // Returns the number of targets outside [0, classes) (their rows get no -1 term).
    static int64_t xent_backward(const SoftmaxShape& s, const T* x, const int64_t* target, const T* lse,
                                 const T* grad, int64_t grad_stride, double scale, T* gx) {
        const int64_t C = s.classes;
        // The -1 term of row r's target (out: the row's element 0, stride apart); 1 if it is bad.
        const auto subtract_target = [&](int64_t r, T* out, int64_t stride, T g) -> int64_t {
            const int64_t t = target[r];
            if (t < 0 || t >= C) return 1;
            out[t * stride] -= g;
            return 0;
        };
        if (s.inner == 1)
            return for_each_row(s, [&](int64_t r) {
                const T* xr = x + r * C;
                T* out = gx + r * C;
                const T g = T(double(grad[r * grad_stride]) * scale);
                const V l = S::set1(lse[r]), gv = S::set1(g);
                row_map(xr, out, C, [&](V v) { return S::mul(simd::exp<S>(S::sub(v, l)), gv); });
                return subtract_target(r, out, 1, g);
            });
        const int64_t stride = s.inner;
        return for_each_chunk(s, [&](const Chunk& ch) {
            const T* xb = x + ch.offset;
            const T* l = lse + ch.row;  // the chunk's rows are contiguous in lse and grad
            T* out = gx + ch.offset;
            alignas(64) T g[kChunk];
            for (int64_t j = 0; j < ch.width; ++j) g[j] = T(double(grad[(ch.row + j) * grad_stride]) * scale);
            for (int64_t c = 0; c < C; ++c)
                over_run(ch.width, [&](int64_t j, int64_t k) {
                    const int64_t off = c * stride + j;
                    V e = simd::exp<S>(S::sub(ld(xb + off, k, T(0)), ld(l + j, k, T(0))));
                    st(out + off, S::mul(e, ld(g + j, k, T(0))), k);
                });
            int64_t bad = 0;
            for (int64_t j = 0; j < ch.width; ++j) bad += subtract_target(ch.row + j, out + j, stride, g[j]);
            return bad;
        });
    }
};

// The tables' entries (kernels/softmax.h).
template <class S> void softmax_forward(const SoftmaxShape& s, const void* x, void* y, bool log) {
    using T = typename S::T;
    Softmax<S>::forward(s, static_cast<const T*>(x), static_cast<T*>(y), log);
}
template <class S> void softmax_backward(const SoftmaxShape& s, const void* y, const void* gy, void* gx, bool log) {
    using T = typename S::T;
    Softmax<S>::backward(s, static_cast<const T*>(y), static_cast<const T*>(gy), static_cast<T*>(gx), log);
}
template <class S>
void cross_entropy_forward(const SoftmaxShape& s, const void* x, const int64_t* t, void* loss, void* lse) {
    using T = typename S::T;
    const int64_t bad = Softmax<S>::xent_forward(s, static_cast<const T*>(x), t, static_cast<T*>(loss),
                                                 static_cast<T*>(lse));
    cpu::check_cross_entropy_targets(bad, s);
}
template <class S>
void cross_entropy_backward(const SoftmaxShape& s, const void* x, const int64_t* t, const void* lse, const void* g,
                            int64_t gs, double scale, void* gx) {
    using T = typename S::T;
    const int64_t bad = Softmax<S>::xent_backward(s, static_cast<const T*>(x), t, static_cast<const T*>(lse),
                                                  static_cast<const T*>(g), gs, scale, static_cast<T*>(gx));
    cpu::check_cross_entropy_targets(bad, s);
}

}  // namespace
}  // namespace mg::kernels::simd
