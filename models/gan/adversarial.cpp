#include "models/gan/adversarial.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/options.h"
#include "models/gan/penalties.h"

namespace mg::models {

// ---- options ------------------------------------------------------------------------
constexpr NameTable<GanLoss, 4> kLossNames{"gan: unknown loss",
                                           {{{"bce", GanLoss::Bce},
                                             {"lsgan", GanLoss::LeastSquares},
                                             {"hinge", GanLoss::Hinge},
                                             {"wasserstein", GanLoss::Wasserstein}}}};
GanLoss parse_gan_loss(const std::string& name) { return kLossNames.parse(name); }
std::string gan_loss_name(GanLoss loss) { return kLossNames.name(loss); }

template <class Self, class F>
void GanOptions::fields(Self& o, F&& f) {
    f("z_dim", o.z_dim, IntRange{1, kMaxWidth});
    f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
    f("loss", o.loss, Names<GanLoss>{parse_gan_loss, gan_loss_name});
    f("saturating_g", o.saturating_g);
    f("lr_g", o.lr_g);
    f("lr_d", o.lr_d);
    f("beta1", o.beta1);
    f("beta2", o.beta2);
    f("label_smoothing", o.label_smoothing);
    f("instance_noise", o.instance_noise);
    f("gp_weight", o.gp_weight);
    f("r1_gamma", o.r1_gamma);
    f("drift", o.drift);
    f("n_critic", o.n_critic, IntRange{1, 1000});
    f("ema_decay", o.ema_decay);
    f("pack", o.pack, IntRange{1, 64});
    f("spectral_norm", o.spectral_norm);
    f("width", o.width, IntRange{1, kMaxWidth});
    f("lr_decay_steps", o.lr_decay_steps, IntRange{0, kMaxSteps});
    f("projection", o.projection);
    f("diffaug", o.diffaug);
}

nlohmann::json GanOptions::to_json() const { return options_to_json(*this); }

void GanOptions::update_from(const nlohmann::json& j) {
    const OptionReader options("gan options", j, to_json(), {"lr"});
    if (options.contains("lr")) {  // both rates; lr_g and lr_d, when given too, win
        options.get("lr", lr_g);
        lr_d = lr_g;
    }
    read_options(*this, options);
    MG_CHECK(z_dim > 0 && batch_size > 0, "gan options: z_dim and batch_size must be positive");
    MG_CHECK(lr_g > 0 && lr_d > 0, "gan options: learning rates must be positive (lr_g {}, lr_d {})", lr_g, lr_d);
    MG_CHECK(label_smoothing >= 0 && label_smoothing < 1, "gan options: label_smoothing {} not in [0, 1)",
             label_smoothing);
    MG_CHECK(instance_noise >= 0 && gp_weight >= 0 && r1_gamma >= 0 && drift >= 0, "gan options: noise and penalties must be >= 0");
    MG_CHECK(ema_decay >= 0 && ema_decay < 1, "gan options: ema_decay {} not in [0, 1)", ema_decay);
    parse_diffaug(diffaug);  // an error naming the value now
    MG_CHECK(pack >= 1 && batch_size % pack == 0, "gan options: pack {} must divide the batch size {}", pack,
             batch_size);
}

// ---- set-up ---------------------------------------------------------------------------
GanOptions AdversarialModel::resolve(const ModelConfig& config, GanOptions defaults) {
    defaults.update_from(config.options);
    if (config.batch_size > 0) defaults.batch_size = config.batch_size;
    if (config.lr > 0) defaults.lr_g = defaults.lr_d = config.lr;
    if (config.bug == Bug::DLr10x) defaults.lr_d = 10 * defaults.lr_g;
    defaults.update_from(nlohmann::json::object());  // re-check the combination
    return defaults;
}

void AdversarialModel::init(const ModelConfig& config, std::shared_ptr<nn::Module> generator,
                            std::shared_ptr<nn::Module> discriminator, std::shared_ptr<nn::Module> generator_ema) {
    config_ = config;
    diffaug_ = parse_diffaug(gan_.diffaug);
    G_ = std::move(generator);
    D_ = std::move(discriminator);
    G_->name_parameters("G.");
    D_->name_parameters("D.");
    if (gan_.ema_decay > 0) {
        MG_CHECK(generator_ema != nullptr, "{}: this model does not support an EMA generator", name());
        G_ema_ = std::move(generator_ema);
        G_ema_->load_state_dict(G_->state_dict());
        for (Tensor& p : G_ema_->parameters()) p.requires_grad_(false);
    }
    optim::AdamOptions g_opt, d_opt;
    g_opt.lr = gan_.lr_g;
    d_opt.lr = gan_.lr_d;
    g_opt.beta1 = d_opt.beta1 = gan_.beta1;
    g_opt.beta2 = d_opt.beta2 = gan_.beta2;
    opt_g_ = std::make_unique<optim::Adam>(G_->parameters(), g_opt);
    opt_d_ = std::make_unique<optim::Adam>(D_->parameters(), d_opt);
    if (gan_.lr_decay_steps > 0) {
        sched_g_ = std::make_unique<optim::CosineAnnealingLR>(*opt_g_, gan_.lr_decay_steps);
        sched_d_ = std::make_unique<optim::CosineAnnealingLR>(*opt_d_, gan_.lr_decay_steps);
    }
    if (config.device != Device::CPU) {
        G_->to(config.device);
        D_->to(config.device);
        if (G_ema_) G_ema_->to(config.device);
    }
}

nlohmann::json AdversarialModel::config() const {
    return run_config(gan_.to_json(), config_);
}

std::vector<std::pair<std::string, nn::Module*>> AdversarialModel::modules() {
    std::vector<std::pair<std::string, nn::Module*>> m{{"G", G_.get()}, {"D", D_.get()}};
    if (G_ema_) m.emplace_back("G_ema", G_ema_.get());
    return m;
}
std::vector<std::pair<std::string, optim::Optimizer*>> AdversarialModel::optimizers() {
    return {{"G", opt_g_.get()}, {"D", opt_d_.get()}};
}

Tensor AdversarialModel::noise(int64_t n) const { return randn({n, gan_.z_dim}, {DType::Float32, config_.device}); }

Tensor AdversarialModel::random_labels(int64_t n) const {
    return randint(0, num_classes(), {n}).to(config_.device);
}

// ---- losses -----------------------------------------------------------------------------
// DiffAugment's parameters come from a stream of (seed, step, k-th draw of the step): a
// seeded run is reproduced, and the global generator (z, labels, gp's e) draws as it does
// without it.
Tensor AdversarialModel::augment(const Tensor& x) {
    if (diffaug_.empty()) return x;
    MG_CHECK(x.dim() == 4, "{}: diffaug needs images [N, C, H, W], D's input is {}", name(), x.shape());
    data::RandomStream random(config_.seed ^ 0x6469666661756700ull, uint64_t(augment_step_) * 64 + uint64_t(augment_calls_++));
    return diff_augment(x, diffaug_, random);
}

Tensor AdversarialModel::d_input(const Tensor& x) {
    Tensor a = augment(x);
    if (gan_.instance_noise == 0) return a;
    return add(a, randn(a.shape(), {a.dtype(), a.device()}, 0.0, gan_.instance_noise));
}

Tensor adversarial_d_loss(GanLoss loss, const Tensor& lr, const Tensor& lf, double label_smoothing) {
    switch (loss) {
        case GanLoss::Bce: {
            Tensor target = full(lr.shape(), 1.0 - label_smoothing, {lr.dtype(), lr.device()});
            return add(binary_cross_entropy_with_logits(lr, target), binary_cross_entropy_with_logits(lf, zeros_like(lf)));
        }
        case GanLoss::LeastSquares:
            return mul(add(mean(square(sub(lr, 1.0 - label_smoothing))), mean(square(lf))), 0.5);
        case GanLoss::Hinge: return add(mean(relu(affine(lr, -1.0, 1.0))), mean(relu(add(lf, 1.0))));
        case GanLoss::Wasserstein: return sub(mean(lf), mean(lr));
    }
    return {};
}

Tensor adversarial_g_loss(GanLoss loss, const Tensor& lf, bool saturating) {
    switch (loss) {
        case GanLoss::Bce:
            // Non-saturating: maximise log D(G(z)). Saturating: minimise log(1 - D(G(z))),
            // whose gradient vanishes exactly when D confidently rejects the fakes.
            return saturating ? neg(binary_cross_entropy_with_logits(lf, zeros_like(lf)))
                              : binary_cross_entropy_with_logits(lf, ones_like(lf));
        case GanLoss::LeastSquares: return mul(mean(square(sub(lf, 1.0))), 0.5);
        case GanLoss::Hinge:
        case GanLoss::Wasserstein: return neg(mean(lf));
    }
    return {};
}

double adversarial_d_output(GanLoss loss, const Tensor& logits) {
    autograd::NoGradGuard no_grad;
    return loss == GanLoss::Bce ? mean(sigmoid(logits)).item() : mean(logits).item();
}

Tensor AdversarialModel::d_loss(const Tensor& lr, const Tensor& lf) const {
    return adversarial_d_loss(gan_.loss, lr, lf, gan_.label_smoothing);
}

Tensor AdversarialModel::g_loss(const Tensor& lf) const { return adversarial_g_loss(gan_.loss, lf, gan_.saturating_g); }

double AdversarialModel::d_output(const Tensor& logits) const { return adversarial_d_output(gan_.loss, logits); }

// PacGAN: [B, ...] -> [B/pack, pack*C, ...], so D sees `pack` samples as one.
Tensor AdversarialModel::pack(const Tensor& x) const {
    if (gan_.pack == 1) return x;
    Shape s = x.shape();
    Shape packed = s;
    packed[0] = s[0] / gan_.pack;
    packed[1] = s[1] * gan_.pack;
    return x.reshape(packed);
}

// lambda * E[(||grad_xhat D(xhat)||_2 - 1)^2], xhat = e*real + (1-e)*fake (models/gan/penalties.h).
Tensor AdversarialModel::gradient_penalty(const Tensor& real, const Tensor& fake, const Tensor& labels,
                                          const Tensor& e, StepMetrics& rec) {
    PenaltyResult r = models::gradient_penalty(
        [&](const Tensor& x) { return discriminate(pack(augment(x)), labels); }, real, fake, e, config_.bug);
    rec("gp", r.penalty.item());
    rec("grad_norm_xhat", r.mean_grad_norm);
    return mul(r.penalty, gan_.gp_weight);
}

// gamma/2 * E[||grad_x D(x)||^2] on real data (Mescheder et al. 2018).
Tensor AdversarialModel::r1_penalty(const Tensor& real, const Tensor& labels, StepMetrics& rec) {
    PenaltyResult r = models::r1_penalty([&](const Tensor& x) { return discriminate(pack(augment(x)), labels); }, real);
    rec("r1", r.penalty.item());
    return mul(r.penalty, gan_.r1_gamma / 2);
}

double total_grad_norm(nn::Module& module) {
    autograd::NoGradGuard no_grad;
    double total = 0;
    for (const Tensor& p : module.parameters())
        if (p.grad().defined()) {
            const double n = norm(p.grad()).item();
            total += n * n;
        }
    return std::sqrt(total);
}

void record_grad_norms(StepMetrics& rec, const std::string& tag, nn::Module& module) {
    autograd::NoGradGuard no_grad;
    double total = 0;
    for (auto& [name, p] : module.named_parameters()) {
        double n = p.grad().defined() ? norm(p.grad()).item() : 0.0;
        total += n * n;
        rec("grad_norm/" + tag + "/" + name, n);
    }
    rec("grad_norm/" + tag, std::sqrt(total));
}

// The k-th update (k = 1, 2, ...) uses decay min(ema_decay, (1 + k) / (10 + k)): a warm-up, so
// that early on the average follows G instead of holding on to its random initial weights
// (with a fixed 0.999 those still weigh 5% after 3,000 steps).
double ema_decay_at(double decay, int64_t k) { return std::min(decay, double(1 + k) / double(10 + k)); }

void AdversarialModel::update_ema() {
    autograd::NoGradGuard no_grad;
    const double decay = ema_decay_at(gan_.ema_decay, calls_ / gan_.n_critic);
    auto ema = G_ema_->parameters(), live = G_->parameters();
    for (size_t i = 0; i < ema.size(); ++i) {
        ema[i].mul_(decay);
        ema[i].add_(live[i], 1.0 - decay);
    }
    auto ema_b = G_ema_->buffers(), live_b = G_->buffers();
    for (size_t i = 0; i < ema_b.size(); ++i) ema_b[i].copy_(live_b[i]);
}

// ---- the step -------------------------------------------------------------------------------
namespace {

// A given draw, checked against the shape the step needs, on the model's device.
Tensor given_or(const Tensor& given, const Shape& shape, const char* what, Device device,
                const std::function<Tensor()>& draw) {
    if (!given.defined()) return draw();
    MG_CHECK(given.shape() == shape, "gan step: the given {} is {}, the step needs {}", what, given.shape(), shape);
    return given.to(device);
}

}  // namespace

FreezeParameters::FreezeParameters(nn::Module& module) : params_(module.parameters()) {
    for (Tensor& p : params_) p.requires_grad_(false);
}

FreezeParameters::~FreezeParameters() {
    for (Tensor& p : params_) p.requires_grad_(true);
}

// D's loss of one step: real and fake.detach() (with instance noise), plus the penalties.
// Bugs (models/bugs.h): no-detach keeps G's graph in the fakes; labels-swapped calls the
// fakes real; gp-pixel-mix draws a mixing weight per pixel.
AdversarialModel::DLoss AdversarialModel::d_step_loss(const Tensor& real, const Tensor& labels, const Tensor& fake,
                                                      const Tensor& fake_labels, const Tensor& gp_e,
                                                      StepMetrics& rec) {
    DLoss d;
    d.real_logits = discriminate(pack(d_input(real)), labels);
    d.fake_logits = discriminate(pack(d_input(config_.bug == Bug::NoDetach ? fake : fake.detach())), fake_labels);
    d.loss = config_.bug == Bug::LabelsSwapped ? d_loss(d.fake_logits, d.real_logits)
                                               : d_loss(d.real_logits, d.fake_logits);
    const int64_t n = real.size(0);
    if (gan_.gp_weight > 0) {
        const Shape e_shape = config_.bug == Bug::GpPixelMix ? real.shape() : Shape{n};
        Tensor e = given_or(gp_e, e_shape, "gp_e", real.device(),
                            [&] { return rand(e_shape, {real.dtype(), real.device()}); });
        d.loss = add(d.loss, gradient_penalty(real, fake, labels, e, rec));
    }
    if (gan_.r1_gamma > 0) d.loss = add(d.loss, r1_penalty(real, labels, rec));
    if (gan_.drift > 0) d.loss = add(d.loss, mul(mean(square(d.real_logits)), gan_.drift));
    return d;
}

// The lrs of this step: a closed form of the step count, so resuming needs no state.
void AdversarialModel::set_learning_rates() {
    if (!sched_d_) return;
    const int64_t t = std::min(calls_, gan_.lr_decay_steps);
    sched_d_->set_epoch(t);
    sched_g_->set_epoch(t);
}

// E[D(x)] - E[D(G(z))]: the critic's estimate of the Wasserstein distance (wgan).
double AdversarialModel::DLoss::wasserstein_estimate() const {
    autograd::NoGradGuard no_grad;
    return sub(mean(real_logits), mean(fake_logits)).item();
}

// The real batch on the model's device, with its labels and the fakes' classes for a
// conditional model (drawn unless given).
AdversarialModel::StepData AdversarialModel::step_data(const data::Batch& batch, const StepNoise& given) {
    StepData d;
    d.real = batch.images.to(config_.device);
    const int64_t n = d.real.size(0);
    MG_CHECK(n % gan_.pack == 0, "{}: batch of {} does not divide into packs of {}", name(), n, gan_.pack);
    if (conditional()) {
        d.labels = batch.labels.to(config_.device);
        d.fake_labels =
            given_or(given.fake_labels, {n}, "fake_labels", config_.device, [&] { return random_labels(n); });
    }
    return d;
}

// z [n, z_dim]: the given draw, or a fresh one.
Tensor AdversarialModel::noise_or(const Tensor& given, int64_t n, const char* what) const {
    return given_or(given, {n, gan_.z_dim}, what, config_.device, [&] { return noise(n); });
}

Metrics AdversarialModel::step(const data::Batch& batch, const StepNoise& given) {
    set_learning_rates();
    augment_step_ = calls_;
    augment_calls_ = 0;
    const auto [real, labels, fake_labels] = step_data(batch, given);  // draws fake_labels before z
    const int64_t n = real.size(0);
    // Losses first, then D's outputs, then the rest as recorded (as the report groups them).
    StepMetrics rec({"loss_d", "loss_g", "d_real", "d_fake"});

    // G(z) once; D trains on it detached, G through it.
    Tensor fake = generate(*G_, noise_or(given.z, n, "z"), fake_labels);

    // ---- D update: real vs fake.detach() (+ gradient penalty / R1)
    // G's gradients are zeroed before D's backward, so that what D's loss sends into G can be
    // read after it ("grad_norm/G_in_d_step": exactly 0 when the fakes are detached). A
    // correct step zeroes them again before G's backward, so this changes none of its numbers.
    // no-detach: that first zeroing is the only one, as in a loop that forgot detach(); D's
    // backward then reaches G's weights and keeps G's graph for G's own backward.
    const bool no_detach = config_.bug == Bug::NoDetach;
    opt_g_->zero_grad();
    opt_d_->zero_grad();
    DLoss d = d_step_loss(real, labels, fake, fake_labels, given.gp_e, rec);
    d.loss.backward({}, /*retain_graph=*/no_detach);
    record_grad_norms(rec, "D", *D_);
    rec("grad_norm/G_in_d_step", total_grad_norm(*G_));
    opt_d_->step();
    rec("loss_d", d.loss.item());
    rec("d_real", d_output(d.real_logits));
    rec("d_fake", d_output(d.fake_logits));
    if (gan_.loss == GanLoss::Wasserstein) rec("wasserstein", d.wasserstein_estimate());

    // ---- G update, every n_critic steps, through the updated D. D is frozen: no gradient
    // reaches its weights, and opt_g_ holds G's parameters only, so G's update cannot change D.
    if (++calls_ % gan_.n_critic == 0) {
        if (gan_.n_critic > 1 || gan_.loss == GanLoss::Wasserstein)  // fresh fakes
            fake = generate(*G_, noise_or(given.z_g, n, "z_g"), fake_labels);
        StepMetrics g;
        {
            FreezeParameters frozen(*D_);
            if (!no_detach) opt_g_->zero_grad();
            Tensor fake_logits = discriminate(pack(d_input(fake)), fake_labels);
            Tensor loss_g = g_loss(fake_logits);
            loss_g.backward();
            g("loss_g", loss_g.item());
            g("d_fake_after", d_output(fake_logits));
        }
        record_grad_norms(g, "G", *G_);
        opt_g_->step();
        if (G_ema_) update_ema();
        last_g_ = g.take();
    }
    rec.append(last_g_);  // with n_critic > 1, the last G update's are reported again
    return rec.take();
}

Tensor AdversarialModel::generate_for_sampling(const Tensor& z, const Tensor& labels) {
    nn::Module& g = sampling_generator();
    bool was_training = g.is_training();
    g.eval();
    autograd::NoGradGuard no_grad;
    Tensor out = generate(g, z, labels.defined() ? labels.to(config_.device) : labels).to(Device::CPU);
    g.train(was_training);
    return out;
}

Tensor AdversarialModel::sample(int64_t n) {
    Tensor labels = conditional() ? random_labels(n) : Tensor();  // drawn first, as before z
    return generate_for_sampling(noise(n), labels);
}

Tensor AdversarialModel::sample_with_labels(const Tensor& labels) {
    MG_CHECK(conditional(), "model '{}' is not class-conditional: it cannot sample given labels", name());
    return generate_for_sampling(noise(labels.size(0)), labels);
}

Tensor AdversarialModel::interpolate_latent(int64_t rows, int64_t steps) {
    MG_CHECK(rows >= 1 && steps >= 2, "{} interpolate: needs rows >= 1 and steps >= 2, got {} and {}", name(), rows,
             steps);
    Tensor z0 = noise(rows);
    Tensor z1 = noise(rows);
    Tensor labels;
    if (conditional()) {  // one class along each row
        std::vector<int64_t> row_labels = random_labels(rows).to_vector<int64_t>(), all;
        for (int64_t r = 0; r < rows; ++r) all.insert(all.end(), size_t(steps), row_labels[size_t(r)]);
        labels = from_vector(all);
    }
    return generate_for_sampling(slerp_rows(z0, z1, steps), labels);
}

Tensor slerp_rows(const Tensor& z0, const Tensor& z1, int64_t steps) {
    MG_CHECK(z0.dim() == 2 && z0.shape() == z1.shape() && steps >= 2,
             "slerp_rows: needs z0 and z1 of one shape [rows, d] and steps >= 2, got {}, {} and {}", z0.shape(),
             z1.shape(), steps);
    const int64_t rows = z0.size(0), d = z0.size(1);
    const std::vector<double> a = z0.to_vector<double>(), b = z1.to_vector<double>();
    std::vector<float> out(size_t(rows * steps * d));
    for (int64_t r = 0; r < rows; ++r) {
        const double* x = a.data() + r * d;
        const double* y = b.data() + r * d;
        double xy = 0, xx = 0, yy = 0;
        for (int64_t i = 0; i < d; ++i) xy += x[i] * y[i], xx += x[i] * x[i], yy += y[i] * y[i];
        const double cos_w = xx > 0 && yy > 0 ? std::clamp(xy / std::sqrt(xx * yy), -1.0, 1.0) : 1.0;
        const double w = std::acos(cos_w), sin_w = std::sin(w);
        for (int64_t s = 0; s < steps; ++s) {
            const double t = double(s) / double(steps - 1);
            // At t = 0 and 1 the weights are exactly (1, 0) and (0, 1): the endpoints come back bit for bit.
            const double wx = sin_w < 1e-6 ? 1 - t : std::sin((1 - t) * w) / sin_w;
            const double wy = sin_w < 1e-6 ? t : std::sin(t * w) / sin_w;
            float* o = out.data() + (r * steps + s) * d;
            for (int64_t i = 0; i < d; ++i) o[i] = float(wx * x[i] + wy * y[i]);
        }
    }
    return from_vector(out, Shape{rows * steps, d}).to(z0.device());
}

std::pair<std::string, std::string> AdversarialModel::trace_graphs(const data::Batch& batch) {
    // The forwards below move BatchNorm statistics and power-iteration vectors and draw
    // noise: keep copies to put back.
    GeneratorState rng = default_generator().state();
    std::vector<std::pair<Tensor, Tensor>> buffers;
    for (nn::Module* net : {G_.get(), D_.get()})
        for (const Tensor& b : net->buffers()) buffers.emplace_back(b, b.clone());

    Tensor real = batch.images.to(config_.device);
    const int64_t n = real.size(0);
    Tensor labels = conditional() ? batch.labels.to(config_.device) : Tensor();
    Tensor fake_labels = conditional() ? random_labels(n) : Tensor();
    Tensor fake = generate(*G_, noise(n), fake_labels);
    StepMetrics unused;
    Tensor loss_d = d_step_loss(real, labels, fake, fake_labels, Tensor(), unused).loss;
    std::string d_dot = autograd::to_dot({loss_d}, "D step: loss_d");
    std::string g_dot;
    {
        FreezeParameters frozen(*D_);
        Tensor loss_g = g_loss(discriminate(pack(d_input(fake)), fake_labels));
        g_dot = autograd::to_dot({loss_g}, "G step: loss_g (D frozen)");
    }

    autograd::NoGradGuard no_grad;
    for (auto& [live, saved] : buffers) Tensor(live).copy_(saved);
    default_generator().set_state(rng);
    return {d_dot, g_dot};
}

}  // namespace mg::models
