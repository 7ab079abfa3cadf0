#include "models/imagegpt/imagegpt.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/image_data.h"
#include "models/options.h"
#include "models/pixelcnn/image_options.h"
#include "models/pixelcnn/likelihood.h"
#include "models/pixelcnn/pixelcnn.h"

namespace mg::models::imagegpt {

namespace {

constexpr int64_t kChunk = 64;             // sequences per sampler call: 64 x 4 layers of 784-long caches ~100 MB
constexpr int64_t kColourPalette = 64;     // palette 0 on colour data
constexpr int64_t kMaxPositions = 1 << 20;  // max_len: far above any image here

// A palette model's metrics name tokens, not dims: a token is a whole pixel.
Metrics per_token(Metrics m) {
    Metrics out;
    for (auto& [key, value] : m) {
        std::string k = key;
        if (const size_t at = k.find("per_dim"); at != std::string::npos) k.replace(at, 7, "per_token");
        out.push_back({k, value});
    }
    return out;
}

}  // namespace

template <class Self, class F>
void ImageGptOptions::fields(Self& o, F&& f) {
    f("width", o.net.width, IntRange{1, kMaxWidth});
    f("heads", o.net.heads, IntRange{1, kMaxWidth});
    f("layers", o.net.layers, IntRange{0, kMaxLayers});
    f("max_len", o.net.max_len, IntRange{0, kMaxPositions});
    f("palette", o.palette, IntRange{0, kMaxPalette});
    f("palette_init", o.palette_init, Names<PaletteInit>{parse_palette_init, palette_init_name});
    f("sampler", o.sampler, Names<TokenSampler>{pixelcnn::parse_sampler, pixelcnn::sampler_name});
    training_fields(o, f);
}

nlohmann::json ImageGptOptions::to_json() const { return options_to_json(*this); }

void ImageGptOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("imagegpt options", j, to_json()));
    MG_CHECK(net.width % net.heads == 0, "imagegpt options: width {} is not a multiple of heads {}", net.width,
             net.heads);
    MG_CHECK(palette == 0 || palette >= kMinPalette, "imagegpt options: palette {} not 0 or in [{}, {}]", palette,
             kMinPalette, kMaxPalette);
    check_training("imagegpt options");
}

ImageGptModel::ImageGptModel(const ModelConfig& config)
    : AutoregressiveImageModel(config, "imagegpt options", /*conditional=*/false) {
    const int64_t s = images_.image_size;
    if (options_.palette == 0 && images_.channels > 1) options_.palette = kColourPalette;
    if (options_.net.max_len == 0) options_.net.max_len = s * s;
    options_.net.vocab = has_palette() ? options_.palette : 256;
    manual_seed(config.seed);
    auto net = std::make_shared<ImageGptNet>(options_.net);
    if (has_palette()) {
        palette_ = net->register_buffer("palette", zeros({options_.palette, images_.channels}));
        palette_fitted_ = net->register_buffer("palette_fitted", zeros({1}, {DType::Int64}));
    }
    set_network(std::move(net), "imagegpt.");
}

Tensor ImageGptModel::palette() {
    MG_CHECK(has_palette(), "imagegpt: this model has no palette (grey levels)");
    if (palette_fitted_.item() == 0) {
        const Tensor images = load_image_data(data_spec(), ImageSplit::Train).images;
        set_palette(fit_palette(images, {.k = options_.palette, .init = options_.palette_init, .seed = config_.seed}));
    }
    return palette_;
}

void ImageGptModel::set_palette(const Tensor& colours) {
    MG_CHECK(has_palette(), "imagegpt: this model has no palette (grey levels)");
    MG_CHECK(colours.shape() == palette_.shape(), "imagegpt: a palette {} for a model of palette {}", colours.shape(),
             palette_.shape());
    autograd::NoGradGuard no_grad;
    palette_.copy_(colours.to(DType::Float32));
    palette_fitted_.fill_(1.0);
}

Tensor ImageGptModel::tokens_of(const Tensor& images) {
    const int64_t n = images.size(0);
    if (has_palette()) return palette_tokens(images, palette());
    return pixelcnn::levels_of(images).reshape({n, images.size(2) * images.size(3)});
}

Tensor ImageGptModel::images_of(const Tensor& tokens) {
    const int64_t s = images_.image_size;
    if (has_palette()) return palette_images(tokens, palette(), s, s);
    return (tokens.to(DType::Float32) / 255.0).reshape({tokens.size(0), 1, s, s});
}

Metrics ImageGptModel::train_step(const data::Batch& batch) {
    pixelcnn::check_image_batch("imagegpt train_step", batch.images, images_.channels);
    Tensor tokens = tokens_of(batch.images).to(config_.device);  // [B, T]
    Tensor logits = (*net_)(net_->shift_right(tokens));         // [B, T, K]
    const int64_t rows = tokens.numel();
    Metrics m = optimize(cross_entropy(logits.reshape({rows, logits.size(2)}), tokens.reshape({rows})));
    return has_palette() ? per_token(m) : m;
}

