// CPU Adam/AdamW update kernels (kernels/optim.h).
//
//   "reference": one serial loop, one element at a time, in the order torch.optim.Adam
//                applies its tensor ops: the ground truth for the other variants.
//   "omp":       the same element code, tensors above kAdamParallelMin elements split across
//                OpenMP threads. Elementwise with no reduction, so the result is bitwise
//                the reference for any thread count. (The loop asks for `simd`, but GCC
//                keeps std::sqrt's errno branch unless built with -fno-math-errno, and
//                that branch blocks vectorisation: the speed on one thread is the
//                reference's.)
//   "avx512":    kernels/cpu/adam_simd.h, 16 (f32) / 8 (f64) lanes of intrinsics.
// adam_update_multi's "reference" calls the active adam_update once per tensor.
//
// No variant fuses a multiply and an add into one FMA (this file is compiled for the
// baseline ISA, which has none; adam_simd.h turns GCC's contraction off), so every
// variant rounds exactly as the reference does and they agree bit for bit.
#include <cmath>

#include "kernels/cpu/isa_kernels.h"
#include "kernels/optim.h"

namespace mg::kernels {

namespace {

constexpr int64_t kAdamParallelMin = 1 << 15;

// How weight decay enters: not at all, into the gradient (Adam), or on the parameter (AdamW).
enum class Decay { None, Coupled, Decoupled };

// The per-step scalars, computed once in double and rounded to T once, as PyTorch
// rounds a Python float when it meets a tensor of dtype T.
template <class T> struct AdamScalars {
    T decay_factor;           // AdamW: 1 - lr*wd
    T weight_decay;           // Adam: added to the gradient as wd * p
    T beta1, one_minus_beta1;
    T beta2, one_minus_beta2;
    T bias_correction2_sqrt;  // sqrt(1 - beta2^step)
    T eps;
    T neg_step_size;          // -lr / (1 - beta1^step)

    explicit AdamScalars(const AdamHyper& h)
        : decay_factor(T(1.0 - h.lr * h.weight_decay)),
          weight_decay(T(h.weight_decay)),
          beta1(T(h.beta1)),
          one_minus_beta1(T(1.0 - h.beta1)),
          beta2(T(h.beta2)),
          one_minus_beta2(T(1.0 - h.beta2)),
          bias_correction2_sqrt(T(std::sqrt(1.0 - std::pow(h.beta2, double(h.step))))),
          eps(T(h.eps)),
          neg_step_size(T(-h.lr / (1.0 - std::pow(h.beta1, double(h.step))))) {}
};

// One element of the update; every variant's scalar code path is this function. The
// options are template arguments so that a loop over it has no branch to vectorise around.
template <class T, bool Amsgrad, Decay D>
inline void adam_element(T* param, const T* grad, T* m, T* v, T* vmax, int64_t i, const AdamScalars<T>& s) {
    T p = param[i];
    T g = grad[i];
    if constexpr (D == Decay::Decoupled) p = p * s.decay_factor;
    if constexpr (D == Decay::Coupled) g = g + s.weight_decay * p;
    T mi = m[i] * s.beta1 + s.one_minus_beta1 * g;
    T vi = v[i] * s.beta2 + s.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    if constexpr (Amsgrad) {
        vi = vmax[i] > vi ? vmax[i] : vi;  // a NaN in v propagates, as in torch.maximum and MAXPS
        vmax[i] = vi;
    }
    T denom = std::sqrt(vi) / s.bias_correction2_sqrt + s.eps;
    param[i] = p + s.neg_step_size * mi / denom;
}

// Calls loop.template operator()<Amsgrad, D>() for the options of this step.
template <class Loop> void dispatch(const AdamHyper& h, bool amsgrad, Loop&& loop) {
    const Decay d = h.weight_decay == 0.0 ? Decay::None : h.decoupled ? Decay::Decoupled : Decay::Coupled;
    auto with_decay = [&]<bool A>() {
        if (d == Decay::None) loop.template operator()<A, Decay::None>();
        else if (d == Decay::Coupled) loop.template operator()<A, Decay::Coupled>();
        else loop.template operator()<A, Decay::Decoupled>();
    };
    if (amsgrad) with_decay.template operator()<true>();
    else with_decay.template operator()<false>();
}

// "reference" runs one serial loop; "omp" the same element code across threads above
// kAdamParallelMin elements (bitwise the reference: each element is independent).
template <class T, bool Parallel>
void adam_update_loop(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq,
                      int64_t n, const AdamHyper& h) {
    const AdamScalars<T> s(h);
    T* p = static_cast<T*>(param);
    const T* g = static_cast<const T*>(grad);
    T* m = static_cast<T*>(exp_avg);
    T* v = static_cast<T*>(exp_avg_sq);
    T* vmax = static_cast<T*>(max_exp_avg_sq);
    dispatch(h, vmax != nullptr, [&]<bool A, Decay D>() {
#pragma omp parallel for simd schedule(static) if (Parallel && n >= kAdamParallelMin)
        for (int64_t i = 0; i < n; ++i) adam_element<T, A, D>(p, g, m, v, vmax, i, s);
    });
}

// adam_update_multi on the CPU: the active adam_update kernel, tensor after tensor, so a
// group updated through the list is bitwise the same as its parameters updated one by one.
template <DType t>
void adam_update_multi_loop(const AdamTensorList& list, const AdamHyper& h) {
    MG_CHECK(list.count >= 0, "adam_update_multi: negative tensor count {}", list.count);
    AdamUpdateFn* update = adam_update_table().get(Device::CPU, t);
    for (int64_t k = 0; k < list.count; ++k) {
        MG_CHECK(list.numels[k] >= 0, "adam_update_multi: tensor {} has {} elements", k, list.numels[k]);
        void* vmax = list.max_exp_avg_sq != nullptr ? list.max_exp_avg_sq[k] : nullptr;
        update(list.params[k], list.grads[k], list.exp_avg[k], list.exp_avg_sq[k], vmax, list.numels[k], h);
    }
}

}  // namespace

void register_cpu_optim() {
    auto& t = adam_update_table();
    const char* ref = "one serial loop in torch.optim.Adam's order of operations: the ground truth";
    t.add("reference", Device::CPU, DType::Float32, &adam_update_loop<float, false>, 0, ref);
    t.add("reference", Device::CPU, DType::Float64, &adam_update_loop<double, false>, 0, ref);
    const char* omp = "the same element code split across OpenMP threads above 32k elements; bitwise "
                      "the reference";
    t.add("omp", Device::CPU, DType::Float32, &adam_update_loop<float, true>, 10, omp);
    t.add("omp", Device::CPU, DType::Float64, &adam_update_loop<double, true>, 10, omp);
    const char* multi = "the active adam_update kernel, tensor after tensor";
    adam_update_multi_table().add("reference", Device::CPU, DType::Float32, &adam_update_multi_loop<DType::Float32>,
                                  0, multi);
    adam_update_multi_table().add("reference", Device::CPU, DType::Float64, &adam_update_multi_loop<DType::Float64>,
                                  0, multi);
    for (const cpu::IsaKernels* isa : cpu::cpu_isas()) {
        const char* doc = "AVX-512 intrinsics, 16 (f32) / 8 (f64) lanes with a masked tail, threads above "
                          "32k elements; no FMA, so bitwise the reference";
        for (DType dt : {DType::Float32, DType::Float64})
            if (isa->of(dt).adam_update) t.add(isa->name, Device::CPU, dt, isa->of(dt).adam_update, 20, doc);
    }
}

}  // namespace mg::kernels
