// CycleGAN (Zhu, Park, Isola & Efros 2017): translation between two image domains A and B
// learned from unpaired examples. Two generators G: A -> B and F: B -> A, two PatchGAN
// discriminators D_B (real B vs G(A)) and D_A (real A vs F(B)):
//
//   G, F update (D frozen), one Adam over both:
//     loss_g = L_G(D_B(G(a))) + L_G(D_A(F(b)))                         adversarial (lsgan)
//            + lambda_cycle * (|F(G(a)) - a| + |G(F(b)) - b|)          cycle consistency
//            + lambda_cycle * lambda_identity * (|G(b) - b| + |F(a) - a|)   identity
//   D_A, D_B update, one Adam over both, on the image pools' mix of new and old fakes:
//     loss_d = L_D(D_B(b), D_B(pool_B(G(a)))) + L_D(D_A(a), D_A(pool_A(F(b))))
//
// The order (G first, then D on the same fakes) and the loss weights are the authors' code's.
// Networks: models/gan/cyclegan_networks.h (G, F), models/gan/pix2pix_networks.h (the
// PatchGAN, here on the image alone); the history: models/gan/image_pool.h.
//
// Data: a paired spec (models/paired_data.h) whose two sides have the same channels, by
// default emoji-pair:google,twitter. The pairing is broken on purpose: the trainer's loader
// gives the A side (its batches' input channels; their targets are dropped) and the model
// draws the B side from its own loader over the training targets, with its own seed, so the
// two sides come in independent permutations. The held-out pairs are still paired, which
// lets eval score G(a) against the true b.
#include <optional>

#include "core/autograd.h"
#include "core/data/loader.h"
#include "core/data/random_stream.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/capabilities.h"
#include "models/families.h"
#include "models/gan/adversarial.h"
#include "models/gan/cyclegan_networks.h"
#include "models/gan/image_pool.h"
#include "models/gan/pix2pix_networks.h"
#include "models/image_data.h"
#include "models/options.h"
#include "models/paired_data.h"
#include "models/step_metrics.h"
#include "optim/adam.h"

