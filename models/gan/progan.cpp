// progan: the progressive growing GAN (Karras et al. 2018) on image data, 4x4 up to the data's
// size (emoji 64x64 by default). Networks and schedule: models/gan/progan_networks.h; the
// step is the shared adversarial one (adversarial.h) with WGAN-GP (lambda 10) plus the drift
// term 0.001 * E[D(x)^2], Adam lr 1e-3, betas (0, 0.99), as the paper.
//
// Each step: the schedule gives the level and alpha from the step alone; the real batch is
// shown at that resolution (average-pooled; during a fade, blended with its 2x coarser
// version as the generator's output is); G and D run at that level.
//
// Reported per step besides the GAN's metrics: "resolution" and "alpha". At the last step of
// each phase the model keeps a grid of fixed draws, written at the next sample point as
// samples/phase_<index>_<res>x<res>_<stable|fade>.png.
#include <cmath>

#include "core/ops.h"
#include "core/random.h"
#include "models/capabilities.h"
#include "models/families.h"
#include "models/gan/adversarial.h"
#include "models/gan/progan_networks.h"
#include "models/image_data.h"
#include "models/option_keys.h"
#include "models/options.h"
#include "models/trainer.h"

namespace mg::models {

namespace {

constexpr int64_t kPhaseGridImages = 36;

// The growth schedule's options (the GAN's own are GanOptions).
struct GrowthOptions {
    int64_t start_resolution = 4;
    int64_t final_resolution = 0;  // 0: the data's image size
    int64_t fade_images = 6400;    // images shown while a new level fades in
    int64_t stable_images = 6400;  // images shown at each level once it is in
    int64_t group_size = 4;        // minibatch stddev's group

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        f("start_resolution", o.start_resolution, IntRange{4, 1024});
        f("final_resolution", o.final_resolution, IntRange{0, 1024});
        f("fade_images", o.fade_images, IntRange{0, kMaxSteps});
        f("stable_images", o.stable_images, IntRange{1, kMaxSteps});
        f("group_size", o.group_size, IntRange{1, kMaxBatch});
    }

    // Takes these keys out of `options` (the rest are the GAN's) and checks them.
    static GrowthOptions take(nlohmann::json& options) {
        GrowthOptions o;
        const nlohmann::json known = options_to_json(o);
        read_options(o, OptionReader("progan options", take_option_keys(options, known), known));
        return o;
    }
};

bool power_of_two(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }
int64_t log2_exact(int64_t n) { return int64_t(std::lround(std::log2(double(n)))); }

// The schedule for images of `image_size`: an error naming the option when it cannot reach it.
GrowthSchedule make_schedule(GrowthOptions& o, int64_t image_size, int64_t batch_size) {
    MG_CHECK(power_of_two(image_size),
             "progan options: 'image_size' {}: growing 4 -> 8 -> 16 ... by doubling cannot reach {}x{} images "
             "(use a power of two: 32 or 64)",
             image_size, image_size, image_size);
    if (o.final_resolution == 0) o.final_resolution = image_size;
    MG_CHECK(o.final_resolution == image_size,
             "progan options: 'final_resolution' {} does not reach the data's {}x{} images (set image_size {} or "
             "final_resolution {})",
             o.final_resolution, image_size, image_size, o.final_resolution, image_size);
    MG_CHECK(power_of_two(o.start_resolution) && o.start_resolution <= o.final_resolution,
             "progan options: 'start_resolution' {} must be a power of two from 4 to 'final_resolution' {}",
             o.start_resolution, o.final_resolution);
    const int64_t group = std::min(o.group_size, batch_size);
    MG_CHECK(batch_size % group == 0, "progan options: 'group_size' {} does not divide the batch size {}",
             o.group_size, batch_size);
    GrowthSchedule s;
    s.start_level = log2_exact(o.start_resolution) - 2;
    s.final_level = log2_exact(o.final_resolution) - 2;
    s.fade_images = o.fade_images;
    s.stable_images = o.stable_images;
    s.batch_size = batch_size;
    return s;
}

class ProGan : public AdversarialModel, public TrainingVisuals {
public:
    explicit ProGan(const ModelConfig& config) {
        GanOptions d;
        d.z_dim = 128;
        d.batch_size = 16;
        d.loss = GanLoss::Wasserstein;
        d.lr_g = d.lr_d = 1e-3;
        d.beta1 = 0.0, d.beta2 = 0.99;
        d.gp_weight = 10;
        d.drift = 0.001;
        d.width = 64;
        ModelConfig gan_config = config;
        gan_config.options = config.options.is_object() ? config.options : nlohmann::json::object();
        if (!gan_config.options.contains("data")) gan_config.options["data"] = "emoji";
        images_ = ImageDataOptions::take(gan_config.options, "progan options", false);
        growth_ = GrowthOptions::take(gan_config.options);
        gan_ = resolve(gan_config, d);
        MG_CHECK(gan_.pack == 1 && !gan_.projection && !gan_.spectral_norm,
                 "progan options: 'pack', 'projection' and 'spectral_norm' do not apply to progan");
        schedule_ = make_schedule(growth_, images_.image_size, gan_.batch_size);
        manual_seed(config.seed);
        const std::vector<int64_t> channels = progan_channels(gan_.width, schedule_.final_level + 1);
        auto make_g = [&] { return std::make_shared<ProGenerator>(gan_.z_dim, channels, images_.channels); };
        auto g = make_g();
        auto dnet = std::make_shared<ProDiscriminator>(channels, images_.channels, growth_.group_size);
        D_typed_ = dnet;
        std::shared_ptr<ProGenerator> ema = gan_.ema_decay > 0 ? make_g() : nullptr;
        init(config, g, dnet, ema);
        point_ = schedule_.at(0).at;
        grid_z_ = noise(kPhaseGridImages);  // the same draws at every phase's end
    }

