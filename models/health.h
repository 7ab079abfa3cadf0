// Health monitors: rules over what a training step already reports (metrics.jsonl) that name
// a known failure while it happens. The trainer feeds every step's scalars and every sample
// point's measures to a HealthMonitor; a monitor fires once per run, and the trainer logs it,
// writes {"step", "health": {"monitor", "message"}} to metrics.jsonl and lists it in the
// summary; the report shows the list at the top. docs/failure-modes.md has one section per
// monitor (the anchor each message names).
//
//   monitor           fires when (thresholds in health.cpp, stated in each message)
//   d-saturated       D(x) - D(G(z)) > 0.9 (probabilities) for 200 steps in a row
//   d-prefers-fakes   D(G(z)) - D(x) > 0.3 (a critic's scores: > 0) for 200 steps in a row
//   g-grad-vanishing  ||grad G|| under 1% of its mean over steps 1-100, for 200 steps in a row
//   layer-grad-ratio  G's largest / smallest weight gradient norm over 1000, for 200 steps in a row
//                     (not for a critic's runs)
//   penalty-range     WGAN-GP's per-sample ||grad D(xhat)|| over 5 (or under 0.2 after step 300)
//                     for 50 steps in a row
//   checkerboard      at a sample point, G's parity std ratio (parity_std_ratio of its pre-Tanh output)
//                     over 1.5 from G's update 100 on; for a model that does not report it, the samples'
//                     checkerboard energy over 0.02 from step 150 on
//   kl-collapse       a VAE's KL under 1 nat per image for 200 steps after step 300
//   loss-too-low      a PixelCNN's training loss under 0.5 bits/dim for 50 steps in a row
//   modes-dropped     gan2d covers fewer than 6 of its 8 modes at a sample point from step 2000 on
//   samples-off-modes gan2d's hq_fraction under 0.5 at a sample point from step 2500 on
//   g-grad-in-d-step  G's gradient after D's backward (grad_norm/G_in_d_step) above 0 at any step
//   g-activation-scale G's smallest hidden activation std (g_act_std/i) under 0.3 at a sample point
//                     from G's update 100 on
//   critic-batch-dependence  a WGAN critic's scores change with their batch (> 0.001 of their spread)
//   class-histogram-collapse  at a sample point from G's update 300 on, the samples' class histogram (the
//                     classifier's labels) with entropy under 0.5 log(K), or one class over 60% of the
//                     samples; for a conditional model, under 15% of them in the class asked for
//   d-ahead           gan2d-vanilla only: D(x) - D(G(z)) averaged over blocks of 500 steps > 0.4
//                     in two blocks in a row, from the block of steps 501-1000 on
//   causality         an autoregressive image model's prediction of a value depends on that value
//                     or a later one (check_causality, once at step 1, below)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/model.h"
#include "models/step_metrics.h"

namespace mg::models {

struct HealthEvent {
    std::string monitor;  // "d-saturated"
    int64_t step = 0;
    std::string message;  // one line: the rule, what it means, where to read more
};

struct MonitorInfo {
    const char* name;
    const char* rule;  // the rule with its thresholds, one line
};
const std::vector<MonitorInfo>& all_monitors();

class HealthMonitor {
public:
    // `model`: the registry name; a monitor calibrated on one model runs on that model only.
    explicit HealthMonitor(const std::string& model = {});
    ~HealthMonitor();
    HealthMonitor(HealthMonitor&&) noexcept;
    HealthMonitor& operator=(HealthMonitor&&) noexcept;
    // One step's scalars or a sample point's measures; returns the monitors that fire now
    // (each monitor fires at most once).
    std::vector<HealthEvent> observe(int64_t step, const Metrics& metrics);
    const std::vector<HealthEvent>& fired() const { return fired_; }

private:
    struct Rules;
    std::unique_ptr<Rules> rules_;
    std::vector<HealthEvent> fired_;
};

// Images [N, C, H, W] (H, W >= 2): the share of each image's power (its mean removed) at the
// frequencies of a 2x2 pattern, (pi, pi), (pi, 0) and (0, pi), averaged over images and
// channels. White noise gives about 3 / (H*W); a checkerboard of transposed convolutions far more.
double checkerboard_energy(const Tensor& images);

// Images [N, C, H, W] (H, W >= 2): the largest over the smallest standard deviation of the
// four pixel classes (row parity, column parity). Transposed convolutions whose kernel does not
// divide by the stride give the classes 1, 2 and 4 taps, so their outputs' spread differs by
// class even where G has learned to cancel the mean pattern checkerboard_energy sees.
double parity_std_ratio(const Tensor& images);

// The class histogram of N samples as a classifier labels them (predicted int64 [N], values
// in [0, classes), classes >= 2); `conditioned` int64 [N]: the classes a conditional model
// was asked for (undefined for an unconditional one). Metrics for class-histogram-collapse:
//   class_entropy    the histogram's entropy over log(classes): 1 when every class is as common
//   class_top_share  the most common class's share of the samples
//   label_agreement  (conditioned only) the share labelled with the class asked for
Metrics class_histogram_measures(const Tensor& predicted, int64_t classes, const Tensor& conditioned = Tensor());
// The causality monitor, for models with PixelLogits (pixelcnn, gated-pixelcnn(-cond),
// row-lstm; nullopt for the others): the receptive fields (models/receptive_field.h) of a few
// values away from the border, of a noise image the size of the batch's images [N, C, H, W]
// (noise: no dependence hides behind a zero input), must be 0 at each value and after it. The
// first value found to depend on its own or a later input fires "causality". Deterministic, and
// cheap: one forward of one image. `picture` (optional): the centre value's field as a PNG.
std::optional<HealthEvent> check_causality(Model& model, const Shape& batch_shape, int64_t step,
                                           const std::string& picture = {});

}  // namespace mg::models