namespace mg::models {

namespace {

// Seeds of the model's own random streams, mixed with the run's seed: the B side's loader
// and the pools' draws (stream = step), apart from the trainer's loader (seeded by the run's
// seed itself).
constexpr uint64_t kBSideStream = 0xB51DE;
constexpr uint64_t kPoolStream = 0x9001;

struct CycleGanOptions {
    int64_t batch_size = 8;  // the paper's is 1; 8 keeps a CPU step's GEMMs wide enough to be efficient
    double lr = 2e-4;
    double beta1 = 0.5, beta2 = 0.999;
    GanLoss loss = GanLoss::LeastSquares;
    double lambda_cycle = 10;      // the cycle terms' weight (both directions)
    double lambda_identity = 0.5;  // the identity terms' weight, as a fraction of lambda_cycle (0: off)
    int64_t width = 64;            // ngf = ndf: G's first layer's channels, D's likewise
    int64_t blocks = 6;            // G's residual blocks (the paper: 6 at 128 px, 9 at 256)
    int64_t patch_layers = 0;      // the PatchGAN's stride-2 layers; 0: from the image size
    int64_t pool_size = 50;        // fakes each discriminator's history keeps (0: none)

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        // The networks and the history, then the loss, then the optimiser.
        f("width", o.width, IntRange{1, 1024});
        f("blocks", o.blocks, IntRange{0, 32});
        f("patch_layers", o.patch_layers, IntRange{0, 5});
        f("pool_size", o.pool_size, IntRange{0, 10000});
        f("loss", o.loss, Names<GanLoss>{parse_gan_loss, gan_loss_name});
        f("lambda_cycle", o.lambda_cycle);
        f("lambda_identity", o.lambda_identity);
        f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
        f("lr", o.lr);
        f("beta1", o.beta1);
        f("beta2", o.beta2);
    }
    void update_from(const nlohmann::json& j) {
        read_options(*this, OptionReader("cyclegan options", j, options_to_json(*this)));
        MG_CHECK(lr > 0, "cyclegan options: 'lr' {} must be positive", lr);
        MG_CHECK(lambda_cycle >= 0, "cyclegan options: 'lambda_cycle' {} must be >= 0", lambda_cycle);
        MG_CHECK(lambda_identity >= 0, "cyclegan options: 'lambda_identity' {} must be >= 0", lambda_identity);
        MG_CHECK(loss != GanLoss::Wasserstein, "cyclegan options: 'loss' wasserstein needs a gradient penalty; use "
                                               "lsgan (the paper's), bce or hinge");
    }
};

class CycleGan : public Model, public Sampler, public Translation {
public:
    explicit CycleGan(const ModelConfig& config) : config_(config) {
        nlohmann::json options = config.options;
        if (!options.contains("data")) options["data"] = "emoji-pair:google,twitter";
        const std::string data = options["data"].is_string() ? options["data"].get<std::string>() : "";
        if (!options.contains("image_size") && data.rfind("emoji-pair:", 0) == 0) options["image_size"] = 32;
        images_ = ImageDataOptions::take(options, "cyclegan options", /*conditional=*/false, /*paired=*/true);
        opts_.update_from(options);
        if (config.batch_size > 0) opts_.batch_size = config.batch_size;
        if (config.lr > 0) opts_.lr = config.lr;
        channels_ = paired_input_channels(images_.data, images_.channels);
        const int64_t target_channels = paired_target_channels(images_.data, images_.channels);
        MG_CHECK(channels_ == target_channels,
                 "cyclegan options: 'data' {} gives A images of {} channel(s) and B images of {}; CycleGAN translates "
                 "both ways (and its identity terms feed B to G), so both sides need the same channels: use "
                 "emoji-pair:A,B or edges:fashion-mnist",
                 images_.data, channels_, target_channels);
        const int64_t size = images_.image_size;
        MG_CHECK(size >= 16 && size <= 256 && size % 4 == 0,
                 "cyclegan options: 'image_size' {} must be a multiple of 4 in 16..256 (G downsamples twice)", size);
        const int64_t layers = opts_.patch_layers > 0 ? opts_.patch_layers : patch_layers(size);
        MG_CHECK(size / (int64_t(1) << layers) >= 3, "cyclegan options: 'patch_layers' {} leaves no patches on {}x{} "
                 "images", layers, size, size);
        manual_seed(config.seed);
        G_ = std::make_shared<ResnetGenerator>(channels_, opts_.width, opts_.blocks, size);
        F_ = std::make_shared<ResnetGenerator>(channels_, opts_.width, opts_.blocks, size);
        D_A_ = std::make_shared<PatchDiscriminator>(channels_, layers, opts_.width);
        D_B_ = std::make_shared<PatchDiscriminator>(channels_, layers, opts_.width);
        for (nn::Module* m : std::initializer_list<nn::Module*>{G_.get(), F_.get(), D_A_.get(), D_B_.get()})
            pix2pix_init(*m);
        G_->name_parameters("G.");
        F_->name_parameters("F.");
        D_A_->name_parameters("D_A.");
        D_B_->name_parameters("D_B.");
        pool_A_ = std::make_shared<ImagePool>(opts_.pool_size, channels_, size);
        pool_B_ = std::make_shared<ImagePool>(opts_.pool_size, channels_, size);
        optim::AdamOptions adam;
        adam.lr = opts_.lr;
        adam.beta1 = opts_.beta1;
        adam.beta2 = opts_.beta2;
        opt_g_ = std::make_unique<optim::Adam>(cat_params(*G_, *F_), adam);
        opt_d_ = std::make_unique<optim::Adam>(cat_params(*D_A_, *D_B_), adam);
        if (config.device != Device::CPU)
            for (auto& [name, m] : modules()) m->to(config.device);
    }

    std::string name() const override { return "cyclegan"; }
    DataSpec data_spec() const override { return images_.spec(); }
    int64_t batch_size() const override { return opts_.batch_size; }
    nlohmann::json config() const override {
        nlohmann::json j = options_to_json(opts_);
        j.update(options_to_json(images_));
        return run_config(j, config_);
    }
    std::vector<std::pair<std::string, nn::Module*>> modules() override {
        return {{"G", G_.get()},         {"F", F_.get()},          {"D_A", D_A_.get()},
                {"D_B", D_B_.get()},     {"pool_A", pool_A_.get()}, {"pool_B", pool_B_.get()}};
    }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override {
        return {{"G", opt_g_.get()}, {"D", opt_d_.get()}};
    }
    void set_step(int64_t step) override {
        step_ = step;
        b_side_.reset();  // re-seeks at the next step
    }

