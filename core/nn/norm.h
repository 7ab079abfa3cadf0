// Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm.
//
//   BatchNorm1d: x [N, C] or [N, C, L];  BatchNorm2d: x [N, C, H, W]
//     training (or track_running_stats = false): normalise with the batch's
//     per-channel mean and biased variance; update running_mean/var with the
//     unbiased variance: new = (1 - m)*old + m*batch, m = momentum, or
//     1/num_batches_tracked when momentum is nullopt (a cumulative average).
//     eval: normalise with running_mean/var.
//   LayerNorm: normalise over the trailing normalized_shape dims of each sample.
#pragma once

#include <optional>

#include "core/nn/module.h"
#include "core/ops/batch_norm_act.h"

namespace mg::dist {
class Collective;
}

namespace mg::nn {

// What BatchNorm1d and BatchNorm2d share (PyTorch's _BatchNorm); they differ in
// the input ranks they accept.
class BatchNorm : public Module {
public:
    Tensor forward(const Tensor& x) override;
    // act(forward(x)) as one fused node (batch_norm_act): what nn::Sequential runs for a
    // BatchNorm directly followed by ReLU or LeakyReLU (slope >= 0).
    Tensor forward_act(const Tensor& x, BatchNormActivation act);
    std::string extra_repr() const override;
    void reset_running_stats();  // mean 0, var 1, num_batches_tracked 0
    void reset_parameters();     // running stats, and weight 1, bias 0

    int64_t num_features;
    double eps;
    std::optional<double> momentum;
    bool affine, track_running_stats;
    Tensor weight, bias;                // [C] when affine
    Tensor running_mean, running_var;   // [C] when track_running_stats
    Tensor num_batches_tracked;         // int64 scalar, when track_running_stats
    // When set, training combines the batch statistics of every rank of this group
    // (SyncBatchNorm, core/dist/sync_batch_norm.h); models::DataParallel sets it for --sync-bn.
    dist::Collective* sync_group = nullptr;

protected:
    BatchNorm(int64_t num_features, double eps, std::optional<double> momentum, bool affine,
              bool track_running_stats, int min_dim, int max_dim);

private:
    int min_dim_, max_dim_;
};

class BatchNorm1d : public BatchNorm {
public:
    explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                         bool affine = true, bool track_running_stats = true);
};

class BatchNorm2d : public BatchNorm {
public:
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                         bool affine = true, bool track_running_stats = true);
};

class LayerNorm : public Module {
public:
    explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
    explicit LayerNorm(int64_t features, double eps = 1e-5, bool elementwise_affine = true)
        : LayerNorm(Shape{features}, eps, elementwise_affine) {}
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    void reset_parameters();  // weight 1, bias 0

    Shape normalized_shape;
    double eps;
    bool elementwise_affine;
    Tensor weight, bias;  // normalized_shape, when elementwise_affine
};

}  // namespace mg::nn
