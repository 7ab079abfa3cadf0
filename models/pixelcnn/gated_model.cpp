#include "models/pixelcnn/gated_model.h"

#include <cmath>
#include <numbers>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/options.h"
#include "models/pixelcnn/image_options.h"

namespace mg::models {

// ---- options ---------------------------------------------------------------------------
template <class Self, class F>
void GatedOptions::fields(Self& o, F&& f) {
    f("width", o.net.channels, IntRange{1, kMaxWidth});
    f("layers", o.net.layers, IntRange{1, kMaxLayers});
    f("first_kernel", o.net.first_kernel, IntRange{3, kMaxKernel});
    f("kernel", o.net.kernel, IntRange{3, kMaxKernel});
    f("head_channels", o.net.head_channels, IntRange{1, kMaxWidth});
    f("conditional", o.conditional);
    f("sampler", o.sampler);  // checked below: parse_gated_sampler names the choices
    training_fields(o, f);
}

nlohmann::json GatedOptions::to_json() const { return options_to_json(*this); }

void GatedOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("gated-pixelcnn options", j, to_json()));
    MG_CHECK(net.first_kernel % 2 == 1 && net.kernel % 2 == 1,
             "gated-pixelcnn options: first_kernel {} and kernel {} must be odd", net.first_kernel, net.kernel);
    check_training("gated-pixelcnn options");
    parse_gated_sampler(sampler);  // throws naming the choices
}

// ---- set-up ------------------------------------------------------------------------------
namespace {

// The "conditional" option decides which image options apply (the classes), so it is read
// first: the registry name's default unless the options say (a wrong type is
// GatedOptions' to name).
GatedOptions defaults_for(const ModelConfig& config, bool conditional_default) {
    GatedOptions o;
    const nlohmann::json& j = config.options;
    o.conditional = j.contains("conditional") && j["conditional"].is_boolean() ? j["conditional"].get<bool>()
                                                                                 : conditional_default;
    return o;
}

}  // namespace

GatedPixelCnn::GatedPixelCnn(const ModelConfig& config, bool conditional_default)
    : GatedPixelCnn(config, defaults_for(config, conditional_default)) {}

GatedPixelCnn::GatedPixelCnn(const ModelConfig& config, const GatedOptions& defaults)
    : AutoregressiveImageModel(config, "gated-pixelcnn options", defaults.conditional, defaults) {
    sampler_ = parse_gated_sampler(options_.sampler);
    manual_seed(config.seed);
    MG_CHECK(!options_.conditional || images_.classes >= 2, "{}: the data has {} class(es); it needs at least 2",
             name(), images_.classes);
    // Colour: equal R, G, B groups of the horizontal stack's channels (gated_layer.h).
    options_.net.channels = pixelcnn::round_to_colours(options_.net.channels, images_.channels);
    options_.net.head_channels = pixelcnn::round_to_colours(options_.net.head_channels, images_.channels);
    GatedNetOptions net = options_.net;
    net.classes = options_.conditional ? images_.classes : 0;
    net.levels = kLevels;
    net.colours = images_.channels;
    set_network(std::make_shared<GatedPixelCnnNet>(net), "", "opt");
}

std::string GatedPixelCnn::name() const { return options_.conditional ? "gated-pixelcnn-cond" : "gated-pixelcnn"; }

DataSpec GatedPixelCnn::data_spec() const {
    DataSpec s = AutoregressiveImageModel::data_spec();
    s.labels = options_.conditional;
    return s;
}

Tensor GatedPixelCnn::levels_of(const Tensor& images) {
    MG_CHECK(images.dim() == 4 && is_floating(images.dtype()),
             "gated-pixelcnn: images must be float [N, C, H, W], got {} {}", images.dtype(), images.shape());
    const std::vector<double> x = images.to(Device::CPU).to_vector<double>();
    std::vector<int64_t> k(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const double level = std::round(x[i] * double(kLevels - 1));
        MG_CHECK(level >= 0 && level <= double(kLevels - 1), "gated-pixelcnn: pixel {} has value {}, outside [0, 1]", i,
                 x[i]);
        k[i] = int64_t(level);
    }
    return from_vector(k, images.shape());
}

Tensor GatedPixelCnn::loss_of(const Tensor& x, const Tensor& labels, Reduction reduction) {
    const int64_t n = x.size(0), c = images_.channels;
    Tensor logits = net_->forward(x.to(DType::Float32).to(config_.device), labels);  // [n, C*256, H, W]
    // One softmax per value: [n*C, 256, H, W] against the levels [n*C, H, W].
    logits = logits.reshape({n * c, kLevels, x.size(2), x.size(3)});
    return cross_entropy(logits, levels_of(x).flatten(0, 1).to(config_.device), reduction);
}

// ---- training and likelihood -------------------------------------------------------------
Metrics GatedPixelCnn::train_step(const data::Batch& batch) {
    MG_CHECK(!options_.conditional || batch.labels.defined(), "{}: the batch has no labels", name());
    pixelcnn::check_image_batch(name() + " train_step", batch.images, images_.channels);
    net_->train();
    Tensor labels = options_.conditional ? batch.labels.to(config_.device) : Tensor();
    return optimize(loss_of(batch.images, labels, Reduction::Mean));
}

