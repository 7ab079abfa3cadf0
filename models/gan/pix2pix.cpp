// pix2pix (Isola et al. 2017): conditional GAN for paired image-to-image translation.
//
//   fake = G(x)                                    x: the input (edges, one vendor's emoji)
//   D update:  loss_d = (L_D(D(x, y), D(x, fake.detach()))) / 2      y: the target
//   G update:  loss_g = L_G(D(x, fake)) + l1_weight * mean|fake - y|  D frozen
//
// D sees the input beside the image (cat on channels), so it judges "is this a plausible
// translation of x", not just "is this a plausible image". Halving D's loss slows D against
// G, as the authors' code does. The L1 term ties G to the target's low frequencies (a blur
// on its own); the PatchGAN's adversarial term, judging local patches, adds the sharp detail
// that L1 averages away. Networks: models/gan/pix2pix_networks.h; losses: adversarial.h.
//
// Colorization is this model on lab:SPEC data (L* in, a*b* out; models/paired_data.h), as the
// registry entries `colorize` and, with the adversarial term off (adv_weight 0: D is not
// trained, G regresses on L1 alone), `colorize-l1`.
#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/capabilities.h"
#include "models/families.h"
#include "models/gan/adversarial.h"
#include "models/gan/pix2pix_networks.h"
#include "models/image_data.h"
#include "models/options.h"
#include "models/paired_data.h"
#include "optim/adam.h"

namespace mg::models {

namespace {

struct Pix2PixOptions {
    int64_t batch_size = 16;  // the paper trains with 1 to 10; 16 keeps BatchNorm's statistics steady
    double lr_g = 2e-4, lr_d = 2e-4;
    double beta1 = 0.5, beta2 = 0.999;
    GanLoss loss = GanLoss::Bce;
    double l1_weight = 100;    // the paper's lambda
    double adv_weight = 1;     // the adversarial term's weight in G's loss (0: L1 regression, D idle)
    int64_t width = 64;        // ngf = ndf: the first layer's channels (each level doubles, up to 8x)
    int64_t patch_layers = 0;  // the PatchGAN's stride-2 layers; 0: from the image size
    double dropout = 0.5;      // in the decoder blocks after the bottleneck (0: none)

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
        f("lr_g", o.lr_g);
        f("lr_d", o.lr_d);
        f("beta1", o.beta1);
        f("beta2", o.beta2);
        f("loss", o.loss, Names<GanLoss>{parse_gan_loss, gan_loss_name});
        f("l1_weight", o.l1_weight);
        f("adv_weight", o.adv_weight);
        f("width", o.width, IntRange{1, 1024});
        f("patch_layers", o.patch_layers, IntRange{0, 5});
        f("dropout", o.dropout);
    }
    void update_from(const nlohmann::json& j) {
        const OptionReader options("pix2pix options", j, options_to_json(*this), {"lr"});
        if (options.contains("lr")) {
            options.get("lr", lr_g);
            lr_d = lr_g;
        }
        read_options(*this, options);
        MG_CHECK(lr_g > 0 && lr_d > 0, "pix2pix options: learning rates must be positive (lr_g {}, lr_d {})", lr_g, lr_d);
        MG_CHECK(l1_weight >= 0, "pix2pix options: 'l1_weight' {} must be >= 0", l1_weight);
        MG_CHECK(adv_weight >= 0, "pix2pix options: 'adv_weight' {} must be >= 0", adv_weight);
        MG_CHECK(adv_weight > 0 || l1_weight > 0, "pix2pix options: 'adv_weight' and 'l1_weight' are both 0: G has no loss");
        MG_CHECK(dropout >= 0 && dropout < 1, "pix2pix options: 'dropout' {} not in [0, 1)", dropout);
        MG_CHECK(loss != GanLoss::Wasserstein, "pix2pix options: 'loss' wasserstein needs a gradient penalty; use bce, "
                                               "lsgan or hinge");
    }
};

// A registry entry's name and the defaults it gives the options it does not set.
struct Pix2PixEntry {
    const char* name;
    const char* data;
    double adv_weight;
};

class Pix2Pix : public Model, public Sampler, public Translation {
public:
    Pix2Pix(const ModelConfig& config, const Pix2PixEntry& entry) : config_(config), name_(entry.name) {
        nlohmann::json options = config.options;
        if (!options.contains("data")) options["data"] = entry.data;
        if (!options.contains("adv_weight")) options["adv_weight"] = entry.adv_weight;
        images_ = ImageDataOptions::take(options, "pix2pix options", /*conditional=*/false, /*paired=*/true);
        opts_.update_from(options);
        if (config.batch_size > 0) opts_.batch_size = config.batch_size;
        if (config.lr > 0) opts_.lr_g = opts_.lr_d = config.lr;
        MG_CHECK(images_.image_size >= 16 && images_.image_size <= 256,
                 "pix2pix options: 'image_size' {} not in 16..256 (the U-Net pads to the next power of two)",
                 images_.image_size);
        in_channels_ = paired_input_channels(images_.data, images_.channels);
        out_channels_ = paired_target_channels(images_.data, images_.channels);
        const int64_t layers = opts_.patch_layers > 0 ? opts_.patch_layers : patch_layers(images_.image_size);
        MG_CHECK(images_.image_size / (int64_t(1) << layers) >= 3,
                 "pix2pix options: 'patch_layers' {} leaves no patches on {}x{} images", layers, images_.image_size,
                 images_.image_size);
        manual_seed(config.seed);
        G_ = std::make_shared<UNetGenerator>(in_channels_, out_channels_, images_.image_size, opts_.width,
                                             opts_.dropout);
        D_ = std::make_shared<PatchDiscriminator>(in_channels_ + out_channels_, layers, opts_.width);
        pix2pix_init(*G_);
        pix2pix_init(*D_);
        G_->name_parameters("G.");
        D_->name_parameters("D.");
        optim::AdamOptions g, d;
        g.lr = opts_.lr_g, d.lr = opts_.lr_d;
        g.beta1 = d.beta1 = opts_.beta1;
        g.beta2 = d.beta2 = opts_.beta2;
        opt_g_ = std::make_unique<optim::Adam>(G_->parameters(), g);
        opt_d_ = std::make_unique<optim::Adam>(D_->parameters(), d);
        if (config.device != Device::CPU) {
            G_->to(config.device);
            D_->to(config.device);
        }
    }

