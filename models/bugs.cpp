#include "models/bugs.h"

#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::models {

namespace {

constexpr const char* kGans = "gan2d, gan2d-vanilla, dcgan, cgan, wgan-gp";
constexpr const char* kImageGans = "dcgan, cgan, wgan-gp";

// True when `model` is one of the comma-separated `models`.
bool listed(std::string_view models, std::string_view model) {
    while (!models.empty()) {
        const size_t comma = models.find(',');
        std::string_view name = models.substr(0, comma);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        if (name == model) return true;
        if (comma == std::string_view::npos) break;
        models.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

const std::vector<BugInfo>& all_bugs() {
    static const std::vector<BugInfo> bugs = {
        {Bug::GpChannelNorm, "gp-channel-norm",
         "the gradient penalty's norm is taken over channels only, so every pixel's gradient is pushed to 1 "
         "and the per-sample norm to sqrt(H*W)",
         "wgan-gp", "penalty-range"},
        {Bug::GpPixelMix, "gp-pixel-mix",
         "one interpolation coefficient per pixel instead of per sample: the penalty is taken at pixel "
         "mosaics of real and fake, off the lines between them",
         "wgan-gp", "penalty-range"},
        {Bug::GpOnSigmoid, "gp-on-sigmoid",
         "the penalty differentiates sigmoid(D) instead of D's logit: to make that slope 1 the logit's "
         "slope must be 4 or more",
         "wgan-gp", "penalty-range"},
        {Bug::CriticBatchNorm, "critic-batchnorm",
         "BatchNorm in the WGAN-GP critic: a sample's score depends on its batch, so the per-sample "
         "gradient the penalty constrains is not the critic's",
         "wgan-gp", "critic-batch-dependence"},
        {Bug::DLr10x, "d-lr-10x",
         "D's learning rate 10x G's: D stays ahead every round (taught on the plain gan2d-vanilla: R1, PacGAN "
         "and EMA, gan2d's stabilizers, shrug it off)",
         "gan2d-vanilla", "d-ahead"},
        {Bug::GNoBatchNorm, "g-no-batchnorm",
         "the generator without BatchNorm: badly scaled activations, D pulls ahead and G's samples lag",
         kImageGans, "g-activation-scale, d-saturated"},
        {Bug::Checkerboard, "checkerboard",
         "G's transposed convolutions with kernel 3 and stride 2: the kernel does not divide by the stride, "
         "so output pixels get uneven overlap, a 2x2 pattern",
         kImageGans, "checkerboard"},
        {Bug::NoDetach, "no-detach",
         "D's loss goes through G(z) without detach() and G's gradients are zeroed once per step: G follows "
         "D's loss as well as its own",
         kGans, "g-grad-in-d-step, modes-dropped, samples-off-modes"},
        {Bug::LabelsSwapped, "labels-swapped", "D is trained with real and fake swapped: it calls the fakes real",
         kGans, "d-prefers-fakes, class-histogram-collapse"},
        {Bug::VaeKlSum, "vae-kl-sum",
         "the KL is summed over the latent while the reconstruction is averaged over pixels: KL weighs 784x "
         "too much and the posterior collapses",
         "vae, cvae, convvae", "kl-collapse"},
        {Bug::MaskBFirst, "mask-b-first",
         "the first masked convolution uses mask B (centre tap on): every pixel sees itself, the loss drops "
         "far under the data's entropy and samples are noise",
         "pixelcnn", "causality, loss-too-low"},
    };
    return bugs;
}

const BugInfo& bug_info(Bug bug) {
    for (const BugInfo& b : all_bugs())
        if (b.bug == bug) return b;
    MG_FAIL("bug_info: not a bug ({})", int(bug));
}

std::string bug_name(Bug bug) { return bug == Bug::None ? "none" : bug_info(bug).name; }

Bug parse_bug(std::string_view name) {
    std::string known = "none";
    if (name == "none") return Bug::None;
    for (const BugInfo& b : all_bugs()) {
        if (name == b.name) return b.bug;
        known += std::string(", ") + b.name;
    }
    MG_FAIL("--bug: unknown bug '{}' (known: {}; 'minigen train --bug list' explains them)",
            io::quote_short(std::string(name)), known);
}

void check_bug_applies(Bug bug, const std::string& model) {
    if (bug == Bug::None) return;
    const BugInfo& b = bug_info(bug);
    MG_CHECK(listed(b.models, model), "--bug {}: applies to {}, not '{}' (bugs of '{}': {})", b.name, b.models,
             model, model, bugs_for(model).empty() ? "none" : bugs_for(model));
}

std::string bugs_for(const std::string& model) {
    std::string names;
    for (const BugInfo& b : all_bugs())
        if (listed(b.models, model)) names += (names.empty() ? "" : ", ") + std::string(b.name);
    return names;
}

std::string bug_table() {
    std::string out = fmt::format("{:<17} {:<42} {}\n", "bug", "models", "flagged by");
    for (const BugInfo& b : all_bugs())
        out += fmt::format("{:<17} {:<42} {}\n{:<17} {}\n", b.name, b.models, b.monitor, "", b.explanation);
    return out;
}

Bug take_bug(nlohmann::json& options, const std::string& what) {
    if (!options.is_object() || !options.contains("bug")) return Bug::None;
    const nlohmann::json v = options["bug"];
    options.erase("bug");
    MG_CHECK(v.is_string(), "{}: 'bug' must be a bug's name, got {}", what, io::quote_short(v.dump()));
    return parse_bug(v.get<std::string>());
}

}  // namespace mg::models