    std::string name() const override { return "progan"; }
    nlohmann::json config() const override {
        nlohmann::json j = AdversarialModel::config();
        j.update(options_to_json(images_));
        j.update(options_to_json(growth_));
        return j;
    }
    DataSpec data_spec() const override {
        DataSpec s = images_.spec();
        s.range = data::PixelRange::MinusOneOne;
        return s;
    }
    void set_step(int64_t step) override {
        AdversarialModel::set_step(step);
        steps_ = step;
    }

    Metrics train_step(const data::Batch& batch) override {
        const GrowthSchedule::Phase phase = schedule_.at(steps_);
        Metrics m = step(enter(phase, batch), StepNoise{});
        m.emplace_back("resolution", double(phase.resolution()));
        m.emplace_back("alpha", phase.at.alpha);
        ++steps_;
        if (schedule_.at(steps_).index != phase.index) keep_phase_grid(phase);
        return m;
    }

    // The graphs of the next step (--trace): at its level, on the real batch as that step shows it.
    std::pair<std::string, std::string> trace_graphs(const data::Batch& batch) override {
        return AdversarialModel::trace_graphs(enter(schedule_.at(steps_), batch));
    }

    // Samples at the current level, upsampled (nearest) to the data's size.
    Tensor sample(int64_t n) override {
        point_ = schedule_.at(steps_).at;
        return full_size(AdversarialModel::sample(n));
    }

    void write_visuals(const std::string& dir, int64_t) override {
        for (const auto& [file, images] : phase_grids_) write_samples(*this, images, dir + "/" + file, 6);
        phase_grids_.clear();
    }

protected:
    Tensor generate(nn::Module& g, const Tensor& z, const Tensor&) override {
        return static_cast<ProGenerator&>(g).forward(z, point_);
    }
    Tensor discriminate(const Tensor& x, const Tensor&) override { return D_typed_->forward(x, point_); }

private:
    // Sets the level G and D run at to the phase's; returns the real batch as the phase shows it.
    data::Batch enter(const GrowthSchedule::Phase& phase, const data::Batch& batch) {
        point_ = phase.at;
        data::Batch shown = batch;
        shown.images = real_at(batch.images.to(config_.device), phase);
        return shown;
    }

    // The real batch [N, C, S, S] at the phase's resolution r: average-pooled by S / r, and
    // while fading, (1 - alpha) * upsample(pool2(x_r)) + alpha * x_r, like G's output.
    Tensor real_at(const Tensor& images, const GrowthSchedule::Phase& phase) const {
        Tensor x = downsample_average(images, images_.image_size / phase.resolution());
        if (!phase.fading()) return x;
        return fade_in(upsample_nearest(downsample_average(x, 2), 2), x, phase.at.alpha);
    }

    Tensor full_size(const Tensor& images) const {
        return upsample_nearest(images, images_.image_size / images.size(2));
    }

    // The grid of the fixed draws at the phase's end (G as its last step left it).
    void keep_phase_grid(const GrowthSchedule::Phase& phase) {
        point_ = phase.at;
        Tensor images = full_size(generate_for_sampling(grid_z_, Tensor()));
        const int64_t r = phase.resolution();
        phase_grids_.emplace_back(
            fmt::format("phase_{:02d}_{}x{}_{}.png", phase.index, r, r, phase.fading() ? "fade" : "stable"), images);
    }

    ImageDataOptions images_;
    GrowthOptions growth_;
    GrowthSchedule schedule_;
    std::shared_ptr<ProDiscriminator> D_typed_;
    GrowthPoint point_;  // where G and D run in this step (or this sample)
    int64_t steps_ = 0;
    Tensor grid_z_;
    std::vector<std::pair<std::string, Tensor>> phase_grids_;  // waiting for the next sample point
};

}  // namespace

std::vector<ModelInfo> progan_models() {
    return {
        {"progan",
         "progressive growing GAN (Karras et al. 2018) on emoji (or any image set with a power-of-two size): 4x4 up "
         "to the data's size with fade-in, minibatch stddev, equalized lr, pixel norm, WGAN-GP + drift, Adam 1e-3 (0, "
         "0.99)",
         [](const ModelConfig& c) { return std::make_unique<ProGan>(c); }, 1, 4000, /*image_data=*/true},
    };
}

}  // namespace mg::models
