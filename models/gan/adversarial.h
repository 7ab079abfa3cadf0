// The adversarial training step shared by every GAN (gan2d, dcgan, cgan, wgan-gp).
//
// A model supplies its two networks (generate, discriminate) and their defaults;
// this class owns the step, the losses, the stabilizers, and the report of what
// happens inside:
//
//   fake = G(z)                                     once per step
//   D update:  loss_d = L_D(D(x), D(fake.detach())) [+ gradient penalty | R1]
//   G update:  loss_g = L_G(D(fake))                D's weights frozen: no D gradients,
//                                                   and G's update never changes D
//
// Losses on D's logits l (real target 1, fake 0):
//   bce (non-saturating)  L_D = softplus(-l_r) + softplus(l_f)      L_G = softplus(-l_f)
//   bce, saturating G     (teaching only)                           L_G = -softplus(l_f)
//   lsgan                 L_D = ((l_r-1)^2 + l_f^2)/2               L_G = (l_f-1)^2/2
//   hinge                 L_D = relu(1-l_r) + relu(1+l_f)           L_G = -l_f
//   wasserstein           L_D = l_f - l_r (+ lambda (||grad_xhat D|| - 1)^2)   L_G = -l_f
//                         (+ drift * l_r^2 with the drift option)
//
// A run's bug (ModelConfig::bug, models/bugs.h) changes the step where the correct code is:
// d-lr-10x, no-detach, labels-swapped and the gradient penalty's (penalties.h).
//
// Stabilizers (GanOptions): one-sided label smoothing, instance noise, R1, spectral
// normalization of D's weights (core/nn/spectral_norm.h), an EMA generator, PacGAN packing,
// two time-scale learning rates.
//
// Reported every step (metrics.jsonl): loss_d, loss_g, d_real = D(x), d_fake = D(G(z))
// before the D update, d_fake_after = D(G(z)) after it (as probabilities for bce; raw
// scores otherwise), gp and wasserstein (wgan), r1, and the gradient norm of every
// parameter of D and G ("grad_norm/D/0.weight", totals "grad_norm/D", "grad_norm/G"), and
// "grad_norm/G_in_d_step": G's gradient norm right after D's backward, which only a D loss
// that runs through undetached fakes makes nonzero (the no-detach monitor's measure).
#pragma once

#include <memory>
#include <string>

#include "core/diffaug.h"

#include "core/nn/module.h"
#include "models/capabilities.h"
#include "models/model.h"
#include "optim/adam.h"
#include "optim/scheduler.h"

namespace mg::models {

enum class GanLoss { Bce, LeastSquares, Hinge, Wasserstein };
GanLoss parse_gan_loss(const std::string& name);  // "bce" | "lsgan" | "hinge" | "wasserstein"
std::string gan_loss_name(GanLoss loss);

struct GanOptions {
    int64_t z_dim = 100;
    int64_t batch_size = 64;
    GanLoss loss = GanLoss::Bce;
    bool saturating_g = false;     // the original minimax G loss (teaching: it stalls)
    double lr_g = 2e-4, lr_d = 2e-4;  // two time-scale: set them apart
    double beta1 = 0.5, beta2 = 0.999;
    double label_smoothing = 0.0;  // one-sided: real target 1 - s
    double instance_noise = 0.0;   // std of Gaussian noise added to every D input
    double gp_weight = 0.0;        // WGAN-GP's lambda
    double r1_gamma = 0.0;         // R1: gamma/2 * E||grad_x D(x_real)||^2
    double drift = 0.0;            // ProGAN's epsilon drift: + drift * E[D(x_real)^2] in D's loss,
                                   // which keeps a critic's scores from wandering off from 0
    int64_t n_critic = 1;          // D updates per G update
    double ema_decay = 0.0;        // > 0: sample from an EMA copy of G (warm-up: the k-th
                                   // update uses min(ema_decay, (1 + k) / (10 + k)))
    int64_t lr_decay_steps = 0;    // > 0: both lrs follow a cosine from their value to 0 over
                                   // this many steps, and stay at 0 after
    int64_t pack = 1;              // PacGAN: D judges `pack` samples at once
    bool spectral_norm = false;    // D's conv/linear weights divided by their spectral norm
    int64_t width = 64;            // network width: gan2d's hidden units (128), the image
                                   // GANs' base channels (64; G's first and D's last conv have 2x)
    bool projection = false;       // conditional D: add <embed(y), features> (cgan's default)
    std::string diffaug;           // DiffAugment policy (core/diffaug.h), e.g. "color,translation,cutout":
                                   // every image D sees (real, fake, GP/R1 points), in both updates

