// causal_attention: the kernels against the reference, the reference against the composed
// ops (matmul, masked softmax, matmul), the op's gradients, its errors, and its memory.
// gradcheck / gradgradcheck cases are in test_gradcheck.cpp.
#include <omp.h>

#include "core/allocator.h"
#include "core/ops/attention.h"
#include "helpers.h"
#include "kernels/attention.h"

using namespace mg;
using namespace mg::test;
namespace K = mg::kernels;

namespace {

constexpr Device kCpu = Device::CPU;

// [B, H, T, D]: one row, tile tails (7, 65, 100), whole tiles (64, 128), odd D (5: padding to
// the vector width), ImageGPT's T = 784.
const K::AttentionShape kShapes[] = {{1, 1, 1, 16}, {1, 2, 7, 16}, {2, 1, 64, 32}, {1, 2, 65, 5},
                                     {1, 2, 100, 64}, {1, 1, 128, 32}, {1, 1, 784, 32}};

Tensor random_qkv(const K::AttentionShape& s, DType dt, uint64_t seed, double scale = 1.0) {
    manual_seed(seed);
    return rand({s.batch, s.heads, s.seq, s.head_dim}, {dt}, -scale, scale);
}

struct Outputs {
    Tensor out, lse, gq, gk, gv;
};

// One variant's forward, and its backward from the given forward (so that only the backward is
// compared): the outputs start as NaN, so an element never written shows.
Outputs run_variant(const std::string& variant, const K::AttentionShape& s, DType dt, const Tensor& q,
                    const Tensor& k, const Tensor& v, const Tensor& go, const Outputs* forward_from) {
    const TensorOptions o{dt};
    const Shape shape = q.shape(), rows{s.batch, s.heads, s.seq};
    Outputs r{full(shape, NAN, o), full(rows, NAN, o), full(shape, NAN, o), full(shape, NAN, o), full(shape, NAN, o)};
    K::attention_forward_table().get(variant, kCpu, dt)(s, q.raw_data(), k.raw_data(), v.raw_data(), r.out.raw_data(),
                                                       r.lse.raw_data());
    const Outputs& f = forward_from ? *forward_from : r;
    K::attention_backward_table().get(variant, kCpu, dt)(s, q.raw_data(), k.raw_data(), v.raw_data(),
                                                        f.out.raw_data(), f.lse.raw_data(), go.raw_data(),
                                                        r.gq.raw_data(), r.gk.raw_data(), r.gv.raw_data());
    return r;
}

}  // namespace

TEST_CASE("attention: every kernel variant matches the reference, in both dtypes") {
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double rtol = dt == DType::Float32 ? 1e-4 : 1e-11, atol = dt == DType::Float32 ? 2e-5 : 1e-12;
        for (K::AttentionShape s : kShapes) {
            s.scale = 1.0 / std::sqrt(double(s.head_dim));
            const Tensor q = random_qkv(s, dt, 1, 2.0), k = random_qkv(s, dt, 2, 2.0), v = random_qkv(s, dt, 3);
            const Tensor go = random_qkv(s, dt, 4);
            const Outputs ref = run_variant("reference", s, dt, q, k, v, go, nullptr);
            const std::vector<std::string> variants = cpu_variants(K::attention_forward_table(), dt);
            CHECK(variants.size() >= 1);
            for (const std::string& name : variants) {
                if (name == "reference") continue;
                CAPTURE(name);
                CAPTURE(dt);
                CAPTURE(s.batch * s.heads);
                CAPTURE(s.seq);
                CAPTURE(s.head_dim);
                const Outputs r = run_variant(name, s, dt, q, k, v, go, &ref);
                check_close(r.out, ref.out, rtol, atol);
                check_close(r.lse, ref.lse, rtol, atol);
                check_close(r.gq, ref.gq, rtol, 4 * atol);
                check_close(r.gk, ref.gk, rtol, 4 * atol);
                check_close(r.gv, ref.gv, rtol, 4 * atol);
            }
        }
    }
}

TEST_CASE("attention: the reference kernels match the composed ops, values and gradients") {
    for (K::AttentionShape s : {K::AttentionShape{1, 2, 7, 16}, K::AttentionShape{1, 1, 100, 32}}) {
        CAPTURE(s.seq);
        s.scale = 0.3;
        const Tensor q = random_qkv(s, DType::Float64, 5, 2.0), k = random_qkv(s, DType::Float64, 6, 2.0),
                     v = random_qkv(s, DType::Float64, 7), go = random_qkv(s, DType::Float64, 8);
        const Outputs ref = run_variant("reference", s, DType::Float64, q, k, v, go, nullptr);
        Tensor qg = q.clone().requires_grad_(), kg = k.clone().requires_grad_(), vg = v.clone().requires_grad_();
        Tensor out = causal_attention_composed(qg, kg, vg, s.scale);
        std::vector<Tensor> g = autograd::grad({out}, {qg, kg, vg}, {go});
        check_close(ref.out, out.detach(), 1e-12, 1e-13);
        check_close(ref.gq, g[0], 1e-11, 1e-12);
        check_close(ref.gk, g[1], 1e-11, 1e-12);
        check_close(ref.gv, g[2], 1e-11, 1e-12);
        // lse: the composed scores' logsumexp over the visible keys
        Tensor scores = matmul(q, k.transpose(-2, -1)) * s.scale;
        Tensor mask = ge(arange(0, double(s.seq)).view({s.seq, 1}), arange(0, double(s.seq)).view({1, s.seq}));
        check_close(ref.lse, logsumexp(where(mask, scores, -INFINITY), -1), 1e-12, 1e-13);
    }
}

