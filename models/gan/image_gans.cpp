// dcgan, cgan and wgan-gp (workloads.md): one generator and one discriminator shape, three
// ways of training them, on Fashion-MNIST (the default) or any image data set at any size
// the networks can make (networks.h).
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/eval/real_images.h"
#include "models/eval/reference_classifier.h"
#include "models/gan/adversarial.h"
#include "models/gan/networks.h"
#include "models/families.h"
#include "models/health.h"
#include "models/image_data.h"
#include "models/options.h"

namespace mg::models {

namespace {

// Samples the health monitors read at each sample point (models/health.h).
constexpr int64_t kWatchedSamples = 500;

class ImageGan : public AdversarialModel, public Interpolation, public SampleQuality {
public:
    enum class Kind { Dcgan, Cgan, WganGp };

    ImageGan(Kind kind, const ModelConfig& config) : kind_(kind) {
        GanOptions d;
        d.z_dim = 100;
        d.batch_size = 64;
        if (kind == Kind::WganGp) {
            d.loss = GanLoss::Wasserstein;
            d.lr_g = d.lr_d = 1e-4;
            d.beta1 = 0.5, d.beta2 = 0.9;
            d.gp_weight = 10;
            d.n_critic = 5;
        }
        // workloads.md's cgan D (the label beside the features) cannot condition on its own:
        // see DcDiscriminator. Trained models use the projection term; the benchmark turns it off.
        if (kind == Kind::Cgan) d.projection = true;
        ModelConfig gan_config = config;
        images_ = ImageDataOptions::take(gan_config.options, "image gan options", kind == Kind::Cgan);
        image_shape(images_.image_size);  // an error now for a size the networks cannot make
        gan_ = resolve(gan_config, d);
        MG_CHECK(gan_.pack == 1, "{}: PacGAN packing is offered for gan2d only", name());
        MG_CHECK(!gan_.projection || kind == Kind::Cgan, "{}: 'projection' applies to the conditional cgan only",
                 name());
        manual_seed(config.seed);
        MG_CHECK(kind != Kind::Cgan || images_.classes >= 2, "cgan: the data has {} class(es); it needs at least 2",
                 images_.classes);
        const int64_t classes = kind == Kind::Cgan ? images_.classes : 0;
        auto make_g = [&] {
            auto g = std::make_shared<DcGenerator>(gan_.z_dim, classes, gan_.width, images_.channels,
                                                   images_.image_size, config.bug);
            dcgan_init(*g);
            return g;
        };
        auto g = make_g();
        const bool d_batchnorm = kind != Kind::WganGp || config.bug == Bug::CriticBatchNorm;
        auto dnet = std::make_shared<DcDiscriminator>(d_batchnorm, classes, images_.channels,
                                                      gan_.width, gan_.spectral_norm, gan_.projection,
                                                      images_.image_size);
        dcgan_init(*dnet);
        D_typed_ = dnet;
        init(config, g, dnet, gan_.ema_decay > 0 ? std::shared_ptr<nn::Module>(make_g()) : nullptr);
    }

    std::string name() const override {
        switch (kind_) {
            case Kind::Dcgan: return "dcgan";
            case Kind::Cgan: return "cgan";
            case Kind::WganGp: return "wgan-gp";
        }
        return "?";
    }
    Tensor interpolate(int64_t rows, int64_t steps) override { return interpolate_latent(rows, steps); }
    nlohmann::json config() const override {
        nlohmann::json j = AdversarialModel::config();
        j.update(options_to_json(images_));
        return j;
    }
    DataSpec data_spec() const override {
        DataSpec s = images_.spec();
        s.range = data::PixelRange::MinusOneOne;
        s.labels = kind_ == Kind::Cgan;
        return s;
    }

    bool conditional() const override { return kind_ == Kind::Cgan; }

    // At a sample point, for the health monitors: G's activation scales, and the class
    // histogram of its samples as the data's built-in classifier sees them. On draws of its
    // own: the random stream is put back, so a run trains exactly as it would without them.
    Metrics evaluate() override {
        const GeneratorState rng = default_generator().state();
        try {
            Metrics m = watched_measures();
            default_generator().set_state(rng);
            return m;
        } catch (...) {
            default_generator().set_state(rng);
            throw;
        }
    }

protected:
    int64_t num_classes() const override { return images_.classes; }

    Tensor generate(nn::Module& g, const Tensor& z, const Tensor& labels) override {
        return g(generator_input(z, labels));
    }
    Tensor discriminate(const Tensor& x, const Tensor& labels) override {
        if (!conditional()) return (*D_typed_)(x);
        return D_typed_->forward(x, one_hot(labels, images_.classes, x.dtype()).to(x.device()));
    }

private:
    Tensor generator_input(const Tensor& z, const Tensor& labels) const {
        if (!conditional()) return z;
        return cat({z, one_hot(labels, images_.classes, z.dtype()).to(z.device())}, 1);
    }