    // Each option once (models/options.h): its key, and an integer's range.
    template <class Self, class F>
    static void fields(Self& o, F&& f);
    // Reads every option present in `json`, refusing unknown keys (naming them); "lr" sets
    // both learning rates.
    void update_from(const nlohmann::json& json);
    nlohmann::json to_json() const;
};

// What a step draws at random. A test fills these in to replay a reference step; an
// undefined field is drawn where the step needs it, in the order a training step draws.
struct StepNoise {
    Tensor z;            // [B, z_dim]: the fakes of the D update (and of the G update when it reuses them)
    Tensor z_g;          // [B, z_dim]: fresh fakes for the G update (n_critic > 1 or wasserstein)
    Tensor fake_labels;  // int64 [B]: the fakes' classes (conditional models)
    Tensor gp_e;         // [B] in [0, 1]: the gradient penalty's mixing weights ([B, ...] like the
                         // real batch with the gp-pixel-mix bug)
};

// Every GAN samples; sample_with_labels is refused by the unconditional ones (conditional()).
class AdversarialModel : public Model, public Sampler, public ClassConditional {
public:
    // One D update, then (every n_critic calls) one G update.
    Metrics train_step(const data::Batch& batch) override { return step(batch, StepNoise{}); }
    // The same step with some or all of its random draws given.
    Metrics step(const data::Batch& batch, const StepNoise& noise);
    Tensor sample(int64_t n) override;
    int64_t batch_size() const override { return gan_.batch_size; }
    void set_step(int64_t step) override { calls_ = step; }
    std::vector<std::pair<std::string, nn::Module*>> modules() override;
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override;
    nlohmann::json config() const override;

    // The networks, for the trace and for tests.
    nn::Module& generator() { return *G_; }
    nn::Module& discriminator() { return *D_; }
    const GanOptions& gan_options() const { return gan_; }
    // G's updates so far (one per n_critic steps).
    int64_t g_updates() const { return calls_ / gan_.n_critic; }

    // Samples with fixed labels (conditional models: one class per row of a grid).
    bool conditional() const override { return false; }
    Tensor sample_with_labels(const Tensor& labels) override;
    int64_t class_count() const override { return num_classes(); }
    // `rows` paths between pairs of prior draws z0, z1, `steps` images each, through
    // slerp_rows: [rows * steps, ...] in row-major order; a conditional model keeps one
    // random class along each row. The image GANs offer it (their Interpolation).
    Tensor interpolate_latent(int64_t rows, int64_t steps);
    // The graphs of one D step and one G step, as Graphviz DOT (minigen train --trace).
    // Leaves the model as it found it (weights, BatchNorm statistics, power-iteration
    // vectors and the random stream), so a traced run trains exactly as an untraced one.
    // A model that reshapes the real batch per step (progan) overrides it to do the same first.
    virtual std::pair<std::string, std::string> trace_graphs(const data::Batch& batch);
    // G(z) with the training generator in its current mode (z [B, z_dim]; labels int64 [B]
    // for conditional models, else undefined).
    Tensor generate_with(const Tensor& z, const Tensor& labels) { return generate(*G_, z, labels); }
    // The generator sample() runs (the EMA copy when there is one), and sample() on given
    // draws z [B, z_dim] (+ labels int64 [B]): what an exported generator is checked against.
    nn::Module& sampling_generator() { return G_ema_ ? *G_ema_ : *G_; }
    Tensor sample_from(const Tensor& z, const Tensor& labels) { return generate_for_sampling(z, labels); }

protected:
    // The model's defaults, overridden by the config's options, --batch-size and --lr.
    static GanOptions resolve(const ModelConfig& config, GanOptions defaults);
    // Subclasses set gan_ = resolve(...), build their networks from it, then call init().
    // generator_ema: a second generator of the same shape (used when ema_decay > 0).
    void init(const ModelConfig& config, std::shared_ptr<nn::Module> generator,
              std::shared_ptr<nn::Module> discriminator, std::shared_ptr<nn::Module> generator_ema);
    // G: z [B, z_dim] (+ labels int64 [B]) -> sample; D: sample (+ labels) -> logits [B', 1].
    virtual Tensor generate(nn::Module& g, const Tensor& z, const Tensor& labels) = 0;
    virtual Tensor discriminate(const Tensor& x, const Tensor& labels) = 0;
    virtual int64_t num_classes() const { return 0; }
    Tensor noise(int64_t n) const;
    Tensor random_labels(int64_t n) const;
    // G(z) (+ labels) from the sampling generator (the EMA copy if any) in eval mode, no
    // graph, on the CPU; the generator's mode is left as it was.
    Tensor generate_for_sampling(const Tensor& z, const Tensor& labels);

