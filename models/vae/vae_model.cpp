#include "models/vae/vae_model.h"

#include <cmath>

#include "core/autograd.h"
#include "core/data/transforms.h"
#include "core/io/image.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/options.h"
#include "models/vae/latent_plot.h"

namespace mg::models {

namespace {

// Decoder rows per likelihood chunk: K samples x images; about 40 MB of logits.
constexpr int64_t kLikelihoodRows = 12800;

}  // namespace

// ---- options ----------------------------------------------------------------------------
template <class Self, class F>
void VaeOptions::fields(Self& o, F&& f) {
    f("latent_dim", o.latent_dim, IntRange{1, kMaxWidth});
    f("hidden", o.hidden, IntRange{1, kMaxHidden});
    f("beta", o.beta);
    f("binarize", o.binarize);
    f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
    f("lr", o.lr);
}

nlohmann::json VaeOptions::to_json(VaeKind kind) const {
    nlohmann::json j = options_to_json(*this);
    if (kind == VaeKind::Conv) j.erase("hidden");
    return j;
}

void VaeOptions::update_from(const nlohmann::json& j, VaeKind kind) {
    if (j.is_null()) return;  // no options given
    read_options(*this, OptionReader("vae options", j, to_json(kind)));
    MG_CHECK(std::isfinite(beta) && beta >= 0, "vae options: beta must be >= 0, got {}", beta);
    MG_CHECK(batch_size > 0, "vae options: batch_size must be positive, got {}", batch_size);
    MG_CHECK(std::isfinite(lr) && lr > 0, "vae options: lr must be positive, got {}", lr);
}

// ---- set-up -----------------------------------------------------------------------------
VaeModel::VaeModel(VaeKind kind, const ModelConfig& config) : kind_(kind), config_(config) {
    nlohmann::json own = config.options;
    images_ = ImageDataOptions::take(own, "vae options", kind == VaeKind::Conditional);
    options_.update_from(own, kind);
    MG_CHECK(kind != VaeKind::Conditional || images_.classes >= 1, "cvae: the data has no classes");
    if (config.batch_size > 0) options_.batch_size = config.batch_size;
    if (config.lr > 0) options_.lr = config.lr;
    manual_seed(config.seed);
    const int64_t latent = options_.latent_dim, hidden = options_.hidden;
    const int64_t c = images_.channels, size = images_.image_size;
    const Shape image{c, size, size};
    switch (kind) {
        case VaeKind::Mlp:
            encoder_ = std::make_shared<MlpEncoder>(image.numel(), hidden, latent);
            decoder_ = std::make_shared<MlpDecoder>(latent, hidden, image);
            break;
        case VaeKind::Conditional:
            encoder_ = std::make_shared<MlpEncoder>(image.numel(), hidden, latent, images_.classes);
            decoder_ = std::make_shared<MlpDecoder>(latent, hidden, image, images_.classes);
            break;
        case VaeKind::Conv:
            encoder_ = std::make_shared<ConvEncoder>(latent, c, size);
            decoder_ = std::make_shared<ConvDecoder>(latent, c, size);
            break;
    }
    encoder_->name_parameters("encoder.");
    decoder_->name_parameters("decoder.");
    if (config.device != Device::CPU) {
        encoder_->to(config.device);
        decoder_->to(config.device);
    }
    std::vector<Tensor> params = encoder_->parameters();
    for (const Tensor& p : decoder_->parameters()) params.push_back(p);
    adam_ = std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = options_.lr});
}

std::string VaeModel::name() const {
    switch (kind_) {
        case VaeKind::Mlp: return "vae";
        case VaeKind::Conditional: return "cvae";
        case VaeKind::Conv: return "convvae";
    }
    return "?";
}

DataSpec VaeModel::data_spec() const {
    DataSpec s = images_.spec();
    s.range = data::PixelRange::ZeroOne;
    // Labels: cvae's input; with a 2-D latent also the colours of the latent picture.
    s.labels = conditional() || options_.latent_dim == 2;
    return s;
}

nlohmann::json VaeModel::config() const {
    nlohmann::json j = options_.to_json(kind_);
    j.update(options_to_json(images_));  // the data's shape: a checkpoint rebuilds the same networks
    return run_config(j, config_);
}

std::vector<std::pair<std::string, nn::Module*>> VaeModel::modules() {
    return {{"encoder", encoder_.get()}, {"decoder", decoder_.get()}};
}
std::vector<std::pair<std::string, optim::Optimizer*>> VaeModel::optimizers() { return {{"vae", adam_.get()}}; }

// ---- helpers ----------------------------------------------------------------------------
Tensor VaeModel::condition(const Tensor& labels, int64_t n) const {
    if (!conditional()) return {};
    MG_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == n && labels.dtype() == DType::Int64,
             "{}: needs int64 labels [{}] in 0..{}, got {}", name(), n, images_.classes - 1,
             labels.defined() ? fmt::format("{} {}", labels.dtype(), labels.shape()) : std::string("none"));
    const TensorOptions f = float_options();
    return one_hot(labels.to(Device::CPU), images_.classes, f.dtype).to(f.device);
}

