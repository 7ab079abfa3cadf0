#include "models/style/fast_style.h"

#include <cmath>

#include "core/autograd.h"
#include "core/data/fashion_mnist.h"
#include "core/io/sha256.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/capabilities.h"
#include "models/families.h"
#include "models/gan/adversarial.h"
#include "models/image_data.h"
#include "models/options.h"
#include "models/style/style_image.h"
#include "models/style/style_loss.h"
#include "models/style/transform_network.h"
#include "optim/adam.h"

namespace mg::models {

namespace {

struct FastStyleOptions {
    int64_t batch_size = 8;
    double lr = 1e-3;  // the paper's Adam step
    std::string features = "emoji";  // or fashion, random; default: fashion for grey data
    std::string style_image;    // PATH; "" = the built-in stripes
    std::string style_sha256;   // recorded from the file; present = rebuilt from a checkpoint
    double content_weight = 1, style_weight = 10, tv_weight = 10;  // style::StyleWeights' defaults
    int64_t width = 16;  // the first conv's channels (the paper's 32, halved for 64x64 images)
    int64_t residual_blocks = 3;

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
        f("lr", o.lr);
        f("features", o.features);
        f("width", o.width, IntRange{1, 256});
        f("style_image", o.style_image);
        f("style_sha256", o.style_sha256);
        f("residual_blocks", o.residual_blocks, IntRange{0, 16});
        f("content_weight", o.content_weight);
        f("style_weight", o.style_weight);
        f("tv_weight", o.tv_weight);
    }
    void update_from(const nlohmann::json& j) {
        read_options(*this, OptionReader("fast-style options", j, options_to_json(*this)));
        MG_CHECK(lr > 0, "fast-style options: 'lr' {} must be positive", lr);
        MG_CHECK(content_weight >= 0 && style_weight >= 0 && tv_weight >= 0,
                 "fast-style options: loss weights must be >= 0 (content {}, style {}, tv {})", content_weight,
                 style_weight, tv_weight);
    }
};

// Holds the style image as a persistent buffer, so that checkpoints carry it.
class StyleHolder : public nn::Module {
public:
    explicit StyleHolder(const Tensor& image) { this->image = register_buffer("image", image); }
    Tensor image;
};

// The built-in style: diagonal stripes of three colours, 8 pixels wide. [1, C, S, S] in [0, 1].
Tensor stripes(int64_t channels, int64_t size) {
    const double colours[3][3] = {{0.9, 0.2, 0.1}, {0.1, 0.3, 0.8}, {0.95, 0.85, 0.2}};
    std::vector<float> v(size_t(channels * size * size));
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t y = 0; y < size; ++y)
            for (int64_t x = 0; x < size; ++x) {
                const double* rgb = colours[((x + y) / 8) % 3];
                v[size_t((c * size + y) * size + x)] =
                    float(channels == 3 ? rgb[c] : 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
            }
    return from_vector(v, {1, channels, size, size});
}

class FastStyle : public Model, public Sampler, public Stylizer {
public:
    explicit FastStyle(const ModelConfig& config) : config_(config) {
        nlohmann::json options = config.options;
        images_ = ImageDataOptions::take(options, "fast-style options", /*conditional=*/false);
        // The features follow the data's channels: grey data (Fashion-MNIST, the default, or
        // --channels 1) the Fashion-MNIST classifier's, colour the emoji classifier's.
        if (!options.contains("features")) options["features"] = images_.channels == 1 ? "fashion" : "emoji";
        opts_.update_from(options);
        if (config.batch_size > 0) opts_.batch_size = config.batch_size;
        if (config.lr > 0) opts_.lr = config.lr;
        manual_seed(config.seed);
        features_ = std::make_unique<style::FeatureNetwork>(style::parse_feature_kind(opts_.features), config.seed);
        MG_CHECK(images_.channels == features_->channels(),
                 "fast-style options: 'channels' {} but the {} features take {}-channel images", images_.channels,
                 opts_.features, features_->channels());
        MG_CHECK(images_.image_size % 4 == 0 && images_.image_size >= 8 && images_.image_size <= 256,
                 "fast-style options: 'image_size' {} must be a multiple of 4 in 8..256", images_.image_size);
        const int64_t c = images_.channels, s = images_.image_size;
        Tensor style_image;
        if (!opts_.style_sha256.empty()) {
            style_image = zeros({1, c, s, s});  // rebuilt from a checkpoint: its buffer replaces this
        } else if (opts_.style_image.empty()) {
            style_image = stripes(c, s);
            opts_.style_sha256 = "built-in stripes";
        } else {
            style_image = style::read_style_image(opts_.style_image, c, s, "fast-style --style-image");
            opts_.style_sha256 = io::sha256_file(opts_.style_image);
        }
        style_ = std::make_shared<StyleHolder>(style_image);
        net_ = std::make_shared<style::TransformNetwork>(c, opts_.width, opts_.residual_blocks);
        net_->name_parameters("T.");
        optim::AdamOptions adam;
        adam.lr = opts_.lr;
        optimizer_ = std::make_unique<optim::Adam>(net_->parameters(), adam);
        if (config.device != Device::CPU) {
            net_->to(config.device);
            style_->to(config.device);
            features_->to(config.device);
        }
    }

