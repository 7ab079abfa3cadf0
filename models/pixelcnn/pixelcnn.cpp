#include "models/pixelcnn/pixelcnn.h"

#include <cmath>
#include <numbers>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/options.h"

namespace mg::models::pixelcnn {

namespace {

constexpr int64_t kChunk = 64;  // images per sampler call: the caches of 64 images take ~140 MB

// Puts a module's training mode back when the scope ends (also on an exception).
class EvalScope {
public:
    explicit EvalScope(nn::Module& m) : module_(m), was_training_(m.is_training()) { m.eval(); }
    ~EvalScope() { module_.train(was_training_); }
    EvalScope(const EvalScope&) = delete;
    EvalScope& operator=(const EvalScope&) = delete;

private:
    nn::Module& module_;
    bool was_training_;
};

void check_images(const char* op, const Tensor& images) {
    MG_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 1 && images.size(2) == PixelCnnModel::kSize &&
                 images.size(3) == PixelCnnModel::kSize && images.dtype() == DType::Float32,
             "pixelcnn {}: expected float32 images [N, 1, {}, {}] in [0, 1], got {}", op, PixelCnnModel::kSize,
             PixelCnnModel::kSize, images.defined() ? images.shape() : Shape{});
}

}  // namespace

// ---- options ---------------------------------------------------------------------------
template <class Self, class F>
void PixelCnnOptions::fields(Self& o, F&& f) {
    f("channels", o.net.channels, IntRange{1, kMaxWidth});
    f("layers", o.net.layers, IntRange{0, kMaxLayers});
    f("kernel", o.net.kernel, IntRange{3, kMaxKernel});
    f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
    f("lr", o.lr);
    f("sampler", o.sampler, Names<SamplerKind>{parse_sampler, sampler_name});
    f("eval_batch", o.eval_batch, IntRange{1, kMaxBatch});
}

nlohmann::json PixelCnnOptions::to_json() const { return options_to_json(*this); }

void PixelCnnOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("pixelcnn options", j, to_json()));
    MG_CHECK(net.kernel % 2 == 1, "pixelcnn options: kernel {} must be odd", net.kernel);
    MG_CHECK(batch_size > 0 && eval_batch > 0, "pixelcnn options: batch_size {} and eval_batch {} must be positive",
             batch_size, eval_batch);
    MG_CHECK(lr > 0, "pixelcnn options: lr must be positive, got {}", lr);
}

// ---- the model -----------------------------------------------------------------------------
PixelCnnModel::PixelCnnModel(const ModelConfig& config) : config_(config) {
    options_.update_from(config.options);
    if (config.batch_size > 0) options_.batch_size = config.batch_size;
    if (config.lr > 0) options_.lr = config.lr;
    manual_seed(config.seed);
    net_ = std::make_shared<PixelCnnNet>(options_.net);
    net_->name_parameters("pixelcnn.");
    optim::AdamOptions adam;
    adam.lr = options_.lr;
    opt_ = std::make_unique<optim::Adam>(net_->parameters(), adam);
    if (config.device != Device::CPU) net_->to(config.device);
}

DataSpec PixelCnnModel::data_spec() const {
    DataSpec s;
    s.range = data::PixelRange::ZeroOne;
    return s;
}

nlohmann::json PixelCnnModel::config() const {
    return run_config(options_.to_json(), config_);
}

Tensor levels_of(const Tensor& images, int64_t levels) {
    MG_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 1 && is_floating(images.dtype()),
             "pixelcnn: expected float images [N, 1, H, W], got {}", images.defined() ? images.shape() : Shape{});
    const std::vector<double> x = images.to_vector<double>();
    std::vector<int64_t> out(x.size());
    const double top = double(levels - 1);
    for (size_t i = 0; i < x.size(); ++i) {
        const double v = x[i] * top;
        const double level = std::round(v);
        MG_CHECK(level >= 0 && level <= top && std::abs(v - level) <= 1e-2,
                 "pixelcnn: pixel {} is {}, not one of the levels k/{} in [0, 1]", i, x[i], levels - 1);
        out[i] = int64_t(level);
    }
    return from_vector(out, Shape{images.size(0), images.size(2), images.size(3)});
}

Metrics PixelCnnModel::train_step(const data::Batch& batch) {
    check_images("train_step", batch.images);
    Tensor x = batch.images.to(config_.device);
    Tensor target = levels_of(batch.images, options_.net.levels).to(config_.device);
    opt_->zero_grad();
    Tensor loss = cross_entropy((*net_)(x), target);  // mean over N*28*28 pixels, in nats
    loss.backward();
    opt_->step();
    const double nats = loss.item();
    return {{"loss", nats}, {"bits_per_dim", nats / std::numbers::ln2}};
}

Metrics PixelCnnModel::likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) {
    (void)labels;  // unconditional, and exact: no importance samples
    check_images("likelihood", images);
    const int64_t n = images.size(0);
    MG_CHECK(n > 0, "pixelcnn likelihood: no images");
    EvalScope eval(*net_);
    autograd::NoGradGuard no_grad;
    double total = 0.0;  // nats, summed over every pixel of every image
    for (int64_t start = 0; start < n; start += options_.eval_batch) {
        Tensor x = images.slice(0, start, std::min(n, start + options_.eval_batch));
        Tensor target = levels_of(x, options_.net.levels).to(config_.device);
        total += cross_entropy((*net_)(x.to(config_.device)), target, Reduction::Sum).item();
        if (options.progress) options.progress(start + x.size(0), n);
    }
    const double per_image = total / double(n);
    return {{"nll_nats", per_image}, {"nll_bits_per_dim", per_image / (double(kSize * kSize) * std::numbers::ln2)}};
}

Tensor PixelCnnModel::sample_from(const Tensor& context, int64_t first_pixel, const Tensor& uniforms) {
    const int64_t n = context.size(0);
    std::vector<Tensor> parts;
    for (int64_t start = 0; start < n; start += kChunk) {
        const int64_t end = std::min(n, start + kChunk);
        parts.push_back(sample_pixels(*net_, context.slice(0, start, end), first_pixel, uniforms.slice(0, start, end),
                                      options_.sampler));
    }
    return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

Tensor PixelCnnModel::sample(int64_t n) {
    MG_CHECK(n > 0, "pixelcnn sample: n must be positive, got {}", n);
    // One uniform per pixel, drawn up front: the samples depend on the seed alone, not on
    // the sampler or the chunking.
    Tensor uniforms = rand({n, kSize * kSize}, {DType::Float64});
    return sample_from(zeros({n, 1, kSize, kSize}), 0, uniforms);
}

Tensor PixelCnnModel::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    (void)labels;
    check_images("complete", images);
    MG_CHECK(keep_rows >= 0 && keep_rows <= kSize, "pixelcnn complete: keep_rows {} not in [0, {}]", keep_rows, kSize);
    MG_CHECK(per_image >= 1, "pixelcnn complete: per_image must be at least 1, got {}", per_image);
    const int64_t n = images.size(0);
    // Image i's completions at rows i*per_image ... (i+1)*per_image - 1.
    Tensor context = images.to(Device::CPU)
                         .unsqueeze(1)
                         .expand({n, per_image, 1, kSize, kSize})
                         .reshape({n * per_image, 1, kSize, kSize})
                         .contiguous();
    Tensor uniforms = rand({n * per_image, kSize * kSize}, {DType::Float64});
    return sample_from(context, keep_rows * kSize, uniforms);
}

}  // namespace mg::models::pixelcnn
