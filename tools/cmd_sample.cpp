// minigen sample MODEL --checkpoint F: a grid of samples from a trained model.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/autograd.h"
#include "core/data/fashion_mnist.h"
#include "core/data/transforms.h"
#include "core/io/image.h"

#include "core/ops.h"
#include "core/random.h"
#include "core/data/augment.h"
#include "models/capabilities.h"
#include "models/image_data.h"
#include "models/registry.h"
#include "models/style/fast_style.h"
#include "models/style/style_image.h"
#include "models/trainer.h"
#include "tools/cli.h"
#include "tools/model_options.h"
#include "tools/sample_post.h"

namespace mg::tools {

namespace {

struct SampleArgs {
    std::string model, checkpoint, out, complete, sampler, post, input;
    CommonModelArgs common;
    int64_t n = 64;
    int64_t class_index = -1;
    bool by_class = false, interpolate = false;
    int64_t keep_rows = -1, per_image = 6, steps = 10;  // keep_rows -1: the top half
};

// The images a model makes: C x S x S (Fashion-MNIST's 1 x 28 x 28, or its image data's).
struct ImageFormat {
    int64_t channels = 1, size = 28;
};
ImageFormat image_format(const models::DataSpec& spec) {
    if (spec.source == models::DataSpec::Source::Images) return {spec.channels, spec.image_size};
    return {};
}

// --complete: "test:K" (the first K held-out images of the model's data) or a PNG of S x S
// tiles (one image, or a borderless grid of them) -> images [N, C, S, S] in [0, 1] and their
// labels (test:K only).
std::pair<Tensor, Tensor> images_to_complete(const SampleArgs& a, const models::DataSpec& spec) {
    const auto [c, size] = image_format(spec);
    if (a.complete.rfind("test:", 0) == 0) {
        int64_t k = 0;
        try {
            k = std::stoll(a.complete.substr(5));
        } catch (const std::exception&) {
            MG_FAIL("--complete {}: expected test:K with K a number of test images", a.complete);
        }
        MG_CHECK(k >= 1 && k <= 10000, "--complete {}: K must be in 1..10000", a.complete);
        Tensor images, labels;
        if (spec.source == models::DataSpec::Source::Images) {
            models::ImageData held_out = models::load_image_data(spec, models::ImageSplit::Test);
            images = held_out.images, labels = held_out.labels;
        } else {
            data::Dataset test = data::load_fashion_mnist(data::Split::Test, a.common.data_dir);
            images = test.images, labels = test.labels;
        }
        MG_CHECK(k <= images.size(0), "--complete {}: the held-out images are only {}", a.complete, images.size(0));
        return {data::to_float(images.slice(0, 0, k), data::PixelRange::ZeroOne), labels.slice(0, 0, k).contiguous()};
    }
    MG_CHECK(std::filesystem::exists(a.complete), "--complete {}: no such file (a PNG, or test:K)", a.complete);
    Tensor png = io::read_png(a.complete, DType::Float32, 0.0, 1.0);  // [1, C, H, W]
    if (png.size(1) == 3 && c == 1) png = mean(png, {1}, true);
    if (png.size(1) == 1 && c == 3) png = png.expand({1, 3, png.size(2), png.size(3)}).contiguous();
    const int64_t h = png.size(2), w = png.size(3);
    MG_CHECK(h % size == 0 && w % size == 0,
             "--complete {}: image is {}x{}; expected {}x{} tiles (a multiple of {} each way)", a.complete, w, h, size,
             size, size);
    // [1, C, R*S, K*S] -> [R*K, C, S, S], tiles in reading order.
    Tensor tiles = png.reshape({c, h / size, size, w / size, size}).permute({1, 3, 0, 2, 4}).contiguous();
    return {tiles.reshape({(h / size) * (w / size), c, size, size}), Tensor()};
}

// The training data's per-channel histograms (--post histmatch): the data the model
// records (or --data names).
data::ChannelHistograms training_histograms(models::Model& model, const SampleArgs& a) {
    const models::DataSpec spec = model.data_spec();
    MG_CHECK(spec.source != models::DataSpec::Source::Toy2d, "--post histmatch: '{}' does not make images", a.model);
    Tensor images = spec.source == models::DataSpec::Source::Images
                        ? models::load_image_data(spec).images
                        : data::load_fashion_mnist(data::Split::Train, a.common.data_dir).images;
    return data::channel_histograms(images.data<uint8_t>(), images.size(0), images.size(1), images.size(2),
                                    images.size(3));
}

// --post: the steps applied to the samples, back in the model's range for the grid.
Tensor postprocess(models::Model& model, const Tensor& samples, const std::vector<PostStep>& steps,
                   const SampleArgs& a) {
    const bool signed_range = model.data_spec().range == data::PixelRange::MinusOneOne;
    std::optional<data::ChannelHistograms> reference;
    if (needs_histograms(steps)) reference = training_histograms(model, a);
    std::vector<io::ImageU8> images = apply_post(data::batch_to_images(samples, signed_range ? -1.0 : 0.0, 1.0),
                                                 steps, reference ? &*reference : nullptr);
    data::Normalize normalize;
    if (!signed_range) normalize = {{0.0}, {1.0}};
    return data::images_to_batch(images, normalize);
}

int run_sample(const SampleArgs& a) {
    apply_threads(a.common.threads);
    const std::vector<PostStep> post = a.post.empty() ? std::vector<PostStep>{} : parse_post(a.post);
    std::string trained_as;
    models::ModelConfig config = config_from_checkpoint(a.checkpoint, a.common, &trained_as);
    if (!a.sampler.empty()) config.options["sampler"] = a.sampler;
    MG_CHECK(trained_as == a.model, "--checkpoint {}: a checkpoint of '{}', not '{}'", a.checkpoint, trained_as,
             a.model);
    check_model_takes_data(models::find_model(a.model), a.common);
    std::unique_ptr<models::Model> model = models::find_model(a.model).create(config);
    models::load_model_checkpoint(*model, a.checkpoint, /*with_optimizers=*/false, a.common.allow_nonfinite);
    manual_seed(a.common.seed);  // samples differ by --seed, not by the training run's RNG state

    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    Tensor samples;
    int64_t nrow = 8;
    if (!a.input.empty()) {  // fast-style: rows of 8 content images, then their stylisations
        models::Stylizer& stylizer = models::require<models::Stylizer>(*model, "sample --input");
        Tensor content = style::read_style_images(a.input, stylizer.image_channels(), stylizer.image_size(), "--input");
        samples = stylizer.stylize(content);
        std::vector<Tensor> rows;
        for (int64_t i = 0; i < content.size(0); i += 8) {
            const int64_t end = std::min(content.size(0), i + 8);
            rows.push_back(content.slice(0, i, end));
            rows.push_back(samples.slice(0, i, end));
        }
        samples = cat(rows, 0);
    } else if (!a.complete.empty()) {
        models::Completion& completion = models::require<models::Completion>(*model, "sample --complete");
        const int64_t size = image_format(model->data_spec()).size;
        const int64_t keep_rows = a.keep_rows < 0 ? size / 2 : a.keep_rows;
        MG_CHECK(keep_rows < size, "--keep-rows {}: the images have {} rows", keep_rows, size);
        auto [images, labels] = images_to_complete(a, model->data_spec());
        if (models::as<models::ClassConditional>(*model) && !labels.defined())
            labels = zeros({images.size(0)}, {DType::Int64});
        const int64_t n = images.size(0), p = a.per_image;
        Tensor range_images = model->data_spec().range == data::PixelRange::MinusOneOne ? images * 2.0 - 1.0 : images;
        Tensor done = completion.complete(range_images, labels, keep_rows, p).to(Device::CPU);
        // One row per image: what the model saw (hidden rows grey), its completions, the original.
        Tensor shown = range_images.clone();
        {
            autograd::NoGradGuard no_grad;
            double grey = model->data_spec().range == data::PixelRange::MinusOneOne ? 0.0 : 0.5;
            shown.slice(2, keep_rows, size).fill_(grey);
        }
        std::vector<Tensor> rows;
        for (int64_t i = 0; i < n; ++i) {
            rows.push_back(shown.slice(0, i, i + 1));
            rows.push_back(done.slice(0, i * p, (i + 1) * p));
            rows.push_back(range_images.slice(0, i, i + 1));
        }
        samples = cat(rows, 0);
        nrow = p + 2;
    } else if (a.interpolate) {
        samples = models::require<models::Interpolation>(*model, "sample --interpolate")
                      .interpolate(a.n / a.steps > 0 ? a.n / a.steps : 1, a.steps);
        nrow = a.steps;
    } else if (a.class_index >= 0 || a.by_class) {
        models::ClassConditional& conditional = models::require<models::ClassConditional>(
            *model, a.by_class ? "sample --by-class" : "sample --class");
        std::vector<int64_t> labels;
        const int64_t classes = conditional.class_count();
        if (a.by_class) {  // one row of 8 per class
            for (int64_t c = 0; c < classes; ++c)
                for (int64_t i = 0; i < 8; ++i) labels.push_back(c);
        } else {
            MG_CHECK(a.class_index < classes, "--class {}: the model has classes 0..{}", a.class_index, classes - 1);
            labels.assign(size_t(a.n), a.class_index);
        }
        samples = conditional.sample_with_labels(from_vector(labels));
    } else {
        samples = models::require<models::Sampler>(*model, "sample").sample(a.n);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::fprintf(stderr, "sample: %lld images in %.2f s (%.2f images/s)\n", (long long)samples.size(0), seconds,
                 seconds > 0 ? double(samples.size(0)) / seconds : 0.0);
    if (!post.empty()) samples = postprocess(*model, samples.to(Device::CPU), post, a);
    std::string out = a.out.empty() ? a.model + "_samples.png" : a.out;
    models::write_samples(*model, samples, out, nrow);
    std::printf("%s\n", out.c_str());
    return 0;
}

}  // namespace

void add_sample_command(CLI::App& app) {
    static SampleArgs a;
    auto* cmd = app.add_subcommand("sample", "Draw samples from a trained model into a PNG grid");
    cmd->add_option("model", a.model, "Model name")->required();
    cmd->add_option("--checkpoint", a.checkpoint, "Checkpoint file (a run's checkpoint.safetensors)")->required();
    cmd->add_option("--out", a.out, "Output PNG (default MODEL_samples.png)");
    cmd->add_option("-n,--count", a.n, "Number of samples")->check(integer_range(1, 4096));
    cmd->add_option("--class", a.class_index, "Conditional models: draw this class only")->check(integer_range(0, 1 << 20));
    cmd->add_flag("--by-class", a.by_class, "Conditional models: one row per class");
    cmd->add_flag("--interpolate", a.interpolate,
                  "Latent-variable models: rows of interpolations between prior samples (count/steps rows)");
    cmd->add_option("--steps", a.steps, "--interpolate: images per row")->check(integer_range(2, 64));
    cmd->add_option("--complete", a.complete,
                    "Fill in everything below --keep-rows of these images: a PNG of tiles of the model's image "
                    "size (28x28 for Fashion-MNIST), or test:K for the first K held-out images of its data; one row "
                    "per image (input, completions, original)");
    cmd->add_option("--input", a.input,
                    "fast-style: stylise this image, or a folder's PNG/JPEG files (rows of content, then stylised)");
    cmd->add_option("--keep-rows", a.keep_rows, "--complete: rows kept from the image (default: the top half)")
        ->check(integer_range(0, 1023));
    cmd->add_option("--per-image", a.per_image, "--complete: completions per image")->check(integer_range(1, 32));
    cmd->add_option("--sampler", a.sampler, "PixelCNN models and imagegpt: naive (a full forward per pixel) or "
                                             "cached (the default; gated-pixelcnn also has rows); row-lstm: naive or rows (the default)");
    cmd->add_option("--post", a.post,
                    "Postprocess the samples before the grid: steps left to right, e.g. "
                    "median:3,unsharp,grey-world,histmatch,upscale:4 (also bilateral[:S]; histmatch matches "
                    "the training data's histograms)");
    add_common_model_args(*cmd, a.common);
    cmd->callback([] { std::exit(run_sample(a)); });
}

}  // namespace mg::tools
