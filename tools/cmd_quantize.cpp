// minigen quantize MODEL --checkpoint C --calib N: post-training int8 quantization of a
// trained model's sampling network (models/quantize/). Writes a checkpoint that `sample`,
// `eval` and `export` load like any other and that runs its Linear / Conv2d / ConvTranspose2d
// layers on the int8 kernels. See docs/quantization.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/input.h"
#include "core/ops.h"
#include "core/random.h"
#include "kernels/cpu/cpu_features.h"
#include "models/capabilities.h"
#include "models/quantize/int8_layers.h"
#include "models/quantize/quantize.h"
#include "models/quantize/quantized_checkpoint.h"
#include "models/registry.h"
#include "models/trainer.h"
#include "tools/cli.h"
#include "tools/model_options.h"

namespace mg::tools {

namespace {

namespace Q = models::quantize;

constexpr const char* kQuantizeHelp =
    "\nCalibrates each Linear / Conv2d / ConvTranspose2d input on N batches the model samples from its\n"
    "prior, and writes a checkpoint whose layers then run on the int8 kernels (per-tensor uint8\n"
    "activations, per-channel int8 weights). Models: dcgan, cgan, wgan-gp, vae, cvae, convvae.\n"
    "See docs/quantization.md.\n\n"
    "Example:\n"
    "  minigen quantize dcgan --checkpoint runs/dcgan/checkpoint.safetensors --calib 8 --out dcgan-int8.safetensors\n"
    "  minigen sample dcgan --checkpoint dcgan-int8.safetensors";

struct QuantizeArgs {
    std::string model, checkpoint, out, method = "minmax";
    int64_t calib = 8, calib_batch_size = 0, time_reps = 0;
    double percentile = 99.99;
    bool json = false;
    CommonModelArgs common;
};

// "runs/dcgan/checkpoint.safetensors" -> "runs/dcgan/checkpoint-int8.safetensors"
std::string default_out(const std::string& checkpoint) {
    std::filesystem::path p(checkpoint);
    return (p.parent_path() / (p.stem().string() + "-int8.safetensors")).string();
}

// ||a - b|| / ||a|| over the whole batch.
double relative_error(const Tensor& reference, const Tensor& other) {
    const std::vector<float> a = reference.contiguous().to_vector<float>(), b = other.contiguous().to_vector<float>();
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) num += double(a[i] - b[i]) * (a[i] - b[i]), den += double(a[i]) * a[i];
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// --time R: samples/s of float32 and int8 sampling at `batch`, by process CPU time (all threads;
// at --threads 1 the time the sampling ran, not the time it waited for a CPU on a loaded
// machine), the two interleaved call by call, one warm-up each, the median of R.
nlohmann::json time_float_vs_int8(models::Sampler& sampler, const Q::MatchedLayers& int8, int64_t batch,
                                  int64_t reps) {
    auto run = [&](bool quantized) {
        if (quantized) Q::install_int8(int8);
        else
            for (const auto& [layer, q] : int8) Q::layer_hook(layer).reset();
        const double t0 = process_cpu_seconds();
        sampler.sample(batch);
        return process_cpu_seconds() - t0;
    };
    run(false), run(true);
    std::vector<double> f, q;
    for (int64_t r = 0; r < reps; ++r) f.push_back(run(false)), q.push_back(run(true));
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double fs = double(batch) / median(f), qs = double(batch) / median(q);
    return {{"batch", batch}, {"reps", reps}, {"float32_samples_per_cpu_s", fs}, {"int8_samples_per_cpu_s", qs},
            {"speedup", qs / fs}};
}

int run_quantize(const QuantizeArgs& a) {
    apply_threads(a.common.threads);
    std::string trained_as;
    models::ModelConfig config = config_from_checkpoint(a.checkpoint, a.common, &trained_as);
    MG_CHECK(trained_as == a.model, "--checkpoint {}: a checkpoint of '{}', not '{}'", io::quote_short(a.checkpoint),
             trained_as, a.model);
    MG_CHECK(config.device == Device::CPU, "quantize: the int8 kernels run on the CPU only (got --device {})",
             a.common.device);
    const std::string out = a.out.empty() ? default_out(a.checkpoint) : a.out;
    std::error_code ec;
    MG_CHECK(!std::filesystem::equivalent(out, a.checkpoint, ec), "--out {}: is the checkpoint being quantized",
             io::quote_short(out));

    io::Checkpoint ck = io::load_checkpoint(a.checkpoint);
    MG_CHECK(!ck.metadata.count(Q::kQuantizationKey), "--checkpoint {}: already quantized (int8)",
             io::quote_short(a.checkpoint));
    std::unique_ptr<models::Model> model = models::find_model(a.model).create(config);
    models::load_model_checkpoint(*model, a.checkpoint, /*with_optimizers=*/false, a.common.allow_nonfinite);

    Q::CalibOptions options;
    options.batches = a.calib;
    options.batch_size = a.calib_batch_size > 0 ? a.calib_batch_size : model->batch_size();
    options.method = a.method == "percentile" ? Q::CalibMethod::Percentile : Q::CalibMethod::MinMax;
    options.percentile = a.percentile;
    manual_seed(a.common.seed);  // the calibration draws: the same file for the same --seed
    const std::vector<Q::LayerQuant> layers = Q::quantize_model(*model, options);

    nlohmann::json calibration = {{"method", a.method},
                                  {"calib_batches", options.batches},
                                  {"calib_batch_size", options.batch_size},
                                  {"calib_seed", a.common.seed}};
    if (options.method == Q::CalibMethod::Percentile) calibration["percentile"] = options.percentile;
    ck.optimizer.clear();  // for sampling, not training
    Q::record_quantization(ck, a.model, layers, calibration);

    // How far int8 moves one batch of samples from float32 (same draws).
    models::Sampler& sampler = models::require<models::Sampler>(*model, "quantize");
    const int64_t check_seed = a.common.seed + 1;
    manual_seed(check_seed);
    const Tensor float_samples = sampler.sample(options.batch_size);
    const Q::MatchedLayers int8 = Q::match_quantized_layers(*model, ck, out);
    Q::install_int8(int8);
    manual_seed(check_seed);
    const double error = relative_error(float_samples, sampler.sample(options.batch_size));
    const nlohmann::json timing =
        a.time_reps > 0 ? time_float_vs_int8(sampler, int8, options.batch_size, a.time_reps) : nlohmann::json();

    io::save_checkpoint(out, ck);
    nlohmann::json j = {{"model", a.model}, {"out", out}, {"layers", nlohmann::json::array()},
                        {"relative_error", error}, {"calibration", calibration}};
    if (!timing.is_null()) j["time"] = timing;
    for (const Q::LayerQuant& l : layers)
        j["layers"].push_back({{"name", l.name},
                               {"op", Q::layer_op_name(l.op)},
                               {"input_scale", l.input.scale},
                               {"input_zero_point", l.input.zero_point}});
    if (!kernels::cpu::lowp_features().avx512_vnni)
        std::fprintf(stderr,
                     "quantize: this CPU has no AVX512-VNNI: the int8 layers run the reference int8 kernels "
                     "(the same results, much slower)\n");
    if (a.json) {
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    std::printf("%s: %s int8, %zu layers, calibrated on %lld batches of %lld (%s)\n", out.c_str(), a.model.c_str(),
                layers.size(), (long long)options.batches, (long long)options.batch_size, a.method.c_str());
    for (const Q::LayerQuant& l : layers)
        std::printf("  %-12s %-16s input scale %.6g zero point %d\n", l.name.c_str(), Q::layer_op_name(l.op),
                    double(l.input.scale), l.input.zero_point);
    std::printf("int8 vs float32 samples (batch of %lld): relative error %.4f\n", (long long)options.batch_size,
                error);
    if (!timing.is_null())
        std::printf("samples per CPU second (median of %lld): float32 %.1f, int8 %.1f (%.2fx)\n",
                    (long long)a.time_reps, timing["float32_samples_per_cpu_s"].get<double>(),
                    timing["int8_samples_per_cpu_s"].get<double>(), timing["speedup"].get<double>());
    return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app) {
    static QuantizeArgs a;
    auto* cmd = app.add_subcommand("quantize", "Post-training int8 quantization of a trained model's sampling network");
    cmd->footer(kQuantizeHelp);
    cmd->add_option("model", a.model, "Model name")->required();
    cmd->add_option("--checkpoint", a.checkpoint, "Checkpoint file (a run's checkpoint.safetensors)")->required();
    cmd->add_option("--calib", a.calib, "Calibration batches (default 8)")->check(integer_range(1, 10000));
    cmd->add_option("--calib-batch-size", a.calib_batch_size, "Samples per calibration batch (default: the model's batch size)")
        ->check(integer_range(1, 4096));
    cmd->add_option("--method", a.method, "Activation range: minmax or percentile (of |x|)")
        ->check(CLI::IsMember({"minmax", "percentile"}));
    cmd->add_option("--percentile", a.percentile, "--method percentile: P in (0, 100] (default 99.99)")
        ->check(number_range(0, 100, /*lo_exclusive=*/true));
    cmd->add_option("--out", a.out, "Output checkpoint (default: CHECKPOINT-int8.safetensors beside it)");
    cmd->add_option("--time", a.time_reps,
                    "Also time float32 and int8 sampling at the calibration batch size, this many times each "
                    "(interleaved, process CPU time)")
        ->check(integer_range(1, 10000));
    cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
    add_common_model_args(*cmd, a.common);
    cmd->callback([] { std::exit(run_quantize(a)); });
}

}  // namespace mg::tools
