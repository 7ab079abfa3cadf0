// A lab of classic mistakes in training generative models: `minigen train MODEL --bug NAME`.
//
// Each bug is one named deviation at the one place the correct code lives (a branch on
// Bug, never a copy of a step), so a run with a bug is the correct run plus that mistake,
// reproducible from its seed. With Bug::None every model runs today's code, bit for bit.
// The bug is a run setting (ModelConfig::bug, "bug" in config.json and the checkpoint's
// config), so a resumed run keeps it. docs/failure-modes.md explains each one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mg::models {

enum class Bug {
    None,
    GpChannelNorm,    // WGAN-GP: the gradient's norm over channels only (per pixel), not per sample
    GpPixelMix,       // WGAN-GP: one interpolation coefficient per pixel instead of per sample
    GpOnSigmoid,      // WGAN-GP: the penalty on sigmoid(D) instead of D's logit
    CriticBatchNorm,  // WGAN-GP: BatchNorm in the critic
    DLr10x,           // D's learning rate 10x G's
    GNoBatchNorm,     // the DCGAN generator without BatchNorm
    Checkerboard,     // G's transposed convs with kernel 3, stride 2 (kernel not divisible by stride)
    NoDetach,         // D's step through G(z) without detach(), G's gradients zeroed only once
    LabelsSwapped,    // D trained with real and fake swapped
    VaeKlSum,         // VAE: KL summed per image while the reconstruction is averaged per pixel
    MaskBFirst,       // PixelCNN: mask B in the first layer too (each pixel sees itself)
};

struct BugInfo {
    Bug bug;
    const char* name;         // the --bug value
    const char* explanation;  // one line
    const char* models;       // the models it applies to, comma-separated
    const char* monitor;      // the health monitor (models/health.h) that should flag it
};

const std::vector<BugInfo>& all_bugs();
const BugInfo& bug_info(Bug bug);
// "none" or a name of all_bugs(); anything else is an mg::Error listing the names.
Bug parse_bug(std::string_view name);
std::string bug_name(Bug bug);
// An mg::Error unless `bug` applies to `model` (None applies to every model), naming the
// models it applies to.
void check_bug_applies(Bug bug, const std::string& model);
// The bugs that apply to `model`, comma-separated ("" when none).
std::string bugs_for(const std::string& model);
// The table `minigen train --bug list` prints: name, models, monitor, explanation.
std::string bug_table();
// Takes a "bug" key out of a model's JSON options (--config, a checkpoint's config), which
// the models do not read as an option: None when there is none. `what` opens the error.
Bug take_bug(nlohmann::json& options, const std::string& what);

}  // namespace mg::models