    Metrics train_step(const data::Batch& batch) override {
        const Tensor a = split_pair(batch.images.to(config_.device), channels_).input;
        const Tensor b = next_b(a.size(0)).to(config_.device);
        StepMetrics rec({"loss_d", "loss_g", "d_real", "d_fake"});
        const double lambda_id = opts_.lambda_cycle * opts_.lambda_identity;

        // ---- G and F: fool the discriminators, return each image through the cycle.
        Tensor fake_b = (*G_)(a), fake_a = (*F_)(b);
        {
            FreezeParameters frozen_a(*D_A_), frozen_b(*D_B_);
            opt_g_->zero_grad();
            Tensor logits_b = (*D_B_)(fake_b), logits_a = (*D_A_)(fake_a);
            Tensor gan_g = adversarial_g_loss(opts_.loss, logits_b), gan_f = adversarial_g_loss(opts_.loss, logits_a);
            Tensor cycle_a = mean(abs(sub((*F_)(fake_b), a))), cycle_b = mean(abs(sub((*G_)(fake_a), b)));
            Tensor loss_g = add(add(gan_g, gan_f), mul(add(cycle_a, cycle_b), opts_.lambda_cycle));
            if (lambda_id > 0) {
                Tensor identity = add(mean(abs(sub((*G_)(b), b))), mean(abs(sub((*F_)(a), a))));
                loss_g = add(loss_g, mul(identity, lambda_id));
                rec("identity", identity.item());
            }
            loss_g.backward();
            rec("loss_g", loss_g.item());
            rec("loss_g_gan", gan_g.item());
            rec("loss_f_gan", gan_f.item());
            rec("cycle_a", cycle_a.item());
            rec("cycle_b", cycle_b.item());
        }
        record_grad_norms(rec, "G", *G_);
        record_grad_norms(rec, "F", *F_);
        opt_g_->step();

        // ---- D_A, D_B: real images against the pools' mix of this step's fakes and older ones.
        data::RandomStream rng(config_.seed ^ kPoolStream, uint64_t(step_));
        const Tensor pooled_b = pool_B_->query(fake_b.detach(), rng), pooled_a = pool_A_->query(fake_a.detach(), rng);
        opt_d_->zero_grad();
        Tensor real_b = (*D_B_)(b), fake_b_logits = (*D_B_)(pooled_b);
        Tensor real_a = (*D_A_)(a), fake_a_logits = (*D_A_)(pooled_a);
        Tensor loss_d_b = adversarial_d_loss(opts_.loss, real_b, fake_b_logits);
        Tensor loss_d_a = adversarial_d_loss(opts_.loss, real_a, fake_a_logits);
        Tensor loss_d = add(loss_d_b, loss_d_a);
        loss_d.backward();
        record_grad_norms(rec, "D_A", *D_A_);
        record_grad_norms(rec, "D_B", *D_B_);
        opt_d_->step();
        rec("loss_d", loss_d.item());
        rec("d_real", adversarial_d_output(opts_.loss, real_b));  // D_B's, the A -> B direction
        rec("d_fake", adversarial_d_output(opts_.loss, fake_b_logits));
        rec("loss_d_a", loss_d_a.item());
        rec("loss_d_b", loss_d_b.item());
        ++step_;
        return rec.take();
    }

    int64_t input_channels() const override { return channels_; }

    // G(inputs): A -> B.
    Tensor translate(const Tensor& inputs) override { return run(*G_, inputs, "translate"); }

    // Groups of six rows of 8 held-out pairs: A, G(A), F(G(A)), then B, F(B), G(F(B)) (at
    // least one group; n / 48 groups when n allows).
    Tensor sample(int64_t n) override {
        if (!held_out_.defined()) held_out_ = load_sample_pairs(data_spec());
        const int64_t groups = std::max<int64_t>(1, n / 48);
        const int64_t k = std::min(held_out_.size(0), 8 * groups);
        const PairedBatch pair = split_pair(held_out_.slice(0, 0, k), channels_);
        const Tensor a = pair.input.contiguous(), b = pair.target.contiguous();
        const Tensor g_a = run(*G_, a, "sample"), f_b = run(*F_, b, "sample");
        const Tensor a_cycle = run(*F_, g_a, "sample"), b_cycle = run(*G_, f_b, "sample");
        std::vector<Tensor> rows;
        for (int64_t i = 0; i < k; i += 8) {
            const int64_t end = std::min(k, i + 8);
            for (const Tensor& t : {a, g_a, a_cycle, b, f_b, b_cycle}) rows.push_back(t.slice(0, i, end));
        }
        return cat(rows, 0).contiguous();
    }

private:
    static std::vector<Tensor> cat_params(nn::Module& x, nn::Module& y) {
        std::vector<Tensor> p = x.parameters(), q = y.parameters();
        p.insert(p.end(), q.begin(), q.end());
        return p;
    }

