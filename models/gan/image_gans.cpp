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

constexpr int64_t kFashionClasses = 10;
constexpr const char* kFashion = "fashion-mnist";

// What the image GANs train on; recorded in the config, so a checkpoint rebuilds the same
// networks without the data. 0: the data's own (Fashion-MNIST: 28, 1 channel, 10 classes;
// an image set: 64, 3 channels, its classes).
struct ImageDataOptions {
    std::string data = kFashion;  // "fashion-mnist", or an image data set ("folder:DIR", "npy:FILE", "emoji")
    int64_t image_size = 0;
    int64_t channels = 0;
    int64_t classes = 0;          // cgan: labels in [0, classes)
    bool hflip = false;           // random left-right flips of the real images
    bool skip_bad = false;        // images that do not decode are left out (else an error)

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        f("data", o.data);
        f("image_size", o.image_size, IntRange{0, 1024});
        f("channels", o.channels, IntRange{0, 3});
        f("classes", o.classes, IntRange{0, 1 << 20});
        f("hflip", o.hflip);
        f("skip_bad", o.skip_bad);
    }
    bool fashion() const { return data == kFashion; }

    DataSpec spec() const {
        DataSpec s;
        if (!fashion()) {
            s.source = DataSpec::Source::Images;
            s.images = data;
        }
        s.image_size = image_size;
        s.channels = channels;
        s.hflip = hflip;
        s.skip_bad = skip_bad;
        return s;
    }

    // Takes this struct's keys out of `options` (the rest are the GAN's) and fills in the defaults.
    static ImageDataOptions take(nlohmann::json& options, bool conditional) {
        ImageDataOptions o;
        const nlohmann::json known = options_to_json(o);
        nlohmann::json mine = nlohmann::json::object();
        for (auto it = known.begin(); it != known.end(); ++it)
            if (options.contains(it.key())) {
                mine[it.key()] = options[it.key()];
                options.erase(it.key());
            }
        read_options(o, OptionReader("image gan options", mine, known));
        MG_CHECK(o.fashion() || is_image_data_spec(o.data),
                 "image gan options: 'data' {} is not a data set (fashion-mnist, folder:DIR, npy:FILE, emoji[:VENDORS])",
                 io::quote_short(o.data));
        MG_CHECK(o.channels != 2, "image gan options: 'channels' must be 1 or 3, got 2");
        if (o.fashion()) {
            MG_CHECK(o.image_size == 0 || o.image_size == 28,
                     "image gan options: Fashion-MNIST is 28x28; 'image_size' {} needs an image data set", o.image_size);
            MG_CHECK(o.channels <= 1, "image gan options: Fashion-MNIST is grey; 'channels' 3 needs an image data set");
            o.image_size = 28;
            o.channels = 1;
            if (o.classes == 0) o.classes = kFashionClasses;
        } else {
            if (o.image_size == 0) o.image_size = 64;
            if (o.channels == 0) o.channels = 3;
            if (o.classes == 0 && conditional) o.classes = int64_t(load_image_data(o.spec()).classes.size());
        }
        image_shape(o.image_size);  // an error now for a size the networks cannot make
        return o;
    }
};

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
        images_ = ImageDataOptions::take(gan_config.options, kind == Kind::Cgan);
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
                                                   images_.image_size);
            dcgan_init(*g);
            return g;
        };
        auto g = make_g();
        auto dnet = std::make_shared<DcDiscriminator>(/*batchnorm=*/kind != Kind::WganGp, classes, images_.channels,
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