Tensor VaeModel::decode_means(const Tensor& z, const Tensor& labels) {
    autograd::NoGradGuard no_grad;
    return sigmoid(decoder_->decode(z, condition(labels, z.size(0)))).to(Device::CPU);
}

TensorOptions VaeModel::float_options() const {
    // The networks may have been cast (module->to(DType::Float64)) after construction.
    const Tensor w = encoder_->parameters().front();
    return {w.dtype(), w.device()};
}

Tensor VaeModel::image_input(const Tensor& images, const char* op) const {
    const int64_t c = images_.channels, size = images_.image_size;
    MG_CHECK(images.defined() && images.dim() == 4 && images.size(1) == c && images.size(2) == size &&
                 images.size(3) == size,
             "{} {}: images must be [N, {}, {}, {}] (the model's data), got {}", name(), op, c, size, size,
             images.defined() ? images.shape().str() : std::string("none"));
    const TensorOptions f = float_options();
    Tensor x = images.dtype() == DType::UInt8 ? data::to_float(images.to(Device::CPU), data::PixelRange::ZeroOne)
                                              : images;
    return x.to(f.dtype).to(f.device).contiguous();
}

void VaeModel::keep_for_latent_plot(const data::Batch& batch) {
    if (options_.latent_dim != 2 || !batch.labels.defined() || plot_count_ >= kLatentPlotImages) return;
    int64_t take = std::min(batch.images.size(0), kLatentPlotImages - plot_count_);
    plot_images_.push_back(batch.images.slice(0, 0, take).to(Device::CPU).clone());
    plot_labels_.push_back(batch.labels.slice(0, 0, take).to(Device::CPU).clone());
    plot_count_ += take;
}

// ---- training ---------------------------------------------------------------------------
Metrics VaeModel::step(const data::Batch& batch, const Tensor& given_eps) {
    const TensorOptions f = float_options();
    Tensor x = image_input(batch.images, "train_step");
    const int64_t n = x.size(0);
    if (options_.binarize) {
        autograd::NoGradGuard no_grad;
        x = lt(rand(x.shape(), f), x).to(f.dtype);  // 1 with probability x
    }
    Tensor cond = condition(batch.labels, n);
    Tensor eps = given_eps.defined() ? given_eps.to(f.dtype).to(f.device) : randn({n, options_.latent_dim}, f);
    VaeLoss l = vae_loss(*encoder_, *decoder_, x, cond, eps, options_.beta, config_.bug);
    adam_->zero_grad();
    l.loss.backward();
    adam_->step();
    keep_for_latent_plot(batch);
    const double recon = l.recon.item(), kl = l.kl.item();
    return {{"loss", l.loss.item()}, {"recon", recon}, {"kl", kl}, {"elbo", -(recon + kl)}};
}

// ---- sampling ---------------------------------------------------------------------------
Tensor VaeModel::sample(int64_t n) {
    MG_CHECK(n >= 1, "{} sample: n must be positive, got {}", name(), n);
    Tensor z = randn({n, options_.latent_dim}, float_options());
    Tensor labels = conditional() ? randint(0, images_.classes, {n}) : Tensor();
    return decode_means(z, labels);
}

Tensor VaeModel::sample_with_labels(const Tensor& labels) {
    MG_CHECK(conditional(), "model '{}' is not class-conditional: it cannot sample given labels", name());
    MG_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) >= 1,
             "{} sample_with_labels: labels must be int64 [n], n >= 1", name());
    Tensor z = randn({labels.size(0), options_.latent_dim}, float_options());
    return decode_means(z, labels);
}

Tensor VaeModel::interpolate(int64_t rows, int64_t steps) {
    MG_CHECK(rows >= 1 && steps >= 2, "{} interpolate: needs rows >= 1 and steps >= 2, got {} and {}", name(), rows,
             steps);
    autograd::NoGradGuard no_grad;
    const int64_t latent = options_.latent_dim;
    Tensor z0 = randn({rows, 1, latent}, float_options());
    Tensor z1 = randn({rows, 1, latent}, float_options());
    Tensor t = (arange(0, double(steps), 1, float_options()) / double(steps - 1)).reshape({1, steps, 1});
    Tensor z = (z0 + t * (z1 - z0)).reshape({rows * steps, latent});  // [rows, steps, L] row-major
    Tensor labels;
    if (conditional()) {
        std::vector<int64_t> row_labels = randint(0, images_.classes, {rows}).to_vector<int64_t>(), all;
        for (int64_t r = 0; r < rows; ++r) all.insert(all.end(), size_t(steps), row_labels[size_t(r)]);
        labels = from_vector(all);
    }
    return decode_means(z, labels);
}

