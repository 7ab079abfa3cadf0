// minigen export MODEL --checkpoint C --format onnx: a trained model's sampling network as a file
// another runtime runs (models/export/onnx_export.h), and optionally fixed draws with minigen's
// own samples for them (--check-dir), to compare that runtime's output against.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/io/input.h"
#include "core/io/npy.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/export/onnx_export.h"
#include "models/registry.h"
#include "models/trainer.h"
#include "tools/cli.h"
#include "tools/model_options.h"

namespace mg::tools {

namespace {

struct ModelExportArgs {
    std::string model, checkpoint, format = "onnx", out, check_dir;
    int64_t check_count = 8, time_reps = 0;
    bool json = false;
    CommonModelArgs common;
};

// The inputs of --check-dir: z ~ N(0, I) from --seed (a PixelCNN's x: uniform levels / 255),
// labels 0, 1, 2, ... (every class in turn).
std::pair<Tensor, Tensor> fixed_inputs(const models::SamplingNetwork& net, int64_t n, uint64_t seed) {
    manual_seed(seed);
    Tensor z;
    if (net.input_image.empty()) {
        z = randn({n, net.z_dim});
    } else {
        Shape shape = net.input_image;
        shape.insert(0, n);
        std::vector<float> levels = rand(shape).to_vector<float>();
        for (float& v : levels) v = std::min(std::floor(v * 256.0f), 255.0f) / 255.0f;
        z = from_vector(levels, shape);
    }
    Tensor labels;
    if (net.classes > 0) {
        std::vector<int64_t> classes(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) classes[size_t(i)] = i % net.classes;
        labels = from_vector(classes);
    }
    return {z, labels};
}

// minigen's samples/s on `z` (one warm-up call, then `reps` timed calls).
double samples_per_second(const models::SamplingNetwork& net, const Tensor& z, const Tensor& labels, int64_t reps) {
    net.reference(z, labels);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < reps; ++i) net.reference(z, labels);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return seconds > 0 ? double(reps * z.size(0)) / seconds : 0.0;
}

int run_model_export(const ModelExportArgs& a) {
    apply_threads(a.common.threads);
    models::check_onnx_export_available();  // before reading anything
    std::string trained_as;
    models::ModelConfig config = config_from_checkpoint(a.checkpoint, a.common, &trained_as);
    MG_CHECK(trained_as == a.model, "--checkpoint {}: a checkpoint of '{}', not '{}'", io::quote_short(a.checkpoint),
             trained_as, a.model);
    std::unique_ptr<models::Model> model = models::find_model(a.model).create(config);
    models::load_model_checkpoint(*model, a.checkpoint, /*with_optimizers=*/false, a.common.allow_nonfinite);
    const models::SamplingNetwork net = models::sampling_network(*model);
    if (!a.check_dir.empty())
        MG_CHECK(std::filesystem::is_directory(a.check_dir), "--check-dir {}: not a directory",
                 io::quote_short(a.check_dir));

    const std::string out = a.out.empty() ? a.model + ".onnx" : a.out;
    const models::OnnxExportSummary s = models::export_onnx(net, out);

    nlohmann::json j = {{"model", a.model}, {"format", a.format}, {"out", out}, {"opset", models::kOnnxOpset},
                        {"nodes", s.nodes}, {"initializers", s.initializers}, {"parameters", s.parameters},
                        {"ops", s.op_types}, {"bytes", s.bytes}};
    if (!a.check_dir.empty() || a.time_reps > 0) {
        const auto [z, labels] = fixed_inputs(net, a.check_count, a.common.seed);
        if (!a.check_dir.empty()) {
            namespace fs = std::filesystem;
            io::write_npy((fs::path(a.check_dir) / (net.input_image.empty() ? "z.npy" : "x.npy")).string(), z);
            if (labels.defined()) io::write_npy((fs::path(a.check_dir) / "labels.npy").string(), labels);
            io::write_npy((fs::path(a.check_dir) / "expected.npy").string(), net.reference(z, labels).contiguous());
            j["check_dir"] = a.check_dir;
        }
        if (a.time_reps > 0) j["minigen_samples_per_s"] = samples_per_second(net, z, labels, a.time_reps);
    }
    if (a.json) {
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("%s: %s's sampling network, ONNX opset %lld, %lld nodes, %lld parameters\n", out.c_str(),
                    a.model.c_str(), (long long)models::kOnnxOpset, (long long)s.nodes, (long long)s.parameters);
        if (j.contains("minigen_samples_per_s"))
            std::printf("minigen: %.1f samples/s at batch %lld\n", j["minigen_samples_per_s"].get<double>(),
                        (long long)a.check_count);
    }
    return 0;
}

}  // namespace

void add_export_command(CLI::App& app) {
    static ModelExportArgs a;
    auto* cmd = app.add_subcommand("export", "Write a trained model's sampling network for another runtime (ONNX)");
    cmd->footer(
        "\nWrites the network sample() runs, float32, as ONNX opset 17: dcgan / wgan-gp (z [N, Z] -> image),\n"
        "cgan (z and labels int64 [N] -> image), the VAE decoders (z -> sigmoid(decoder) = image). See\n"
        "docs/export.md. --check-dir also writes z.npy (labels.npy) and minigen's samples for them\n"
        "(expected.npy), for tests/reference/onnx_run.js to compare ONNX Runtime's output with.\n\n"
        "Example:\n"
        "  minigen export dcgan --checkpoint runs/dcgan/checkpoint.safetensors --out dcgan.onnx");
    cmd->add_option("model", a.model, "Model name")->required();
    cmd->add_option("--checkpoint", a.checkpoint, "Checkpoint file (a run's checkpoint.safetensors)")->required();
    cmd->add_option("--format", a.format, "File format: onnx (the only one)")->check(CLI::IsMember({"onnx"}));
    cmd->add_option("--out", a.out, "Output file (default MODEL.onnx)");
    cmd->add_option("--check-dir", a.check_dir, "Also write fixed inputs and minigen's samples for them here (.npy)");
    cmd->add_option("--check-count", a.check_count, "--check-dir and --time: the batch size (default 8)")
        ->check(integer_range(1, 4096));
    cmd->add_option("--time", a.time_reps, "Time minigen's sampling on that batch, this many repetitions")
        ->check(integer_range(1, 100000));
    cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
    add_common_model_args(*cmd, a.common);
    cmd->callback([] { std::exit(run_model_export(a)); });
}

}  // namespace mg::tools
