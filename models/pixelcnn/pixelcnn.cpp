#include "models/pixelcnn/pixelcnn.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/options.h"
#include "models/pixelcnn/image_options.h"
#include "models/pixelcnn/likelihood.h"

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

// logits [N, C*levels, H, W] -> [N*C, levels, H, W], each value's softmax along dim 1, as
// cross_entropy takes them with targets [N*C, H, W].
Tensor per_value(const Tensor& logits, int64_t colours) {
    return logits.reshape({logits.size(0) * colours, logits.size(1) / colours, logits.size(2), logits.size(3)});
}

// The levels of images [N, C, H, W] as cross_entropy's targets [N*C, H, W], on `device`.
Tensor targets_of(const Tensor& images, int64_t levels, Device device) {
    return levels_of(images, levels).flatten(0, 1).to(device);
}

}  // namespace

// ---- options ---------------------------------------------------------------------------
template <class Self, class F>
void PixelCnnOptions::fields(Self& o, F&& f) {
    f("width", o.net.channels, IntRange{1, kMaxWidth});
    f("layers", o.net.layers, IntRange{0, kMaxLayers});
    f("kernel", o.net.kernel, IntRange{3, kMaxKernel});
    f("sampler", o.sampler, Names<SamplerKind>{parse_sampler, sampler_name});
    training_fields(o, f);
}

nlohmann::json PixelCnnOptions::to_json() const { return options_to_json(*this); }

void PixelCnnOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("pixelcnn options", j, to_json()));
    MG_CHECK(net.kernel % 2 == 1, "pixelcnn options: kernel {} must be odd", net.kernel);
    check_training("pixelcnn options");
}

// ---- the model -----------------------------------------------------------------------------
PixelCnnModel::PixelCnnModel(const ModelConfig& config)
    : AutoregressiveImageModel(config, "pixelcnn options", /*conditional=*/false) {
    // Colour: equal R, G, B groups of hidden channels (masked_conv.h), so 64 becomes 66.
    options_.net.colours = images_.channels;
    options_.net.channels = round_to_colours(options_.net.channels, images_.channels);
    if (config.bug == Bug::MaskBFirst) options_.net.first_mask = 'B';
    manual_seed(config.seed);
    set_network(std::make_shared<PixelCnnNet>(options_.net), "pixelcnn.");
}

Tensor levels_of(const Tensor& images, int64_t levels) {
    MG_CHECK(images.defined() && images.dim() == 4 && is_floating(images.dtype()),
             "pixelcnn: expected float images [N, C, H, W], got {}", images.defined() ? images.shape() : Shape{});
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
    return from_vector(out, images.shape());
}

Metrics PixelCnnModel::train_step(const data::Batch& batch) {
    check_image_batch("pixelcnn train_step", batch.images, images_.channels);
    Tensor x = batch.images.to(DType::Float32).to(config_.device);
    Tensor target = targets_of(batch.images, options_.net.levels, config_.device);
    return optimize(cross_entropy(per_value((*net_)(x), images_.channels), target));  // mean over N*C*H*W, nats
}

Tensor PixelCnnModel::pixel_logits(const Tensor& images, const Tensor& labels) {
    (void)labels;
    return (*net_)(images.to(DType::Float32).to(config_.device));
}

Metrics PixelCnnModel::likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) {
    (void)labels;  // unconditional, and exact: no importance samples
    check_image_batch("pixelcnn likelihood", images, images_.channels);
    const int64_t n = images.size(0);
    MG_CHECK(n > 0, "pixelcnn likelihood: no images");
    EvalScope eval(*net_);
    autograd::NoGradGuard no_grad;
    return chunked_likelihood(images, options_.eval_batch, options, [&](const Tensor& x) {
        Tensor target = targets_of(x, options_.net.levels, config_.device);
        Tensor logits = per_value((*net_)(x.to(DType::Float32).to(config_.device)), images_.channels);
        return cross_entropy(logits, target, Reduction::Sum).item();
    });
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
    // One uniform per value, drawn up front: the samples depend on the seed alone, not on
    // the sampler or the chunking.
    const int64_t c = images_.channels, s = images_.image_size;
    Tensor uniforms = rand({n, c * s * s}, {DType::Float64});
    return sample_from(zeros({n, c, s, s}), 0, uniforms);
}

Tensor PixelCnnModel::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    (void)labels;
    const int64_t c = images_.channels, s = images_.image_size;
    check_image_batch("pixelcnn complete", images, c, s);
    MG_CHECK(keep_rows >= 0 && keep_rows <= s, "pixelcnn complete: keep_rows {} not in [0, {}]", keep_rows, s);
    MG_CHECK(per_image >= 1, "pixelcnn complete: per_image must be at least 1, got {}", per_image);
    const int64_t n = images.size(0);
    // Image i's completions at rows i*per_image ... (i+1)*per_image - 1.
    Tensor context = images.to(Device::CPU)
                         .to(DType::Float32)
                         .unsqueeze(1)
                         .expand({n, per_image, c, s, s})
                         .reshape({n * per_image, c, s, s})
                         .contiguous();
    Tensor uniforms = rand({n * per_image, c * s * s}, {DType::Float64});
    return sample_from(context, keep_rows * s, uniforms);
}

}  // namespace mg::models::pixelcnn
