// Adam and AdamW, as torch.optim.Adam / torch.optim.AdamW (bias correction included):
//   Adam:  g = grad + weight_decay * p          AdamW: p = p * (1 - lr * weight_decay)
//   m = beta1 * m + (1 - beta1) * g             v = beta2 * v + (1 - beta2) * g^2
//   v_hat = amsgrad ? (vmax = max(vmax, v)) : v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
// with t the parameter's step count (from 1). State per parameter: "exp_avg",
// "exp_avg_sq", and "max_exp_avg_sq" when amsgrad.
//
// With `fused` (the default), a dense parameter is updated by one fused kernel pass
// (kernels/optim.h, table adam_update) on its device, CPU or CUDA. When every parameter of
// a group that has a gradient is dense, on one device with one dtype, and all share one
// step count, the whole group is one adam_update_multi call instead: on the GPU one kernel
// launch per group, on the CPU the same per-tensor kernels (bitwise the same results).
// Strided parameters and `fused = false` use the same formula as tensor ops.
#pragma once

#include "optim/optimizer.h"

namespace mg::optim {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9, beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // AdamW's default is 1e-2 (AdamWOptions)
    bool amsgrad = false;
    bool fused = true;  // one kernel per parameter where it applies; not a group option
};

class Adam : public Optimizer {
public:
    explicit Adam(std::vector<Tensor> params, const AdamOptions& options = {});
    // Groups may override "beta1", "beta2", "eps", "weight_decay", "amsgrad" (0/1) and lr.
    explicit Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults = {});

protected:
    Adam(std::string name, bool decoupled, std::vector<ParamGroup> groups, const AdamOptions& defaults);
    void update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) override;
    void update_group(const ParamGroup& group, const std::vector<ParamUpdate>& updates) override;
    std::vector<std::string> buffer_names(const ParamGroup& group) const override;
    void check_group(const ParamGroup& group) const override;
    bool can_shard() const override { return true; }
    void update_shard(Tensor& param, const Tensor& grad, std::map<std::string, Tensor>& buffers,
                      const std::vector<ShardPiece>& pieces) override;

private:
    bool decoupled_;  // AdamW
    bool fused_;
};

struct AdamWOptions : AdamOptions {
    AdamWOptions() { weight_decay = 1e-2; }
};

// Adam with decoupled weight decay (Loshchilov & Hutter): the decay shrinks the
// parameter directly instead of entering the moments through the gradient.
class AdamW : public Adam {
public:
    explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
    explicit AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults = {});
};

}  // namespace mg::optim
