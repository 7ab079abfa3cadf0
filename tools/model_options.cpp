#include "tools/model_options.h"

#include <filesystem>

#include "core/io/input.h"
#include "core/io/safetensors.h"
#include "kernels/device.h"
#include "kernels/registry.h"
#include "models/image_data.h"
#include "models/options.h"
#include "models/registry.h"
#include "tools/cli.h"

namespace mg::tools {

// A model's options fit in a few kilobytes.
constexpr uint64_t kMaxConfigBytes = uint64_t(1) << 20;

std::string image_data_models() {
    std::string names;
    for (const models::ModelInfo& m : models::all_models())
        if (m.image_data) names += (names.empty() ? "" : ", ") + m.name;
    return names;
}

void add_common_model_args(CLI::App& cmd, CommonModelArgs& a) {
    cmd.add_option("--batch-size", a.batch_size, "Batch size (default: the model's)")->check(integer_range(1, models::kMaxBatch));
    cmd.add_option("--lr", a.lr, "Learning rate of every optimizer (default: the model's)")
        ->check(number_range(0, 1e6, /*lo_exclusive=*/true));
    cmd.add_option("--seed", a.seed, "Random seed (weights, data order, noise)")
        ->check(integer_range(0))
        ->each([&a](const std::string&) { a.seed_given = true; });
    cmd.add_option("--device", a.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    cmd.add_option("--amp", a.amp,
                   "With --device cuda: off (default, FP32), tf32 or bf16 tensor-core multiplies in every matmul "
                   "and convolution; weights, activations and sums stay float32")
        ->check(CLI::IsMember({"off", "tf32", "bf16"}));
    cmd.add_option("--data", a.data,
                   "Training data: fashion-mnist (default; its directory: $MINIGEN_DATA or "
                   "/usr/share/datasets/fashion-mnist), fashion-mnist:DIR (or a bare DIR), folder:DIR, "
                   "npy:FILE[,labels=FILE], emoji[:google,twitter] (image sets: " + image_data_models() +
                       "); paired, for pix2pix: edges:SPEC (SPEC's Sobel edges -> SPEC), emoji-pair:google,twitter, "
                       "lab:SPEC (L* -> a*b*, for colorize)")
        ->each([&a](const std::string& v) {
            if (v.rfind("fashion-mnist:", 0) == 0) a.data_dir = v.substr(14);
            else if (v != "fashion-mnist" && !models::is_image_data_spec(v)) a.data_dir = v;
        });
    cmd.add_option("--image-size", a.image_size,
                   "With an image data set: train at N x N (default 64; the convolutional models take 16, 28, 32, 56, 64, "
                   "128, ...)")
        ->check(integer_range(1, 1024));
    cmd.add_option("--channels", a.channels, "With an image data set: 1 (grey) or 3 (RGB, the default)")
        ->check(CLI::IsMember({1, 3}));
    cmd.add_flag("--skip-bad", a.skip_bad, "With folder: data: leave out images that do not decode (else an error)");
    cmd.add_option("--config", a.config_file, "JSON file with the model's options");
    cmd.add_flag("--allow-nonfinite", a.allow_nonfinite,
                 "Load a checkpoint whose weights hold NaN/Inf, and keep training when a loss does (they are "
                 "refused by default)");
    add_threads_option(cmd, a.threads);
}

// Mixed precision as kernel selection: the GEMM runs its tensor-core variant (inputs rounded
// to TF32 or BF16, products summed in float32), and every convolution goes through our
// im2col + that GEMM. Master weights, activations and optimizer state stay float32, so no
// loss scaling is needed (BF16 has float32's exponent range).
static void select_mixed_precision(const std::string& amp) {
    const Device cuda = Device::CUDA;
    kernels::find_table("gemm")->select(amp == "bf16" ? "cublas_bf16" : "cublas_tf32", cuda);
    for (const char* op : {"conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
                           "masked_conv2d_forward", "masked_conv2d_backward_input", "masked_conv2d_backward_weight"})
        kernels::find_table(op)->select("im2col", cuda);
}

// --data and the image flags as model options; only what was given, so a checkpoint's
// record stands unless the command line names something else.
static void set_data_options(const CommonModelArgs& a, nlohmann::json& options) {
    const bool images = models::is_image_data_spec(a.data);
    if (!images && !a.data.empty() && a.data.rfind("fashion-mnist", 0) != 0) {
        // A bare word with a colon is a misspelt source, not a Fashion-MNIST directory.
        const size_t colon = a.data.find(':');
        MG_CHECK(colon == std::string::npos || colon < 2 || std::filesystem::exists(a.data),
                 "--data {}: unknown data set '{}' (fashion-mnist, fashion-mnist:DIR, folder:DIR, "
                 "npy:FILE[,labels=FILE], emoji[:google,twitter])",
                 io::quote_short(a.data), io::quote_short(a.data.substr(0, colon)));
    }
    if (images) options["data"] = a.data;
    if (a.image_size > 0) options["image_size"] = a.image_size;
    if (a.channels > 0) options["channels"] = a.channels;
    if (a.skip_bad) options["skip_bad"] = true;
}

models::ModelConfig make_model_config(const CommonModelArgs& a) {
    models::ModelConfig c;
    c.batch_size = a.batch_size;
    c.lr = a.lr;
    c.seed = a.seed;
    if (a.device == "cuda") {
        MG_CHECK(kernels::cuda::available(), "--device cuda: {}", kernels::cuda::unavailable_reason());
        c.device = Device::CUDA;
    }
    MG_CHECK(a.amp == "off" || c.device == Device::CUDA, "--amp {}: mixed precision needs --device cuda", a.amp);
    if (a.amp != "off") select_mixed_precision(a.amp);
    if (!a.config_file.empty()) {
        const std::string what = "--config " + a.config_file;
        c.options = io::parse_json(io::read_text_file(a.config_file, "--config", kMaxConfigBytes), what);
        MG_CHECK(c.options.is_object(), "{}: expected a JSON object of options, got {}", what,
                 io::quote_short(c.options.dump()));
        c.options_source = what;
        c.bug = models::take_bug(c.options, what);
    }
    set_data_options(a, c.options);
    return c;
}

void check_model_takes_data(const models::ModelInfo& info, const CommonModelArgs& a) {
    if (info.image_data) return;
    auto refuse = [&](const char* flag, const std::string& value) {
        MG_FAIL("{} {}: '{}' trains on Fashion-MNIST only (image data sets: {})", flag, io::quote_short(value),
                info.name, image_data_models());
    };
    if (models::is_image_data_spec(a.data)) refuse("--data", a.data);
    if (a.image_size > 0) refuse("--image-size", std::to_string(a.image_size));
    if (a.channels > 0) refuse("--channels", std::to_string(a.channels));
    if (a.skip_bad) refuse("--skip-bad", "(given)");
}

models::ModelConfig config_from_checkpoint(const std::string& path, const CommonModelArgs& a, std::string* model_name) {
    io::require_regular_file(path, "--checkpoint");
    io::SafetensorsContents f = io::load_safetensors(path);
    auto name = f.metadata.find("model_name");
    auto cfg = f.metadata.find("config");
    MG_CHECK(name != f.metadata.end() && cfg != f.metadata.end(),
             "{}: not a minigen training checkpoint (no model_name/config metadata)", path);
    MG_CHECK(name->second.size() <= 64, "{}: metadata 'model_name' is not a model name: {}", path,
             io::quote_short(name->second));
    *model_name = name->second;
    models::ModelConfig c = make_model_config(a);
    // The config is the model's options plus its seed and device, as the trainer wrote them.
    const std::string what = "--checkpoint " + path + ": metadata 'config'";
    nlohmann::json options = io::parse_json(cfg->second, what, {.max_bytes = kMaxConfigBytes});
    MG_CHECK(options.is_object(), "{}: expected a JSON object, got {}", what, io::quote_short(options.dump()));
    c.seed = 0;
    if (options.contains("seed")) {
        const nlohmann::json& seed = options["seed"];
        MG_CHECK(seed.is_number_unsigned() || (seed.is_number_integer() && seed.get<int64_t>() >= 0),
                 "{}: 'seed' must be a non-negative integer, got {}", what, io::quote_short(seed.dump()));
        c.seed = seed.get<uint64_t>();
    }
    options.erase("seed");
    options.erase("device");
    const models::Bug recorded_bug = models::take_bug(options, what);
    // --data fashion-mnist (or its directory) against a checkpoint of an image data set.
    if (!a.data.empty() && !c.options.contains("data") && options.contains("data") && options["data"].is_string() &&
        models::is_image_data_spec(options["data"].get<std::string>()))
        MG_FAIL("--data {}: {} was trained with data {}", io::quote_short(a.data), path,
                io::quote_short(options["data"].dump()));
    // An image data set against a checkpoint that records none: one written before the
    // models took image data, so trained on Fashion-MNIST.
    if (c.options.contains("data") && c.options["data"].is_string() &&
        models::is_image_data_spec(c.options["data"].get<std::string>()) && !options.contains("data"))
        MG_FAIL("--data {}: {} was trained on Fashion-MNIST", io::quote_short(c.options["data"].get<std::string>()),
                path);
    for (auto [key, flag] : {std::pair{"data", "--data"}, {"image_size", "--image-size"}, {"channels", "--channels"}})
        if (c.options.contains(key) && options.contains(key))
            MG_CHECK(c.options[key] == options[key], "{} {}: {} was trained with {} {}", flag,
                     io::quote_short(c.options[key].dump()), path, key, io::quote_short(options[key].dump()));
    for (auto it = c.options.begin(); it != c.options.end(); ++it) options[it.key()] = it.value();
    c.options = options;
    if (c.bug == models::Bug::None) c.bug = recorded_bug;  // --config's bug, if any, wins
    c.options_source = c.options_source.empty() ? what : what + " with " + c.options_source;
    return c;
}

}  // namespace mg::tools
