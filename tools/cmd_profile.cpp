// minigen profile MODEL: where a training step's time goes, kernel by kernel, forward and
// backward, against the machine's roofline (tools/profile_report.h draws the outputs).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/data/fashion_mnist.h"
#include "core/data/loader.h"
#include "core/data/toy2d.h"
#include "core/data/transforms.h"
#include "core/io/temp_files.h"
#include "core/runtime.h"
#include "models/image_data.h"
#include "models/registry.h"
#include "tools/bench.h"
#include "tools/cli.h"
#include "tools/model_options.h"
#include "tools/profile_report.h"

namespace fs = std::filesystem;

namespace mg::tools {

namespace {

struct ProfileArgs {
    std::string model;
    CommonModelArgs common;
    int64_t steps = 5, warmup = 2, top = 15;
    bool json = false;
    std::string out;
};

// The model's training data through a loader on this thread (no worker), so that the
// batch's preparation is timed where it happens: the profile's "data loading".
std::unique_ptr<data::DataLoader> training_loader(const models::Model& model, const std::optional<std::string>& dir) {
    const models::DataSpec spec = model.data_spec();
    data::LoaderOptions lo;
    lo.batch_size = model.batch_size();
    lo.drop_last = true;
    lo.background = false;
    Tensor images, labels;
    if (spec.source == models::DataSpec::Source::Toy2d) {
        images = data::make_toy2d(data::parse_toy2d(spec.toy2d), spec.toy2d_size, 0).points;
    } else {
        lo.transform = data::transforms::to_float(spec.range);  // the trainer's, without augmentation
        if (spec.source == models::DataSpec::Source::Images) {
            models::ImageData d = models::load_image_data(spec);
            images = d.images, labels = d.labels;
        } else {
            data::Dataset ds = data::load_fashion_mnist(data::Split::Train, dir);
            images = ds.images, labels = ds.labels;
        }
    }
    if (!spec.labels) labels = Tensor();
    auto loader = std::make_unique<data::DataLoader>(images, labels, lo);
    MG_CHECK(loader->batches_per_epoch() > 0, "profile: batch size {} is larger than the data set ({} examples)",
             lo.batch_size, loader->size());
    return loader;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

data::Batch next_batch(data::DataLoader& loader) {
    std::optional<data::Batch> b = loader.next();
    if (!b) b = loader.next();  // the next epoch
    return std::move(*b);
}

void run_profile(const ProfileArgs& a) {
    apply_threads(a.common.threads);
    MG_CHECK(a.common.device == "cpu", "--device {}: the profiler times CPU kernels only", a.common.device);
    const models::ModelInfo& info = models::find_model(a.model);
    check_model_takes_data(info, a.common);
    const models::ModelConfig config = make_model_config(a.common);
    std::unique_ptr<models::Model> model = info.create(config);
    std::unique_ptr<data::DataLoader> loader = training_loader(*model, a.common.data_dir);
    const auto step = [&] { model->train_step(next_batch(*loader)); };

    std::fprintf(stderr, "profile: %s, %lld warm-up steps\n", a.model.c_str(), (long long)a.warmup);
    for (int64_t i = 0; i < a.warmup; ++i) step();
    // Each profiled step follows an unprofiled one, so that both see the same machine load:
    // their medians say what the recorder itself costs.
    std::fprintf(stderr, "profile: %lld profiled steps (and as many without the profiler)\n", (long long)a.steps);
    std::vector<double> plain, profiled;
    kernels::profile::Summary summary;
    {
        kernels::profile::Session session;
        for (int64_t i = 0; i < a.steps; ++i) {
            double t0 = bench::now_seconds();
            step();
            plain.push_back(bench::now_seconds() - t0);
            t0 = bench::now_seconds();
            session.begin_step();
            data::Batch batch;
            {
                kernels::profile::Scope loading(kernels::profile::Region::Data, "data loading");
                batch = next_batch(*loader);
            }
            model->train_step(batch);
            session.end_step();
            profiled.push_back(bench::now_seconds() - t0);
        }
        summary = session.summary();
    }
    std::fprintf(stderr, "profile: measuring the machine's peaks (tools/bench_peaks.cpp)\n");
    const bench::Peaks peaks = bench::measure_peaks(num_threads());

    ProfileReport report = make_profile_report(summary, peaks, int(a.top));
    report.model = a.model;
    report.batch = model->batch_size();
    report.warmup = int(a.warmup);
    report.unprofiled_median_s = median(plain);
    report.profiled_median_s = median(profiled);
    const std::string json = profile_json(report).dump(1) + "\n";
    if (!a.out.empty()) {
        fs::create_directories(a.out);
        io::write_file_atomically((fs::path(a.out) / "profile.json").string(), json);
        const std::string png = (fs::path(a.out) / "roofline.png").string();
        draw_roofline(report, png);
        std::fprintf(stderr, "profile: %s/profile.json and %s\n", a.out.c_str(), png.c_str());
    }
    if (a.json) std::fputs(json.c_str(), stdout);
    else std::fputs(profile_table(report).c_str(), stdout);
}

}  // namespace

void add_profile_command(CLI::App& app) {
    auto a = std::make_shared<ProfileArgs>();
    CLI::App* cmd = app.add_subcommand(
        "profile",
        "Where a training step's time goes: every kernel call, forward and backward, by autograd node and by "
        "kernel variant, with FLOPs, bytes and the machine's roofline (docs/profiling.md)");
    cmd->add_option("model", a->model, "Model to profile (see minigen info)")->required();
    add_common_model_args(*cmd, a->common);
    cmd->add_option("--steps", a->steps, "Profiled training steps (default 5)")->check(integer_range(1, 100000));
    cmd->add_option("--warmup", a->warmup, "Untimed steps first (default 2)")->check(integer_range(0, 100000));
    cmd->add_option("--top", a->top, "Rows of each table before the 'other' line (default 15)")
        ->check(integer_range(1, 1000));
    cmd->add_flag("--json", a->json, "Print the profile as JSON on stdout instead of the table");
    cmd->add_option("--out", a->out, "Directory for profile.json and roofline.png (gnuplot)");
    cmd->callback([a] { run_profile(*a); });
}

}  // namespace mg::tools
