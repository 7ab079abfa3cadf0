// gan2d, the teaching toy (workloads.md): 2-D points from a ring of 8 Gaussians.
//   G: z ~ N(0, I_16) -> Linear(16,128) ReLU -> Linear(128,128) ReLU -> Linear(128,2)
//   D: Linear(2*pack,128) LReLU(0.2) -> Linear(128,128) LReLU(0.2) -> Linear(128,1)
// Every few hundred steps it draws the real points, the generated points and D's
// decision surface, and measures modes covered and the high-quality fraction.
#include "core/data/toy2d.h"
#include "core/nn/nn.h"
#include "core/nn/spectral_norm.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/gan/adversarial.h"
#include "models/families.h"
#include "models/metrics.h"
#include "models/options.h"
#include "models/plot2d.h"

namespace mg::models {

namespace {

constexpr int64_t kEvalSamples = 2500;  // workloads.md: coverage over 2,500 samples
constexpr int64_t kDefaultSteps = 10000;  // the target: 8/8 modes, hq >= 0.9 within 20 s of one CPU

class Gan2d : public AdversarialModel, public SampleQuality, public TrainingVisuals {
public:
    Gan2d(const ModelConfig& config, bool vanilla) : vanilla_(vanilla) {
        GanOptions d;
        d.z_dim = 16;
        d.width = 128;
        d.batch_size = 256;
        d.lr_g = d.lr_d = 1e-3;
        d.beta1 = 0.5, d.beta2 = 0.999;
        if (!vanilla) {
            // The default stabilizers (gan2d-vanilla keeps plain training): PacGAN packing
            // against mode collapse, R1 and an EMA generator for sharp, stable modes. Pack 2,
            // not 4: D judges pairs, so a stray point between modes still costs (docs/models.md).
            d.pack = 2;
            d.r1_gamma = 0.1;
            d.ema_decay = 0.999;
        }
        OptionReader("gan2d options", config.options, d.to_json(), {"data", "lr"}).get("data", data_);
        nlohmann::json gan_options = config.options;
        gan_options.erase("data");
        ModelConfig c = config;
        c.options = gan_options;
        gan_ = resolve(c, d);
        MG_CHECK(!gan_.projection, "{}: 'projection' applies to the conditional cgan only", name());
        MG_CHECK(gan_.diffaug.empty(), "{}: 'diffaug' augments images; gan2d trains on points", name());
        manual_seed(config.seed);
        const int64_t w = gan_.width;
        auto make_g = [&] {
            return std::make_shared<nn::Sequential>(
                std::make_shared<nn::Linear>(gan_.z_dim, w), std::make_shared<nn::ReLU>(),
                std::make_shared<nn::Linear>(w, w), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(w, 2));
        };
        auto sn = [&](int64_t in, int64_t out) {
            return nn::spectral_norm(std::make_shared<nn::Linear>(in, out), gan_.spectral_norm);
        };
        auto dnet = std::make_shared<nn::Sequential>(sn(2 * gan_.pack, w), std::make_shared<nn::LeakyReLU>(0.2),
                                                     sn(w, w), std::make_shared<nn::LeakyReLU>(0.2), sn(w, 1));
        auto g = make_g();
        init(config, g, dnet, gan_.ema_decay > 0 ? std::shared_ptr<nn::Module>(make_g()) : nullptr);
        data::Toy2dSet real = data::make_toy2d(data::parse_toy2d(data_), kEvalSamples, config.seed + 1);
        real_ = real.points;
        centres_ = real.centres;
        mode_std_ = real.mode_std;
    }

    std::string name() const override { return vanilla_ ? "gan2d-vanilla" : "gan2d"; }
    DataSpec data_spec() const override {
        DataSpec s;
        s.source = DataSpec::Source::Toy2d;
        s.toy2d = data_;
        return s;
    }
    nlohmann::json config() const override {
        nlohmann::json j = AdversarialModel::config();
        j["data"] = data_;
        return j;
    }

    Metrics evaluate() override {
        if (mode_std_ <= 0) return {};  // the swiss roll has no modes
        ModeCoverage c = mode_coverage(sample(kEvalSamples), centres_, mode_std_);
        return {{"modes_covered", double(c.modes_covered)}, {"hq_fraction", c.hq_fraction}};
    }

    void write_visuals(const std::string& dir, int64_t step) override {
        Tensor fake = sample(1000);
        // D in eval mode: drawing must not advance spectral norm's power iteration.
        bool was_training = D_->is_training();
        D_->eval();
        auto surface = [this](const Tensor& pts) {
            // A packed D judges `pack` points at once: show it the same point `pack` times.
            Tensor x = pts.to(config_.device);
            if (gan_.pack > 1) x = cat(std::vector<Tensor>(size_t(gan_.pack), x), 1);
            return sigmoid(discriminate(x, Tensor())).to(Device::CPU);
        };
        try {
            plot2d::write_decision_surface(fmt::format("{}/surface_{:07d}.png", dir, step), surface, fake,
                                           real_.slice(0, 0, 1000));
        } catch (...) {
            D_->train(was_training);
            throw;
        }
        D_->train(was_training);
    }

protected:
    Tensor generate(nn::Module& g, const Tensor& z, const Tensor&) override { return g(z); }
    Tensor discriminate(const Tensor& x, const Tensor&) override { return (*D_)(x); }

private:
    bool vanilla_;
    std::string data_ = "ring";
    Tensor real_, centres_;
    double mode_std_ = 0;
};

}  // namespace

std::vector<ModelInfo> gan2d_models() {
    return {
        {"gan2d", "2-D GAN on a ring of 8 Gaussians, stabilized: PacGAN (pack 2), R1 0.1, EMA generator 0.999",
         [](const ModelConfig& c) { return std::make_unique<Gan2d>(c, false); }, 0, kDefaultSteps},
        {"gan2d-vanilla", "the same GAN with plain training (BCE, non-saturating G): watch it drop modes",
         [](const ModelConfig& c) { return std::make_unique<Gan2d>(c, true); }, 0, kDefaultSteps},
    };
}

}  // namespace mg::models