Tensor GatedPixelCnn::pixel_logits(const Tensor& images, const Tensor& labels) {
    return net_->forward(images.to(DType::Float32).to(config_.device),
                         options_.conditional ? labels.to(config_.device) : Tensor());
}

Metrics GatedPixelCnn::likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) {
    pixelcnn::check_image_batch(name() + " likelihood", images, images_.channels);
    const int64_t n = images.size(0);
    MG_CHECK(n > 0, "{}: likelihood of no images", name());
    MG_CHECK(!options_.conditional || (labels.defined() && labels.dim() == 1 && labels.size(0) == n),
             "{}: likelihood needs int64 labels [{}]", name(), n);
    const bool was_training = net_->is_training();
    net_->eval();
    autograd::NoGradGuard no_grad;
    double nats = 0;
    for (int64_t b = 0; b < n; b += options_.eval_batch) {
        const int64_t e = std::min(n, b + options_.eval_batch);
        Tensor x = images.slice(0, b, e);
        Tensor lab = options_.conditional ? labels.slice(0, b, e).to(config_.device) : Tensor();
        nats += loss_of(x, lab, Reduction::Sum).item();
        if (options.progress) options.progress(e, n);
    }
    net_->train(was_training);
    const double per_image = nats / double(n), dims = double(images.size(1) * images.size(2) * images.size(3));
    return {{"nll_nats", per_image},
            {"nll_bits_per_dim", per_image / dims / std::numbers::ln2},
            {"nll_nats_per_dim", per_image / dims}};
}

// ---- sampling ----------------------------------------------------------------------------
Tensor GatedPixelCnn::draw(Tensor canvas, const Tensor& labels, int64_t start_row) {
    const bool was_training = net_->is_training();
    net_->eval();
    Tensor u = rand({canvas.size(0), canvas.size(1), canvas.size(2), canvas.size(3)}, {DType::Float64});
    sample_gated(*net_, canvas, labels, start_row, u, sampler_, config_.device);
    net_->train(was_training);
    return canvas;
}

Tensor GatedPixelCnn::sample(int64_t n) {
    MG_CHECK(n > 0, "{}: sample count must be positive, got {}", name(), n);
    Tensor labels = options_.conditional ? randint(0, images_.classes, {n}) : Tensor();
    return draw(zeros({n, images_.channels, images_.image_size, images_.image_size}), labels, 0);
}

Tensor GatedPixelCnn::sample_with_labels(const Tensor& labels) {
    MG_CHECK(options_.conditional, "model '{}' is not class-conditional: it cannot sample given labels", name());
    MG_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1 && labels.size(0) > 0,
             "{}: sample_with_labels needs int64 labels [n]", name());
    for (int64_t y : labels.to(Device::CPU).to_vector<int64_t>())
        MG_CHECK(y >= 0 && y < images_.classes, "{}: label {} outside 0..{}", name(), y, images_.classes - 1);
    const int64_t s = images_.image_size;
    return draw(zeros({labels.size(0), images_.channels, s, s}), labels.to(Device::CPU), 0);
}

Tensor GatedPixelCnn::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    const int64_t colours = images_.channels, size = images_.image_size;
    pixelcnn::check_image_batch(name() + ": complete", images, colours, size);
    MG_CHECK(keep_rows >= 0 && keep_rows <= size, "{}: keep_rows {} outside 0..{}", name(), keep_rows, size);
    MG_CHECK(per_image >= 1, "{}: per_image must be >= 1, got {}", name(), per_image);
    const int64_t n = images.size(0), pixels = size * size, values = colours * pixels;
    MG_CHECK(!options_.conditional || (labels.defined() && labels.dim() == 1 && labels.size(0) == n),
             "{}: complete needs int64 labels [{}]", name(), n);
    levels_of(images);  // checks the range
    const std::vector<float> src = images.to(Device::CPU).to(DType::Float32).to_vector<float>();
    std::vector<float> canvas(size_t(n * per_image * values), 0.0f);
    std::vector<int64_t> rep_labels;
    const std::vector<int64_t> lab =
        options_.conditional ? labels.to(Device::CPU).to_vector<int64_t>() : std::vector<int64_t>();
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < per_image; ++j) {
            for (int64_t ch = 0; ch < colours; ++ch)  // the first keep_rows rows of every channel
                std::copy_n(src.begin() + i * values + ch * pixels, keep_rows * size,
                            canvas.begin() + (i * per_image + j) * values + ch * pixels);
            if (options_.conditional) rep_labels.push_back(lab[size_t(i)]);
        }
    Tensor rep = options_.conditional ? from_vector(rep_labels) : Tensor();
    return draw(from_vector(canvas, Shape{n * per_image, colours, size, size}), rep, keep_rows);
}

}  // namespace mg::models