TEST_CASE("attention: the op's values and gradients match the composed ops, float32, default variant") {
    for (int64_t T : {1, 7, 64, 100, 784})
        for (int64_t D : {16, 32, 64}) {
            if (T == 784 && D != 32) continue;  // ImageGPT's shape; the others add time, not cases
            CAPTURE(T);
            CAPTURE(D);
            const K::AttentionShape s{2, 2, T, D};
            Tensor q = random_qkv(s, DType::Float32, 9, 2.0).requires_grad_(),
                   k = random_qkv(s, DType::Float32, 10, 2.0).requires_grad_(),
                   v = random_qkv(s, DType::Float32, 11).requires_grad_();
            const Tensor go = random_qkv(s, DType::Float32, 12);
            Tensor fused = causal_attention(q, k, v);
            std::vector<Tensor> gf = autograd::grad({fused}, {q, k, v}, {go});
            Tensor composed = causal_attention_composed(q, k, v, 1.0 / std::sqrt(double(D)));
            std::vector<Tensor> gc = autograd::grad({composed}, {q, k, v}, {go});
            check_close(fused, composed.detach(), 1e-4, 2e-5);
            for (int i = 0; i < 3; ++i) check_close(gf[i], gc[i], 1e-4, 1e-4);
        }
}

TEST_CASE("attention: the flash kernels give the same bits at any thread count") {
    const K::AttentionShape s{2, 3, 150, 32, 0.2};
    const Tensor q = random_qkv(s, DType::Float32, 13, 2.0), k = random_qkv(s, DType::Float32, 14, 2.0),
                 v = random_qkv(s, DType::Float32, 15), go = random_qkv(s, DType::Float32, 16);
    const int saved = omp_get_max_threads();
    for (const std::string& name : cpu_variants(K::attention_forward_table(), DType::Float32)) {
        CAPTURE(name);
        omp_set_num_threads(1);
        const Outputs one = run_variant(name, s, DType::Float32, q, k, v, go, nullptr);
        omp_set_num_threads(3);
        const Outputs three = run_variant(name, s, DType::Float32, q, k, v, go, nullptr);
        for (auto [a, b] : {std::pair{one.out, three.out}, {one.lse, three.lse}, {one.gq, three.gq},
                            {one.gk, three.gk}, {one.gv, three.gv}})
            CHECK(a.to_vector<float>() == b.to_vector<float>());
    }
    omp_set_num_threads(saved);
}

TEST_CASE("attention: bad arguments name the op and the shapes") {
    const Tensor q = randn({1, 2, 5, 4});
    CHECK(contains(error_of([&] { causal_attention(randn({2, 5, 4}), randn({2, 5, 4}), randn({2, 5, 4})); }),
                   "causal_attention: q, k and v must be [B, H, T, D] of one shape, got q [2, 5, 4]"));
    CHECK(contains(error_of([&] { causal_attention(q, randn({1, 2, 6, 4}), q); }), "k [1, 2, 6, 4]"));
    CHECK(contains(error_of([&] { causal_attention(q, q, randn({1, 2, 5, 3})); }), "v [1, 2, 5, 3]"));
    CHECK(contains(error_of([&] { causal_attention(q, q.to(DType::Float64), q); }), "causal_attention: dtype mismatch"));
    CHECK(contains(error_of([&] { causal_attention(q.to(DType::Int64), q, q); }),
                   "causal_attention: expected a float32 or float64 tensor"));
    CHECK(contains(error_of([&] { causal_attention(q, q, q, NAN); }), "causal_attention: scale must be finite"));
    CHECK(contains(error_of([&] { causal_attention(Tensor(), q, q); }), "causal_attention: q is undefined"));
}

TEST_CASE("attention: forward + backward memory grows linearly in T (T = 196, 392, 784)") {
    // The allocator's peak above what is in use before the step (q, k, v, grad_out), for the
    // fused op and, to show that the test can fail, for the composed ops with their [T, T] scores.
    Allocator& a = allocator_for(kCpu);
    const auto extra_peak = [&](int64_t T, bool fused) {
        const K::AttentionShape s{1, 4, T, 32};
        Tensor q = random_qkv(s, DType::Float32, 17).requires_grad_(), k = random_qkv(s, DType::Float32, 18).requires_grad_(),
               v = random_qkv(s, DType::Float32, 19).requires_grad_();
        const Tensor go = random_qkv(s, DType::Float32, 20);
        a.reset_peak();
        const int64_t before = a.stats().bytes_in_use;
        {
            Tensor out = fused ? causal_attention(q, k, v) : causal_attention_composed(q, k, v, 0.2);
            autograd::grad({out}, {q, k, v}, {go});
        }
        return a.stats().peak_bytes_in_use - before;
    };
    const int64_t fused_196 = extra_peak(196, true), fused_392 = extra_peak(392, true), fused_784 = extra_peak(784, true);
    MESSAGE("fused extra peak (bytes): T=196 " << fused_196 << ", T=392 " << fused_392 << ", T=784 " << fused_784);
    CHECK(double(fused_784) / double(fused_392) < 2.5);
    CHECK(double(fused_392) / double(fused_196) < 2.5);
    const int64_t composed_392 = extra_peak(392, false), composed_784 = extra_peak(784, false);
    MESSAGE("composed extra peak (bytes): T=392 " << composed_392 << ", T=784 " << composed_784);
    CHECK(double(composed_784) / double(composed_392) > 3.0);
}