Tensor VaeModel::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    const int64_t c = images_.channels, size = images_.image_size;
    MG_CHECK(keep_rows >= 0 && keep_rows <= size, "{} complete: keep_rows {} not in [0, {}]", name(), keep_rows,
             size);
    MG_CHECK(per_image >= 1, "{} complete: per_image must be >= 1, got {}", name(), per_image);
    autograd::NoGradGuard no_grad;
    Tensor known = image_input(images, "complete");
    const int64_t n = known.size(0), m = n * per_image;
    // Each image per_image times in a row: [n, C, S, S] -> [n * per_image, C, S, S].
    known = known.unsqueeze(1).expand({n, per_image, c, size, size}).reshape({m, c, size, size});
    Tensor labels_m;
    if (conditional()) {
        MG_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == n,
                 "{} complete: needs int64 labels [{}], one per image", name(), n);
        std::vector<int64_t> given = labels.to_vector<int64_t>(), all;
        for (int64_t v : given) all.insert(all.end(), size_t(per_image), v);
        labels_m = from_vector(all);
    }
    Tensor cond = condition(labels_m, m);
    std::vector<uint8_t> rows(static_cast<size_t>(size));
    for (int64_t r = 0; r < size; ++r) rows[size_t(r)] = r < keep_rows ? 1 : 0;
    // Broadcast over images, channels and columns.
    Tensor keep = from_vector(rows, Shape{1, 1, size, 1}).to(float_options().device);
    Tensor x = where(keep, known, 0.5);
    for (int64_t it = 0; it < kCompletionIterations; ++it) {
        DiagonalGaussian q = encoder_->encode(x, cond);
        Tensor eps = randn(q.mu.shape(), float_options());
        Tensor z = q.sample(eps);
        x = where(keep, known, sigmoid(decoder_->decode(z, cond)));
    }
    return x.to(Device::CPU);
}

// ---- likelihood -------------------------------------------------------------------------
Metrics VaeModel::likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) {
    const int64_t k = options.iwae_k;
    MG_CHECK(k >= 1, "{} likelihood: iwae_k must be >= 1, got {}", name(), k);
    autograd::NoGradGuard no_grad;
    Tensor all = image_input(images, "likelihood");
    const int64_t n = all.size(0);
    MG_CHECK(n >= 1, "{} likelihood: no images", name());
    Tensor all_cond = condition(labels, n);
    const int64_t chunk = std::max<int64_t>(1, kLikelihoodRows / k);
    double elbo = 0, iwae = 0;
    for (int64_t s = 0; s < n; s += chunk) {
        const int64_t e = std::min(n, s + chunk);
        Tensor eps = randn({k, e - s, options_.latent_dim}, float_options());
        LikelihoodBounds b = likelihood_bounds(*encoder_, *decoder_, all.slice(0, s, e),
                                               all_cond.defined() ? all_cond.slice(0, s, e) : Tensor(), eps);
        elbo += sum(b.elbo).item();
        iwae += sum(b.iwae).item();
        if (options.progress) options.progress(e, n);
    }
    elbo /= double(n);
    iwae /= double(n);
    return {{"elbo", elbo},
            {"iwae", iwae},
            {"iwae_k", double(k)},
            {"nll_nats", -iwae},
            {"nll_bits_per_dim", -iwae / (double(all.numel() / n) * std::log(2.0))}};
}

// ---- pictures ---------------------------------------------------------------------------
void VaeModel::write_visuals(const std::string& dir, int64_t step) {
    if (options_.latent_dim != 2) return;
    autograd::NoGradGuard no_grad;
    if (plot_count_ > 0) {
        Tensor images = cat(plot_images_, 0), labels = cat(plot_labels_, 0);
        Tensor mu = encoder_->encode(image_input(images, "write_visuals"), condition(labels, labels.size(0))).mu;
        write_latent_scatter(fmt::format("{}/latent_{:07d}.png", dir, step), mu.to(Device::CPU), labels);
    }
    if (conditional()) return;
    // The decoder's means over a 12 x 12 grid of z in [-3, 3]^2 (z2 up, z1 right).
    const int64_t side = 12;
    std::vector<float> grid;
    for (int64_t r = 0; r < side; ++r)
        for (int64_t c = 0; c < side; ++c) {
            grid.push_back(float(-3.0 + 6.0 * double(c) / double(side - 1)));
            grid.push_back(float(3.0 - 6.0 * double(r) / double(side - 1)));
        }
    const TensorOptions f = float_options();
    Tensor means = decode_means(from_vector(grid, Shape{side * side, 2}).to(f.dtype).to(f.device), Tensor());
    io::GridOptions g;
    g.nrow = side;
    g.border = 0;
    g.lo = 0.0;
    g.hi = 1.0;
    io::write_png_grid(fmt::format("{}/manifold_{:07d}.png", dir, step), means, g);
}

}  // namespace mg::models