    std::string name() const override { return name_; }
    DataSpec data_spec() const override { return images_.spec(); }  // unlabelled, in [-1, 1] (DataSpec's defaults)
    int64_t batch_size() const override { return opts_.batch_size; }
    nlohmann::json config() const override {
        nlohmann::json j = options_to_json(opts_);
        j.update(options_to_json(images_));
        return run_config(j, config_);
    }
    std::vector<std::pair<std::string, nn::Module*>> modules() override { return {{"G", G_.get()}, {"D", D_.get()}}; }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override {
        return {{"G", opt_g_.get()}, {"D", opt_d_.get()}};
    }

    Metrics train_step(const data::Batch& batch) override {
        const PairedBatch pair = split_pair(batch.images.to(config_.device), in_channels_);
        const Tensor& x = pair.input;
        const Tensor& y = pair.target;
        StepMetrics rec({"loss_d", "loss_g", "d_real", "d_fake"});
        Tensor fake = (*G_)(x);
        const bool adversarial = opts_.adv_weight > 0;

        // ---- D: real pairs (x, y) against (x, G(x)), G's graph cut.
        if (adversarial) {
            opt_d_->zero_grad();
            Tensor real_logits = (*D_)(cat({x, y}, 1));
            Tensor fake_logits = (*D_)(cat({x, fake.detach()}, 1));
            Tensor loss_d = mul(adversarial_d_loss(opts_.loss, real_logits, fake_logits), 0.5);
            loss_d.backward();
            record_grad_norms(rec, "D", *D_);
            opt_d_->step();
            rec("loss_d", loss_d.item());
            rec("d_real", adversarial_d_output(opts_.loss, real_logits));
            rec("d_fake", adversarial_d_output(opts_.loss, fake_logits));
        }

        // ---- G: fool the updated D, and stay near the target in L1.
        {
            FreezeParameters frozen(*D_);
            opt_g_->zero_grad();
            Tensor logits, loss_gan;
            if (adversarial) {
                logits = (*D_)(cat({x, fake}, 1));
                loss_gan = adversarial_g_loss(opts_.loss, logits);
            }
            Tensor l1 = mean(abs(sub(fake, y)));
            Tensor loss_g = mul(l1, opts_.l1_weight);
            if (adversarial) loss_g = add(opts_.adv_weight == 1 ? loss_gan : mul(loss_gan, opts_.adv_weight), loss_g);
            loss_g.backward();
            rec("loss_g", loss_g.item());
            if (adversarial) rec("loss_g_gan", loss_gan.item());
            rec("l1", l1.item());
            if (adversarial) rec("d_fake_after", adversarial_d_output(opts_.loss, logits));
        }
        record_grad_norms(rec, "G", *G_);
        opt_g_->step();
        return rec.take();
    }

