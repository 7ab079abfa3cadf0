// minigen train MODEL · minigen demo: the shared trainer behind a command line.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/data/fashion_mnist.h"
#include "core/data/toy2d.h"
#include "core/runtime.h"
#include "models/eval/training_evaluator.h"
#include "models/gan/adversarial.h"
#include "models/registry.h"
#include "models/trainer.h"
#include "tools/cli.h"
#include "tools/model_options.h"
#include "tools/report.h"

namespace fs = std::filesystem;

namespace mg::tools {

namespace {

struct TrainArgs {
    std::string model;
    CommonModelArgs common;
    int64_t epochs = 0, steps = 0;
    std::string out;
    bool resume = false, json = false, trace = false, no_report = false;
    int64_t log_every = 10, sample_every = 0, checkpoint_every = 0;
    int64_t eval_samples = 0;
};

// Dumps the autograd graphs of one D step and one G step (GAN models).
void write_trace(models::Model& model, const std::string& out_dir, const std::optional<std::string>& data_dir) {
    auto* gan = dynamic_cast<models::AdversarialModel*>(&model);
    MG_CHECK(gan != nullptr, "--trace: model '{}' is not a GAN (the trace shows a D step and a G step)",
             model.name());
    models::DataSpec spec = model.data_spec();
    data::Batch batch;
    const int64_t n = model.batch_size();
    if (spec.source == models::DataSpec::Source::Toy2d) {
        batch.images = data::make_toy2d(data::parse_toy2d(spec.toy2d), n, 0).points;
    } else {
        data::Dataset ds = data::load_fashion_mnist(data::Split::Train, data_dir);
        batch.images = data::to_float(ds.images.slice(0, 0, n), spec.range);
        batch.labels = ds.labels.slice(0, 0, n).contiguous();
    }
    auto [d_dot, g_dot] = gan->trace_graphs(batch);
    for (auto [name, dot] : {std::pair{"trace_d_step", d_dot}, std::pair{"trace_g_step", g_dot}}) {
        std::string path = out_dir + "/" + name + ".dot";
        std::ofstream(path) << dot;
        std::string svg = out_dir + "/" + name + ".svg";
        bool have_dot = std::system("command -v dot >/dev/null 2>&1") == 0;
        if (have_dot && std::system(("dot -Tsvg '" + path + "' -o '" + svg + "'").c_str()) == 0)
            std::fprintf(stderr, "trace: %s and %s\n", path.c_str(), svg.c_str());
        else
            std::fprintf(stderr, "trace: %s (install graphviz for an SVG)\n", path.c_str());
    }
}

int run_train(const TrainArgs& a, const std::string& banner) {
    apply_threads(a.common.threads);
    const models::ModelInfo& info = models::find_model(a.model);
    models::ModelConfig config = make_model_config(a.common);
    std::unique_ptr<models::Model> model = info.create(config);

    models::TrainOptions opt;
    opt.out_dir = a.out.empty() ? "runs/" + a.model : a.out;
    opt.epochs = a.epochs;
    opt.steps = a.steps;
    if (opt.epochs == 0 && opt.steps == 0) {
        opt.epochs = info.default_epochs;
        opt.steps = info.default_steps;
    }
    opt.log_every = a.log_every;
    opt.sample_every = a.sample_every;
    opt.checkpoint_every = a.checkpoint_every;
    opt.resume = a.resume;
    opt.data_dir = a.common.data_dir;
    opt.device = config.device;
    opt.run_info = {{"command", banner}};
    opt.evaluator = eval::training_evaluator(*model, opt.data_dir, a.eval_samples);
    if (!banner.empty()) std::fprintf(stderr, "%s\n", banner.c_str());
    fs::create_directories(opt.out_dir);
    if (a.trace) write_trace(*model, opt.out_dir, opt.data_dir);

    models::TrainSummary s = models::train(*model, opt);
    if (!a.no_report) write_report(opt.out_dir);

    nlohmann::json j = {{"model", s.model},       {"steps", s.steps},
                        {"steps_this_run", s.steps_this_run}, {"seconds", s.seconds},
                        {"images_per_s", s.items_per_s}, {"interrupted", s.interrupted},
                        {"out_dir", opt.out_dir}, {"checkpoint", s.checkpoint},
                        {"samples", s.samples},   {"threads", num_threads()}};
    for (const auto& [k, v] : s.last)
        if (k.find('/') == std::string::npos) j["last"][k] = v;
    for (const auto& [k, v] : s.quality) j["quality"][k] = v;
    if (!a.no_report) j["report"] = opt.out_dir + "/report/index.html";
    if (a.json) {
        std::printf("%s\n", j.dump(1).c_str());
    } else {
        std::printf("%s: %lld steps in %.1f s (%.0f %s/s)%s\n", s.model.c_str(), (long long)s.steps_this_run,
                    s.seconds, s.items_per_s, model->data_spec().source == models::DataSpec::Source::Toy2d ? "points" : "images",
                    s.interrupted ? ", interrupted" : "");
        for (const auto& [k, v] : s.quality) std::printf("  %s: %g\n", k.c_str(), v);
        std::printf("  samples:    %s\n", s.samples.c_str());
        std::printf("  checkpoint: %s\n", s.checkpoint.c_str());
        if (!a.no_report) std::printf("  report:     %s/report/index.html\n", opt.out_dir.c_str());
        if (config.device == Device::CUDA) {
            AllocatorStats m = allocator_for(Device::CUDA).stats();
            std::printf("  cuda memory: peak %.1f MiB in use, %lld of %lld allocations from the cache\n",
                        double(m.peak_bytes_in_use) / (1 << 20), (long long)m.cache_hits, (long long)m.allocations);
        }
    }
    return s.interrupted ? 130 : 0;
}

void add_train_flags(CLI::App& cmd, TrainArgs& a) {
    add_common_model_args(cmd, a.common);
    auto* epochs = cmd.add_option("--epochs", a.epochs, "Training length in epochs")->check(CLI::PositiveNumber);
    cmd.add_option("--steps", a.steps, "Training length in steps (overrides the model's default)")
        ->check(CLI::PositiveNumber)
        ->excludes(epochs);
    cmd.add_option("--out", a.out, "Run directory (default runs/MODEL)");
    cmd.add_flag("--resume", a.resume, "Continue from the run directory's checkpoint");
    cmd.add_flag("--json", a.json, "Print the final summary as JSON on stdout");
    cmd.add_flag("--trace", a.trace, "Write the autograd graphs of one D step and one G step (DOT, and SVG with graphviz)");
    cmd.add_flag("--no-report", a.no_report, "Do not write the HTML report at the end");
    cmd.add_option("--log-every", a.log_every, "Write metrics every N steps")->check(CLI::PositiveNumber);
    cmd.add_option("--sample-every", a.sample_every, "Write a sample grid every N steps (default: 8 per run)")
        ->check(CLI::PositiveNumber);
    cmd.add_option("--eval", a.eval_samples,
                   "At each sample point also measure FID/KID on N samples (image generators) or the test "
                   "NLL on N test images (likelihood models); the classifier always reports test accuracy")
        ->check(CLI::NonNegativeNumber);
    cmd.add_option("--checkpoint-every", a.checkpoint_every, "Write a checkpoint every N steps (default: 4 per run)")
        ->check(CLI::PositiveNumber);
}

}  // namespace

void add_train_command(CLI::App& app) {
    static TrainArgs a;
    auto* cmd = app.add_subcommand("train", "Train a model: minigen train MODEL (see 'minigen info --models')");
    cmd->add_option("model", a.model, "Model name (see minigen info --models)")->required();
    add_train_flags(*cmd, a);
    cmd->callback([] { std::exit(run_train(a, "")); });
}

void add_demo_command(CLI::App& app) {
    static TrainArgs a;
    auto* cmd = app.add_subcommand("demo", "Train DCGAN on Fashion-MNIST for a few minutes and write samples and a report");
    a.model = "dcgan";
    a.steps = 1500;
    a.out = "runs/demo";
    add_train_flags(*cmd, a);
    cmd->callback([] {
        std::exit(run_train(a, fmt::format("minigen demo: training dcgan on Fashion-MNIST for {} steps "
                                           "(batch 64; about {:.1f} epochs) into {}/",
                                           a.steps ? a.steps : a.epochs * 937, double(a.steps ? a.steps : a.epochs * 937) / 937.0,
                                           a.out)));
    });
}

}  // namespace mg::tools