    // On kWatchedSamples draws of the sampling generator (eval mode): "g_updates",
    // "g_parity_std_ratio" (parity_std_ratio of G's pre-Tanh output), "g_act_std/i" (G's i-th
    // hidden activation), "g_pre_tanh_std", a critic's "critic_batch_dependence", and with a
    // built-in classifier for the data the class histogram's measures (class_histogram_measures);
    // a conditional model asks for every class in turn.
    Metrics watched_measures() {
        autograd::NoGradGuard no_grad;
        Tensor labels;
        if (conditional()) {
            std::vector<int64_t> each(static_cast<size_t>(kWatchedSamples));
            for (size_t i = 0; i < each.size(); ++i) each[i] = int64_t(i) % images_.classes;
            labels = from_vector(each);
        }
        auto& g = static_cast<DcGenerator&>(sampling_generator());
        const bool was_training = g.is_training();
        g.eval();
        std::vector<double> stds;
        Tensor input = generator_input(noise(kWatchedSamples), labels.defined() ? labels.to(config_.device) : labels);
        Tensor pre_tanh;
        Tensor samples = g.forward_measured(input, stds, &pre_tanh).to(Device::CPU);
        g.train(was_training);
        Metrics m = {{"g_updates", double(g_updates())}, {"g_parity_std_ratio", parity_std_ratio(pre_tanh)}};
        for (size_t i = 0; i + 1 < stds.size(); ++i) m.emplace_back(fmt::format("g_act_std/{}", i), stds[i]);
        m.emplace_back("g_pre_tanh_std", stds.back());
        if (gan_.loss == GanLoss::Wasserstein)
            m.emplace_back("critic_batch_dependence", critic_batch_dependence(samples.slice(0, 0, 64), labels));
        const std::string data = eval::data_name(data_spec());
        if (!eval::has_builtin_reference_classifier(data)) return m;
        eval::ReferenceClassifier& classifier = eval::ReferenceClassifier::select(std::nullopt, data);
        Tensor predicted = argmax(classifier.probs(affine(samples, 0.5, 0.5)), 1);  // [-1, 1] -> [0, 1]
        for (auto& kv : class_histogram_measures(predicted, classifier.info().shape.classes, labels))
            m.push_back(kv);
        return m;
    }

    // How much a sample's score depends on the rest of its batch, with D in training mode as
    // the penalty sees it: the largest change of the first half's scores when scored alone
    // instead of in the whole batch, over the whole batch's score spread. A per-sample critic
    // gives 0 up to rounding. D's buffers (BatchNorm's statistics, spectral norm's vectors) are
    // put back, so training goes on as it would without this.
    double critic_batch_dependence(const Tensor& images, const Tensor& labels) {
        std::vector<std::pair<Tensor, Tensor>> buffers;
        for (const Tensor& b : D_->buffers()) buffers.emplace_back(b, b.clone());
        const bool was_training = D_->is_training();
        D_->train();
        const int64_t n = images.size(0), half = n / 2;
        Tensor x = images.to(config_.device);
        Tensor y = labels.defined() ? labels.slice(0, 0, n).to(config_.device) : labels;
        Tensor whole = discriminate(x, y).to(Device::CPU);
        Tensor alone = discriminate(x.slice(0, 0, half), y.defined() ? y.slice(0, 0, half) : y).to(Device::CPU);
        for (auto& [live, saved] : buffers) Tensor(live).copy_(saved);
        D_->train(was_training);
        const double spread = std::sqrt(var(whole, {}, /*correction=*/0).item());
        const double change = amax(abs(sub(whole.slice(0, 0, half), alone))).item();
        return change / (spread + 1e-12);
    }

    Kind kind_;
    ImageDataOptions images_;
    std::shared_ptr<DcDiscriminator> D_typed_;
};

}  // namespace

std::vector<ModelInfo> image_gan_models() {
    return {
        {"dcgan", "DCGAN on Fashion-MNIST (workloads.md) or any image data set (--data): BCE, non-saturating G, Adam 2e-4 (0.5, 0.999), batch 64",
         [](const ModelConfig& c) { return std::make_unique<ImageGan>(ImageGan::Kind::Dcgan, c); }, 5, 0, /*image_data=*/true},
        {"cgan", "class-conditional DCGAN: one-hot labels into G's input and beside D's features, plus "
                 "D's projection term <embed(y), features> (option projection; off = workloads.md exactly)",
         [](const ModelConfig& c) { return std::make_unique<ImageGan>(ImageGan::Kind::Cgan, c); }, 5, 0, /*image_data=*/true},
        {"wgan-gp", "WGAN-GP: DCGAN critic without BatchNorm, gradient penalty 10, n_critic 5, Adam 1e-4 (0.5, 0.9)",
         [](const ModelConfig& c) { return std::make_unique<ImageGan>(ImageGan::Kind::WganGp, c); }, 5, 0, /*image_data=*/true},
    };
}

}  // namespace mg::models