    int64_t input_channels() const override { return in_channels_; }

    Tensor translate(const Tensor& inputs) override {
        MG_CHECK(inputs.dim() == 4 && inputs.size(1) == in_channels_ && inputs.size(2) == images_.image_size &&
                     inputs.size(3) == images_.image_size,
                 "{}: inputs {} do not fit the model, which translates [N, {}, {}, {}] (data {})", name_, inputs.shape(),
                 in_channels_, images_.image_size, images_.image_size, images_.data);
        const bool was_training = G_->is_training();
        G_->eval();  // BatchNorm's running statistics; dropout stays on (the paper's noise)
        autograd::NoGradGuard no_grad;
        std::vector<Tensor> out;
        constexpr int64_t kChunk = 64;
        for (int64_t i = 0; i < inputs.size(0); i += kChunk) {
            const int64_t end = std::min(inputs.size(0), i + kChunk);
            out.push_back((*G_)(inputs.slice(0, i, end).to(config_.device)).to(Device::CPU));
        }
        G_->train(was_training);
        return cat(out, 0);
    }

    // Rows of 8 held-out pairs: their inputs, the translations, the targets (at least one
    // group of three rows; n / 24 groups when n allows), as images (lab data: in RGB).
    Tensor sample(int64_t n) override {
        if (!held_out_.defined()) held_out_ = load_sample_pairs(data_spec());
        const int64_t groups = std::max<int64_t>(1, n / 24);
        const int64_t k = std::min(held_out_.size(0), 8 * groups);
        const PairedBatch pair = split_pair(held_out_.slice(0, 0, k), in_channels_);
        const std::string& data = images_.data;
        Tensor outputs = paired_as_image(data, pair.input, translate(pair.input.contiguous()));
        Tensor targets = paired_as_image(data, pair.input, pair.target);
        Tensor inputs = paired_as_image(data, pair.input).expand({k, images_.channels, images_.image_size,
                                                                   images_.image_size});
        std::vector<Tensor> rows;
        for (int64_t i = 0; i < k; i += 8) {
            const int64_t end = std::min(k, i + 8);
            for (const Tensor& t : {inputs, outputs, targets}) rows.push_back(t.slice(0, i, end));
        }
        return cat(rows, 0).contiguous();
    }

private:
    ModelConfig config_;
    std::string name_;
    ImageDataOptions images_;
    Pix2PixOptions opts_;
    int64_t in_channels_ = 1, out_channels_ = 1;
    std::shared_ptr<UNetGenerator> G_;
    std::shared_ptr<PatchDiscriminator> D_;
    std::unique_ptr<optim::Adam> opt_g_, opt_d_;
    Tensor held_out_;  // the held-out pairs for sample grids, stacked, in [-1, 1]
};

}  // namespace

std::vector<ModelInfo> pix2pix_models() {
    auto make = [](Pix2PixEntry entry) {
        return [entry](const ModelConfig& c) { return std::make_unique<Pix2Pix>(c, entry); };
    };
    return {{"pix2pix",
             "pix2pix: U-Net G with skips and dropout, PatchGAN D on (input, image), BCE + 100 * L1, Adam 2e-4 "
             "(0.5, 0.999); paired data: edges:SPEC (default edges:fashion-mnist), emoji-pair:google,twitter, lab:SPEC",
             make({"pix2pix", "edges:fashion-mnist", 1}), 5, 0, /*image_data=*/true},
            {"colorize",
             "colorization: pix2pix predicting CIELAB a*b* from L* (data lab:SPEC, default lab:emoji); sample rows: "
             "grey, output, real, in RGB",
             make({"colorize", "lab:emoji", 1}), 5, 0, /*image_data=*/true},
            {"colorize-l1",
             "colorization baseline: colorize's U-Net regressing a*b* on L1 alone (adv_weight 0, no discriminator "
             "step)",
             make({"colorize-l1", "lab:emoji", 0}), 5, 0, /*image_data=*/true}};
}

}  // namespace mg::models
