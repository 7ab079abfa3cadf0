// CPU causal attention kernels (kernels/attention.h).
//
//   "reference": one query row at a time, serial, in double with libm's exp: the row's
//                scores (one T-long buffer), their max and logsumexp, then the output; the
//                backward walks the same pairs and accumulates dk and dv of a head in double.
//                The ground truth for the other variants.
//   "flash_avx2", "flash_avx512": kernels/cpu/attention_simd.h (tiles, online softmax,
//                threads); registered when the CPU has the instructions.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cpu/isa_kernels.h"

namespace mg::kernels {

namespace {

double dot(const double* a, const double* b, int64_t n) {
    double s = 0;
    for (int64_t d = 0; d < n; ++d) s += a[d] * b[d];
    return s;
}

// One head's [T, D] block, widened to double.
template <class T> std::vector<double> widen(const T* x, int64_t n) { return std::vector<double>(x, x + n); }

template <class T>
void forward_reference(const AttentionShape& s, const void* qv, const void* kv, const void* vv, void* outv,
                       void* lsev) {
    const int64_t Tn = s.seq, D = s.head_dim, head = Tn * D;
    std::vector<double> scores(static_cast<size_t>(Tn)), acc(static_cast<size_t>(D));
    for (int64_t h = 0; h < s.batch * s.heads; ++h) {
        const auto q = widen(static_cast<const T*>(qv) + h * head, head);
        const auto k = widen(static_cast<const T*>(kv) + h * head, head);
        const auto v = widen(static_cast<const T*>(vv) + h * head, head);
        T* out = static_cast<T*>(outv) + h * head;
        T* lse = static_cast<T*>(lsev) + h * Tn;
        for (int64_t t = 0; t < Tn; ++t) {
            double m = -std::numeric_limits<double>::infinity();
            for (int64_t j = 0; j <= t; ++j) {
                scores[j] = s.scale * dot(&q[t * D], &k[j * D], D);
                m = scores[j] > m || scores[j] != scores[j] ? scores[j] : m;
            }
            double sum = 0;
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t j = 0; j <= t; ++j) {
                const double p = std::exp(scores[j] - m);
                sum += p;
                for (int64_t d = 0; d < D; ++d) acc[d] += p * v[j * D + d];
            }
            for (int64_t d = 0; d < D; ++d) out[t * D + d] = T(acc[d] / sum);
            lse[t] = T(m + std::log(sum));
        }
    }
}

template <class T>
void backward_reference(const AttentionShape& s, const void* qv, const void* kv, const void* vv, const void* outv,
                        const void* lsev, const void* gov, void* gqv, void* gkv, void* gvv) {
    const int64_t Tn = s.seq, D = s.head_dim, head = Tn * D;
    std::vector<double> gq(static_cast<size_t>(D));
    for (int64_t h = 0; h < s.batch * s.heads; ++h) {
        const auto q = widen(static_cast<const T*>(qv) + h * head, head);
        const auto k = widen(static_cast<const T*>(kv) + h * head, head);
        const auto v = widen(static_cast<const T*>(vv) + h * head, head);
        const auto out = widen(static_cast<const T*>(outv) + h * head, head);
        const auto go = widen(static_cast<const T*>(gov) + h * head, head);
        const T* lse = static_cast<const T*>(lsev) + h * Tn;
        std::vector<double> gk(static_cast<size_t>(head)), gv(static_cast<size_t>(head));
        for (int64_t t = 0; t < Tn; ++t) {
            const double row_d = dot(&go[t * D], &out[t * D], D), l = double(lse[t]);
            std::fill(gq.begin(), gq.end(), 0.0);
            for (int64_t j = 0; j <= t; ++j) {
                const double p = std::exp(s.scale * dot(&q[t * D], &k[j * D], D) - l);
                const double ds = p * (dot(&go[t * D], &v[j * D], D) - row_d) * s.scale;
                for (int64_t d = 0; d < D; ++d) {
                    gv[j * D + d] += p * go[t * D + d];
                    gq[d] += ds * k[j * D + d];
                    gk[j * D + d] += ds * q[t * D + d];
                }
            }
            T* gq_out = static_cast<T*>(gqv) + h * head + t * D;
            for (int64_t d = 0; d < D; ++d) gq_out[d] = T(gq[d]);
        }
        T* gk_out = static_cast<T*>(gkv) + h * head;
        T* gv_out = static_cast<T*>(gvv) + h * head;
        for (int64_t i = 0; i < head; ++i) {
            gk_out[i] = T(gk[i]);
            gv_out[i] = T(gv[i]);
        }
    }
}

// One named variant: its kernels per dtype (float32, float64), priority and one-line doc.
struct Variant {
    std::string name;
    int priority;
    std::string doc;
    AttentionForwardFn* forward[2];
    AttentionBackwardFn* backward[2];
};

}  // namespace

void register_cpu_attention() {
    std::vector<Variant> variants{{"reference", 0, "serial rows, one T-long row of scores, double accumulation",
                                   {&forward_reference<float>, &forward_reference<double>},
                                   {&backward_reference<float>, &backward_reference<double>}}};
    for (const cpu::IsaKernels* isa : cpu::cpu_isas())
        variants.push_back({std::string("flash_") + isa->name, isa->lanes_f32 == 16 ? 20 : 15,
                            fmt::format("{}x{} query x key tiles, online softmax, {} float lanes; threads over "
                                        "(batch, head, query tile) forward, (batch, head) backward",
                                        cpu::kAttentionTile, cpu::kAttentionTile, isa->lanes_f32),
                            {isa->f32.attention_forward, isa->f64.attention_forward},
                            {isa->f32.attention_backward, isa->f64.attention_backward}});
    const DType dtypes[2] = {DType::Float32, DType::Float64};
    for (const Variant& v : variants)
        for (int i = 0; i < 2; ++i) {
            attention_forward_table().add(v.name, Device::CPU, dtypes[i], v.forward[i], v.priority, v.doc);
            attention_backward_table().add(v.name, Device::CPU, dtypes[i], v.backward[i], v.priority, v.doc);
        }
}

}  // namespace mg::kernels