    std::string name() const override { return "fast-style"; }
    DataSpec data_spec() const override {
        DataSpec spec = images_.spec();
        spec.range = data::PixelRange::ZeroOne;  // the feature networks take [0, 1]
        return spec;
    }
    int64_t batch_size() const override { return opts_.batch_size; }
    nlohmann::json config() const override {
        nlohmann::json j = options_to_json(opts_);
        j.update(options_to_json(images_));
        return run_config(j, config_);
    }
    std::vector<std::pair<std::string, nn::Module*>> modules() override {
        return {{"T", net_.get()}, {"style", style_.get()}};
    }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override { return {{"T", optimizer_.get()}}; }

    Metrics train_step(const data::Batch& batch) override {
        if (!loss_) {  // after a checkpoint's style image is in place
            style::StyleWeights w{opts_.content_weight, opts_.style_weight, opts_.tv_weight};
            loss_ = std::make_unique<style::StyleLoss>(*features_, style_->image, w);
        }
        const Tensor x = batch.images.to(config_.device);
        optimizer_->zero_grad();
        const style::StyleTerms t = (*loss_)(net_->forward(x), loss_->content_target(x));
        t.total.backward();
        StepMetrics rec({"loss", "content", "style", "tv"});
        rec("loss", t.total.item());
        rec("content", t.content.item());
        rec("style", t.style.item());
        rec("tv", t.tv.item());
        record_grad_norms(rec, "T", *net_);
        optimizer_->step();
        return rec.take();
    }

    int64_t image_channels() const override { return images_.channels; }
    int64_t image_size() const override { return images_.image_size; }
    Tensor stylize(const Tensor& images) override {
        MG_CHECK(images.dim() == 4 && images.size(1) == images_.channels,
                 "fast-style: expected images [N, {}, H, W], got {}", images_.channels, images.shape());
        const bool was_training = net_->is_training();
        net_->eval();
        autograd::NoGradGuard no_grad;
        std::vector<Tensor> out;
        for (int64_t i = 0; i < images.size(0); i += 64)
            out.push_back(net_->forward(images.slice(0, i, std::min(images.size(0), i + 64)).to(config_.device))
                              .to(Device::CPU));
        net_->train(was_training);
        return cat(out, 0);
    }

    // Rows of 8: held-out content images, then their stylisations (at least one pair of rows).
    Tensor sample(int64_t n) override {
        if (!held_out_.defined()) held_out_ = data::to_float(held_out_images(), data::PixelRange::ZeroOne);
        const int64_t k = std::min(held_out_.size(0), 8 * std::max<int64_t>(1, n / 16));
        return content_and_stylised(held_out_.slice(0, 0, k).contiguous());
    }

    // [N, C, S, S] -> rows of 8: content, then stylised (2N images).
    Tensor content_and_stylised(const Tensor& content) {
        const Tensor styled = stylize(content);
        std::vector<Tensor> rows;
        for (int64_t i = 0; i < content.size(0); i += 8) {
            const int64_t end = std::min(content.size(0), i + 8);
            rows.push_back(content.slice(0, i, end));
            rows.push_back(styled.slice(0, i, end));
        }
        return cat(rows, 0).contiguous();
    }

private:
    // uint8 [N, C, S, S]: the data's held-out images; a set too small to hold any out gives its
    // training images instead.
    Tensor held_out_images() const {
        if (images_.fashion()) return data::load_fashion_mnist(data::Split::Test).images;
        try {
            return load_image_data(data_spec(), ImageSplit::Test).images;
        } catch (const Error&) {
            return load_image_data(data_spec(), ImageSplit::Train).images;  // a real data error is raised again here
        }
    }

    ModelConfig config_;
    ImageDataOptions images_;
    FastStyleOptions opts_;
    std::unique_ptr<style::FeatureNetwork> features_;
    std::shared_ptr<StyleHolder> style_;
    std::shared_ptr<style::TransformNetwork> net_;
    std::unique_ptr<optim::Adam> optimizer_;
    std::unique_ptr<style::StyleLoss> loss_;
    Tensor held_out_;
};

}  // namespace

std::vector<ModelInfo> style_models() {
    return {{"fast-style",
             "fast style transfer (Johnson et al. 2016): a conv/residual/upsample network with instance norm, "
             "trained on a content set (--data emoji, folder:DIR; default fashion-mnist) for one --style-image "
             "against Gram-matrix losses on a classifier's features (option features: emoji, fashion, random); "
             "sample --input IMG|DIR",
             [](const ModelConfig& c) { return std::make_unique<FastStyle>(c); }, 2, 0, /*image_data=*/true}};
}

}  // namespace mg::models