    // net(inputs) without autograd, in chunks, on the CPU.
    Tensor run(ResnetGenerator& net, const Tensor& inputs, const char* what) {
        const int64_t s = images_.image_size;
        MG_CHECK(inputs.dim() == 4 && inputs.size(1) == channels_ && inputs.size(2) == s && inputs.size(3) == s,
                 "cyclegan {}: inputs {} do not fit the model, which translates [N, {}, {}, {}] (data {})", what,
                 inputs.shape(), channels_, s, s, images_.data);
        autograd::NoGradGuard no_grad;
        std::vector<Tensor> out;
        constexpr int64_t kChunk = 64;
        for (int64_t i = 0; i < inputs.size(0); i += kChunk) {
            const int64_t end = std::min(inputs.size(0), i + kChunk);
            out.push_back(net(inputs.slice(0, i, end).to(config_.device)).to(Device::CPU));
        }
        return cat(out, 0);
    }

    // The B side of the next step: batch `step_` of the model's own loader over the training
    // pairs' targets (their own shuffle, independent of the trainer's), created on first use
    // and positioned from the step, so that a resumed run draws what it would have drawn.
    Tensor next_b(int64_t n) {
        if (!b_side_) {
            if (!b_images_.defined()) {
                const ImageData d = load_image_data(data_spec(), ImageSplit::Train);
                b_images_ = split_pair(d.images, channels_).target.contiguous();
            }
            MG_CHECK(b_images_.size(0) >= n, "cyclegan: the data {} has {} training images of B, fewer than a batch of "
                     "{}", images_.data, b_images_.size(0), n);
            const DataSpec spec = data_spec();
            data::LoaderOptions lo;
            lo.batch_size = n;
            lo.drop_last = true;
            lo.background = false;
            lo.seed = data::mix64(config_.seed ^ kBSideStream);
            lo.transform = data::transforms::augment({.crop = spec.crop, .hflip = spec.hflip, .range = spec.range});
            b_side_.emplace(b_images_, Tensor(), lo);
            const int64_t per_epoch = b_side_->batches_per_epoch();
            b_side_->seek(step_ / per_epoch, step_ % per_epoch);
        }
        MG_CHECK(b_side_->options().batch_size == n, "cyclegan: batches of {} after batches of {}; the B side's loader "
                 "keeps one size", n, b_side_->options().batch_size);
        std::optional<data::Batch> next = b_side_->next();
        if (!next) next = b_side_->next();  // the epoch ended: the next one's first batch
        return next->images;
    }

    ModelConfig config_;
    ImageDataOptions images_;
    CycleGanOptions opts_;
    int64_t channels_ = 3;
    std::shared_ptr<ResnetGenerator> G_, F_;
    std::shared_ptr<PatchDiscriminator> D_A_, D_B_;
    std::shared_ptr<ImagePool> pool_A_, pool_B_;
    std::unique_ptr<optim::Adam> opt_g_, opt_d_;
    int64_t step_ = 0;
    Tensor b_images_;                        // uint8 [N, C, S, S]: the training pairs' B side
    std::optional<data::DataLoader> b_side_;  // its loader
    Tensor held_out_;                        // the held-out pairs for sample grids, stacked, in [-1, 1]
};

}  // namespace

std::vector<ModelInfo> cyclegan_models() {
    return {{"cyclegan",
             "CycleGAN: ResNet generators G: A->B and F: B->A, PatchGAN D_A, D_B, LSGAN + 10 * cycle L1 + 5 * "
             "identity L1, image pools of 50 fakes, Adam 2e-4 (0.5, 0.999); unpaired: the two sides of "
             "emoji-pair:google,twitter (default, 32x32) or edges:fashion-mnist in independent orders",
             [](const ModelConfig& c) { return std::make_unique<CycleGan>(c); }, 5, 0, /*image_data=*/true}};
}

}  // namespace mg::models