    GanOptions gan_;
    ModelConfig config_;
    std::shared_ptr<nn::Module> G_, D_, G_ema_;

private:
    struct StepData {
        Tensor real, labels, fake_labels;
    };
    StepData step_data(const data::Batch& batch, const StepNoise& given);
    Tensor noise_or(const Tensor& given, int64_t n, const char* what) const;
    struct DLoss {
        Tensor loss, real_logits, fake_logits;
        double wasserstein_estimate() const;
    };
    DLoss d_step_loss(const Tensor& real, const Tensor& labels, const Tensor& fake, const Tensor& fake_labels,
                      const Tensor& gp_e, StepMetrics& rec);
    void set_learning_rates();  // lr_decay_steps: this step's point on the cosine
    Tensor d_input(const Tensor& x);       // DiffAugment, then instance noise
    Tensor augment(const Tensor& x);       // DiffAugment (x itself without a policy)
    Tensor pack(const Tensor& logits_input) const;
    Tensor d_loss(const Tensor& real_logits, const Tensor& fake_logits) const;
    Tensor g_loss(const Tensor& fake_logits) const;
    double d_output(const Tensor& logits) const;  // what "D(x)" reports
    Tensor gradient_penalty(const Tensor& real, const Tensor& fake, const Tensor& labels, const Tensor& e,
                            StepMetrics& rec);
    Tensor r1_penalty(const Tensor& real, const Tensor& labels, StepMetrics& rec);
    void update_ema();

    DiffAugPolicy diffaug_;
    std::unique_ptr<optim::Adam> opt_g_, opt_d_;
    std::unique_ptr<optim::LRScheduler> sched_g_, sched_d_;  // with lr_decay_steps
    int64_t calls_ = 0;
    int64_t augment_step_ = 0, augment_calls_ = 0;  // DiffAugment: the step, and its draws so far
    Metrics last_g_;  // G's metrics from the last G update (n_critic > 1)
};

// The losses of the table above on D's logits (any shape: a PatchGAN's [B, 1, h, w] too),
// shared with the models that write their own step (pix2pix).
Tensor adversarial_d_loss(GanLoss loss, const Tensor& real_logits, const Tensor& fake_logits,
                          double label_smoothing = 0.0);
Tensor adversarial_g_loss(GanLoss loss, const Tensor& fake_logits, bool saturating = false);
// What "D(x)" reports: the mean probability for bce, the mean raw score otherwise.
double adversarial_d_output(GanLoss loss, const Tensor& logits);

// A module's parameters stop requiring gradients for the scope of a G update, and always
// require them again afterwards, even when the update throws.
class FreezeParameters {
public:
    explicit FreezeParameters(nn::Module& module);
    ~FreezeParameters();
    FreezeParameters(const FreezeParameters&) = delete;
    FreezeParameters& operator=(const FreezeParameters&) = delete;

private:
    std::vector<Tensor> params_;
};

// Gradient norms of a module's parameters as metrics "grad_norm/<tag>/<name>", and the
// total "grad_norm/<tag>". Parameters without a gradient report 0.
void record_grad_norms(StepMetrics& rec, const std::string& tag, nn::Module& module);

// The norm of all of a module's parameter gradients together (0 when none has one).
double total_grad_norm(nn::Module& module);

// The EMA generator's decay at its k-th update (k = 1, 2, ...): min(decay, (1 + k) / (10 + k)).
double ema_decay_at(double decay, int64_t k);

// Spherical interpolation, row by row, from z0 to z1 (both [rows, d], float32) at `steps`
// evenly spaced t in [0, 1]: [rows * steps, d], row r's path at rows r*steps .. r*steps+steps-1,
// exactly z0[r] at t = 0 and z1[r] at t = 1, on z0's device.
//   slerp(t) = sin((1-t) w) / sin w * z0 + sin(t w) / sin w * z1,   w = the angle between them
// Why not a straight line: a Gaussian z in d dimensions lies near the sphere of radius sqrt(d)
// (10 for the GANs' d = 100), which is all the generator saw in training; the midpoint of two
// independent draws has norm about sqrt(d/2), off that shell, and decodes to washed-out images.
// The arc keeps the norm between the endpoints' (White, "Sampling Generative Networks", 2016).
// Nearly parallel rows (sin w < 1e-6) take the straight line, which is then the same path.
Tensor slerp_rows(const Tensor& z0, const Tensor& z1, int64_t steps);

}  // namespace mg::models
