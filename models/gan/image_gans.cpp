// dcgan, cgan and wgan-gp (workloads.md): one generator and one discriminator shape, three
// ways of training them, on Fashion-MNIST (the default) or any image data set at any size
// the networks can make (networks.h).
#include "core/ops.h"
#include "core/random.h"
#include "models/gan/adversarial.h"
#include "models/gan/networks.h"
#include "models/families.h"
#include "models/image_data.h"
#include "models/options.h"

namespace mg::models {

namespace {

class ImageGan : public AdversarialModel, public Interpolation {
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

protected:
    int64_t num_classes() const override { return images_.classes; }

    Tensor generate(nn::Module& g, const Tensor& z, const Tensor& labels) override {
        if (!conditional()) return g(z);
        return g(cat({z, one_hot(labels, images_.classes, z.dtype()).to(z.device())}, 1));
    }
    Tensor discriminate(const Tensor& x, const Tensor& labels) override {
        if (!conditional()) return (*D_typed_)(x);
        return D_typed_->forward(x, one_hot(labels, images_.classes, x.dtype()).to(x.device()));
    }

private:
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
