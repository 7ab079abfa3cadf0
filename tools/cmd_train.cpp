// minigen train MODEL · minigen demo: the shared trainer behind a command line.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/data/augment.h"
#include "core/data/fashion_mnist.h"
#include "core/data/toy2d.h"
#include "core/dist/collective.h"
#include "core/runtime.h"
#include "models/eval/training_evaluator.h"
#include "models/gan/adversarial.h"
#include "models/image_data.h"
#include "models/progress.h"
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
    bool resume = false, overwrite = false, allow_changes = false, json = false, trace = false, no_report = false;
    bool deterministic = false;  // several ranks: reduce gradients in rank order
    bool sync_bn = false;        // several ranks: BatchNorm statistics over every rank's images
    double dist_timeout = dist::Collective::kDefaultTimeout;
    std::string overlap = "on";  // several ranks: reduce gradient buckets while backward runs
    double bucket_mb = 25;
    int zero = 0;  // 1: ZeRO-1 (Adam, AdamW)
    int64_t log_every = 10, sample_every = 0, checkpoint_every = 0, grid = 64;
    int64_t eval_samples = 0;
    std::string classifier;
    bool hflip = false;
    int64_t crop = 0;
    std::string jitter, diffaug, style_image;
    std::string bug;  // --bug NAME ("" when not given; "list" prints the table)
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
    } else if (spec.source == models::DataSpec::Source::Images) {
        models::ImageData d = models::load_image_data(spec);
        const int64_t k = std::min(n, d.images.size(0));
        batch.images = data::to_float(d.images.slice(0, 0, k), spec.range);
        batch.labels = d.labels.slice(0, 0, k).contiguous();
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

// The model's settings: the flags and --config for a new run; for a resumed one, the
// checkpoint's, with only what the command line gives explicitly on top (the trainer
// refuses a difference unless --allow-changes).
models::ModelConfig model_config(const TrainArgs& a, const std::string& out_dir) {
    const std::string ckpt = models::checkpoint_path(out_dir);
    if (!a.resume || !fs::is_regular_file(ckpt)) {
        models::ModelConfig config = make_model_config(a.common);
        if (a.hflip) config.options["hflip"] = true;
        if (a.crop > 0) config.options["crop"] = a.crop;
        if (!a.jitter.empty()) config.options["jitter"] = a.jitter;
        if (!a.diffaug.empty()) config.options["diffaug"] = a.diffaug;
        if (!a.style_image.empty()) config.options["style_image"] = a.style_image;
        if (!a.bug.empty()) config.bug = models::parse_bug(a.bug);
        return config;
    }
    std::string trained_as;
    models::ModelConfig config = config_from_checkpoint(ckpt, a.common, &trained_as);
    MG_CHECK(trained_as == a.model, "train --resume: {} is a checkpoint of '{}', not '{}'", ckpt, trained_as,
             a.model);
    if (a.common.seed_given) config.seed = a.common.seed;
    if (!a.bug.empty()) config.bug = models::parse_bug(a.bug);  // a change: refused without --allow-changes
    return config;
}

// 0: done; 3: stopped at a NaN/Inf; 128 + the signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP)
// after a signal stopped the run and its checkpoint was saved.
int exit_code(const models::TrainSummary& s) {
    if (!s.nonfinite.empty()) return 3;
    return s.signal != 0 ? 128 + s.signal : 0;
}

int run_train(const TrainArgs& a, const std::string& banner) {
    if (a.bug == "list") {
        std::printf("%s", models::bug_table().c_str());
        return 0;
    }
    MG_CHECK(!a.model.empty(), "train: which model? (minigen train MODEL; see 'minigen info --models')");
    apply_threads(a.common.threads);
    const models::ModelInfo& info = models::find_model(a.model);
    models::TrainOptions opt;
    opt.out_dir = a.out.empty() ? "runs/" + a.model : a.out;
    models::ModelConfig config = model_config(a, opt.out_dir);
    check_model_takes_data(info, a.common);
    if (!info.image_data)
        for (auto [flag, given] : {std::pair{"--hflip", a.hflip}, {"--crop", a.crop > 0}, {"--jitter", !a.jitter.empty()}})
            MG_CHECK(!given, "{}: '{}' takes no image augmentation (models that do: {})", flag, a.model,
                     image_data_models());
    std::unique_ptr<models::Model> model = info.create(config);

    opt.epochs = a.epochs;
    opt.steps = a.steps;
    if (opt.epochs == 0 && opt.steps == 0) {
        opt.epochs = info.default_epochs;
        opt.steps = info.default_steps;
    }
    opt.log_every = a.log_every;
    opt.sample_every = a.sample_every;
    opt.checkpoint_every = a.checkpoint_every;
    opt.sample_count = a.grid;
    opt.resume = a.resume;
    opt.overwrite = a.overwrite;
    opt.allow_changes = a.allow_changes;
    opt.allow_nonfinite = a.common.allow_nonfinite;
    opt.data_parallel.sync_batch_norm = a.sync_bn;
    opt.data_dir = a.common.data_dir;
    opt.device = config.device;
    opt.data_parallel.overlap = a.overlap == "on";
    opt.data_parallel.bucket_bytes = int64_t(a.bucket_mb * (1 << 20));
    opt.data_parallel.zero = a.zero;
    opt.command = command_line();
    if (!banner.empty()) opt.run_info["banner"] = banner;
    opt.evaluator = eval::training_evaluator(*model, opt.data_dir, a.eval_samples,
                                             a.classifier.empty() ? std::nullopt : std::optional(a.classifier));
    if (!banner.empty()) std::fprintf(stderr, "%s\n", banner.c_str());
    if (a.trace) opt.on_start = [&](models::Model& m) { write_trace(m, opt.out_dir, opt.data_dir); };

    dist::world().set_deterministic(a.deterministic);
    dist::world().set_timeout(a.dist_timeout);
    models::TrainSummary s = models::train(*model, opt);
    if (!dist::is_root()) return exit_code(s);  // rank 0 reports for every rank
    if (!a.no_report) {
        models::Phase phase("report", "");
        write_report(opt.out_dir);
    }

    nlohmann::json j = {{"model", s.model},       {"steps", s.steps},
                        {"steps_this_run", s.steps_this_run}, {"seconds", s.seconds},
                        {"images_per_s", s.items_per_s}, {"interrupted", s.interrupted},
                        {"out_dir", opt.out_dir}, {"checkpoint", s.checkpoint},
                        {"samples", s.samples},   {"threads", num_threads()},
                        {"signal", s.signal},     {"nonfinite", s.nonfinite}};
    for (const auto& [k, v] : s.last)
        if (k.find('/') == std::string::npos) j["last"][k] = v;
    for (const auto& [k, v] : s.quality) j["quality"][k] = v;
    j["health"] = nlohmann::json::array();
    for (const models::HealthEvent& e : s.health)
        j["health"].push_back({{"monitor", e.monitor}, {"step", e.step}, {"message", e.message}});
    if (!a.no_report) j["report"] = opt.out_dir + "/report/index.html";
    if (a.json) {
        std::printf("%s\n", j.dump(1).c_str());
    } else {
        std::printf("%s: %lld steps in %.1f s (%.0f %s/s)%s\n", s.model.c_str(), (long long)s.steps_this_run,
                    s.seconds, s.items_per_s, model->data_spec().source == models::DataSpec::Source::Toy2d ? "points" : "images",
                    s.interrupted ? ", interrupted" : "");
        for (const auto& [k, v] : s.quality) std::printf("  %s: %g\n", k.c_str(), v);
        for (const models::HealthEvent& e : s.health)
            std::printf("  health:     step %lld: %s\n", (long long)e.step, e.monitor.c_str());
        std::printf("  samples:    %s\n", s.samples.c_str());
        std::printf("  checkpoint: %s\n", s.checkpoint.empty() ? "(none written)" : s.checkpoint.c_str());
        if (!a.no_report) std::printf("  report:     %s/report/index.html\n", opt.out_dir.c_str());
        if (config.device == Device::CUDA) {
            AllocatorStats m = allocator_for(Device::CUDA).stats();
            std::printf("  cuda memory: peak %.1f MiB in use, %lld of %lld allocations from the cache\n",
                        double(m.peak_bytes_in_use) / (1 << 20), (long long)m.cache_hits, (long long)m.allocations);
        }
    }
    if (!s.nonfinite.empty())
        std::fprintf(stderr,
                     "minigen: error: training stopped at a non-finite value: %s; the last finite checkpoint is "
                     "kept (pass --allow-nonfinite to train on)\n",
                     s.nonfinite.c_str());
    return exit_code(s);
}

void add_train_flags(CLI::App& cmd, TrainArgs& a) {
    add_common_model_args(cmd, a.common);
    auto* epochs = cmd.add_option("--epochs", a.epochs, "Training length in epochs")->check(integer_range(1));
    cmd.add_option("--steps", a.steps,
                   "Training length in steps (overrides the model's default; with --resume, the total including "
                   "the steps already taken)")
        ->check(integer_range(1))
        ->excludes(epochs);
    cmd.add_option("--out", a.out, "Run directory (default runs/MODEL); must be empty unless --resume or --overwrite");
    auto* resume = cmd.add_flag("--resume", a.resume, "Continue from the run directory's checkpoint");
    cmd.add_flag("--overwrite", a.overwrite,
                 "Replace the run in --out: its config, metrics, checkpoint, samples and report are removed")
        ->excludes(resume);
    cmd.add_flag("--allow-changes", a.allow_changes,
                 "With --resume: accept settings (batch size, lr, seed, --config options) that differ from the "
                 "checkpoint's; config.json's history records them")
        ->needs(resume);
    cmd.add_option("--grid", a.grid, "Images in each sample grid (default 64)")->check(integer_range(1, 1024));
    cmd.add_flag("--json", a.json, "Print the final summary as JSON on stdout");
    cmd.add_flag("--trace", a.trace, "Write the autograd graphs of one D step and one G step (DOT, and SVG with graphviz)");
    cmd.add_flag("--deterministic", a.deterministic,
                 "Under mpirun: average gradients in rank order, bit for bit reproducible (docs/distributed.md)");
    cmd.add_flag("--sync-bn", a.sync_bn,
                 "Under mpirun: BatchNorm normalises with the statistics of the global batch, every rank's "
                 "images (SyncBatchNorm; default: each rank's own); one process: no change");
    cmd.add_option("--dist-timeout", a.dist_timeout,
                   "Under mpirun: seconds a rank waits in one collective for the others before it ends every "
                   "rank with a message (a hung or dead rank; default 300, 0: wait forever)")
        ->check(CLI::Range(0.0, 1e6));
    cmd.add_option("--overlap", a.overlap,
                   "Under mpirun: on (default) starts each gradient bucket's all-reduce while backward runs; "
                   "off reduces them all after backward")
        ->check(CLI::IsMember({"on", "off"}));
    cmd.add_option("--bucket-mb", a.bucket_mb, "Under mpirun: MiB of gradients per all-reduce bucket (0.001 to 1024; default 25, as PyTorch DDP)")
        ->check(CLI::Range(0.001, 1024.0));
    cmd.add_option("--zero", a.zero,
                   "1: ZeRO-1, each rank keeps and updates 1/N of the optimizer state (Adam and AdamW; "
                   "checkpoints hold the whole state); 0 (default): every rank keeps all of it")
        ->check(CLI::IsMember({0, 1}));
    cmd.add_flag("--no-report", a.no_report, "Do not write the HTML report at the end");
    cmd.add_option("--log-every", a.log_every, "Write metrics every N steps")->check(integer_range(1));
    cmd.add_option("--sample-every", a.sample_every, "Write a sample grid every N steps (default: 8 per run)")
        ->check(integer_range(1));
    cmd.add_option("--eval", a.eval_samples,
                   "At each sample point also measure FID/KID on N samples (image generators) or the test "
                   "NLL on N test images (likelihood models); the classifier always reports test accuracy")
        ->check(integer_range(0, 100000));
    cmd.add_option("--classifier", a.classifier,
                   "With --eval: the reference classifier, a built-in's name (fashion-mnist, emoji) or a weights "
                   "file (default: the built-in trained on the data)");
    cmd.add_option("--style-image", a.style_image, "fast-style: the style image (PNG or JPEG) it learns to paint in");
    cmd.add_flag("--hflip", a.hflip, "GANs: flip the real images left-right at random");
    cmd.add_option("--crop", a.crop,
                   "GANs: pad the real images by N pixels (mirrored) and crop them back at a random offset")
        ->check(integer_range(0, 1023));
    cmd.add_option("--jitter", a.jitter,
                   "GANs: colour jitter of the real images, brightness,contrast,saturation,hue strengths "
                   "(e.g. 0.2,0.2,0.2,0.05; one number: the first three)")
        ->each([](const std::string& v) { data::parse_color_jitter(v, "--jitter"); });
    cmd.add_option("--diffaug", a.diffaug,
                   "GANs: DiffAugment policy for every image D sees, real and fake, e.g. color,translation,cutout");
    cmd.add_option("--bug", a.bug,
                   "Train with one classic mistake on purpose (a lesson in failure modes); 'list' explains "
                   "each (minigen train --bug list)")
        ->each([](const std::string& v) {
            if (v != "list") models::parse_bug(v);
        });
    cmd.add_option("--checkpoint-every", a.checkpoint_every, "Write a checkpoint every N steps (default: 4 per run)")
        ->check(integer_range(1));
}

}  // namespace

void add_train_command(CLI::App& app) {
    static TrainArgs a;
    auto* cmd = app.add_subcommand("train", "Train a model: minigen train MODEL (see 'minigen info --models')");
    cmd->add_option("model", a.model, "Model name (see minigen info --models); none with --bug list");
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