Metrics ImageGptModel::likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) {
    (void)labels;
    pixelcnn::check_image_batch("imagegpt likelihood", images, images_.channels);
    const int64_t n = images.size(0);
    MG_CHECK(n > 0, "imagegpt likelihood: no images");
    autograd::NoGradGuard no_grad;
    // Over the tokens [N, 1, H, W]: one dim per token (per value for grey levels).
    const Tensor tokens = tokens_of(images).reshape({n, 1, images.size(2), images.size(3)});
    Metrics m = pixelcnn::chunked_likelihood(tokens, options_.eval_batch, options, [&](const Tensor& t) {
        Tensor target = t.reshape({t.size(0), t.size(2) * t.size(3)}).to(config_.device);
        Tensor logits = (*net_)(net_->shift_right(target));
        return cross_entropy(logits.reshape({target.numel(), logits.size(2)}), target.reshape({target.numel()}),
                             Reduction::Sum)
            .item();
    });
    return has_palette() ? per_token(m) : m;
}

Tensor ImageGptModel::pixel_logits(const Tensor& images, const Tensor& labels) {
    (void)labels;
    pixelcnn::check_image_batch("imagegpt pixel_logits", images, images_.channels);
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3), t = h * w;
    const int64_t d = options_.net.width;
    Tensor x = images.to(DType::Float32).to(config_.device);
    // The nearest token of any values in [0, 1] (levels_of would refuse values between levels).
    Tensor tokens;
    if (has_palette()) {
        tokens = palette_tokens(images.detach(), palette());
    } else {
        std::vector<int64_t> levels;
        for (float v : images.detach().to(Device::CPU).to(DType::Float32).contiguous().to_vector<float>())
            levels.push_back(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
        tokens = from_vector(levels, {n, t});
    }
    // Input position s holds pixel s-1: the pixels [n, T, C] shifted right by one, zeros first.
    Tensor pixels = x.reshape({n, c, t}).permute({0, 2, 1});
    Tensor shifted = cat({zeros({n, 1, c}, {DType::Float32, x.device()}), pixels.slice(1, 0, t - 1)}, 1);
    std::vector<float> u(static_cast<size_t>(c * d));  // fixed, not drawn: the check changes no random stream
    for (size_t i = 0; i < u.size(); ++i) u[i] = float(std::cos(1.7 * double(i) + 0.3));
    Tensor through = matmul(shifted - shifted.detach(), from_vector(u, {c, d}).to(x.device()));  // 0, with a gradient
    Tensor logits = net_->forward_embedded(net_->embed(net_->shift_right(tokens.to(config_.device))) + through);
    Tensor per_pixel = logits.permute({0, 2, 1}).reshape({n, logits.size(2), h, w});  // [n, K, H, W]
    return c == 1 ? per_pixel : cat(std::vector<Tensor>(static_cast<size_t>(c), per_pixel), 1);
}

Tensor ImageGptModel::sample_from(const Tensor& context, int64_t first, const Tensor& uniforms) {
    const int64_t n = context.size(0);
    std::vector<Tensor> parts;
    for (int64_t start = 0; start < n; start += kChunk) {
        const int64_t end = std::min(n, start + kChunk);
        parts.push_back(sample_tokens(*net_, context.slice(0, start, end), first, uniforms.slice(0, start, end),
                                      options_.sampler));
    }
    return images_of(parts.size() == 1 ? parts[0] : cat(parts, 0));
}

Tensor ImageGptModel::sample(int64_t n) {
    MG_CHECK(n > 0, "imagegpt sample: n must be positive, got {}", n);
    const int64_t t = images_.image_size * images_.image_size;
    // One uniform per token, drawn up front: the samples depend on the seed alone.
    Tensor uniforms = rand({n, t}, {DType::Float64});
    return sample_from(zeros({n, t}, {DType::Int64}), 0, uniforms);
}

Tensor ImageGptModel::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    (void)labels;
    const int64_t c = images_.channels, s = images_.image_size;
    pixelcnn::check_image_batch("imagegpt complete", images, c, s);
    MG_CHECK(keep_rows >= 0 && keep_rows <= s, "imagegpt complete: keep_rows {} not in [0, {}]", keep_rows, s);
    MG_CHECK(per_image >= 1, "imagegpt complete: per_image must be at least 1, got {}", per_image);
    const int64_t n = images.size(0);
    // Image i's completions at rows i*per_image ... (i+1)*per_image - 1.
    Tensor context = tokens_of(images).unsqueeze(1).expand({n, per_image, s * s}).reshape({n * per_image, s * s});
    Tensor uniforms = rand({n * per_image, s * s}, {DType::Float64});
    return sample_from(context.contiguous(), keep_rows * s, uniforms);
}

}  // namespace mg::models::imagegpt
