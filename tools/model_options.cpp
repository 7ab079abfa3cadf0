#include "tools/model_options.h"

#include "core/io/input.h"
#include "core/io/safetensors.h"
#include "kernels/device.h"
#include "kernels/registry.h"
#include "models/options.h"
#include "tools/cli.h"

namespace mg::tools {

// A model's options fit in a few kilobytes.
constexpr uint64_t kMaxConfigBytes = uint64_t(1) << 20;

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
    cmd.add_option("--data", a.data_dir, "Fashion-MNIST directory (default: $MINIGEN_DATA or /usr/share/datasets/fashion-mnist)");
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
    }
    return c;
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
    for (auto it = c.options.begin(); it != c.options.end(); ++it) options[it.key()] = it.value();
    c.options = options;
    c.options_source = c.options_source.empty() ? what : what + " with " + c.options_source;
    return c;
}

}  // namespace mg::tools
