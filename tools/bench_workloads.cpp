// The workload group of `minigen bench`: one training step of each model of workloads.md,
// through the model's own train_step, on random data of the right shape and range
// (8 batches made up front and cycled, as tools/reference/torch_ref.py does), so the time
// is the step alone: forward, backward and optimizer work for every network it trains.
#include <fmt/format.h>

#include <map>

#include "core/data/loader.h"
#include "core/data/toy2d.h"
#include "core/data/transforms.h"
#include "core/random.h"
#include "kernels/device.h"
#include "models/paired_data.h"
#include "models/registry.h"
#include "tools/bench.h"

namespace mg::tools::bench {

namespace {

// One line per workload. options: the model's JSON options that make one train_step equal
// one workloads.md step; steps / warmup as torch_ref.py's MODEL_STEPS.
struct WorkloadSpec {
    const char* name;
    const char* model;
    const char* options;
    int steps, warmup;
    const char* note;
};

const WorkloadSpec kWorkloads[] = {
    {"gan2d", "gan2d-vanilla", "{}", 300, 20,
     "plain training as in workloads.md (minigen train gan2d adds PacGAN, R1 and an EMA generator)"},
    {"dcgan", "dcgan", "{}", 40, 5, ""},
    {"dcgan-rgb32", "dcgan", R"({"data": "npy:random", "image_size": 32, "channels": 3})", 10, 2,
     "32x32 RGB images (e.g. --data folder:DIR --image-size 32): 4w at 4x4, 3 blocks"},
    {"dcgan-rgb64", "dcgan", R"({"data": "npy:random", "image_size": 64, "channels": 3})", 5, 1,
     "64x64 RGB images (--data folder:DIR): 8w at 4x4, 4 blocks"},
    {"wgan-gp", "wgan-gp", R"({"n_critic": 1})", 30, 5,
     "n_critic 1: each step = one critic update (with penalty) + one G update"},
    {"cgan", "cgan", R"({"projection": false})", 40, 5,
     "projection off: D exactly as workloads.md (minigen train cgan adds the projection term)"},
    {"vae", "vae", "{}", 300, 20, ""},
    {"pixelcnn", "pixelcnn", "{}", 6, 2, ""},
    {"row-lstm", "row-lstm", "{}", 6, 2, "PixelRNN's Row LSTM: 2 layers, h = 32, width 32"},
    {"imagegpt", "imagegpt", "{}", 4, 1, "ImageGPT-small: 784 tokens, 4 pre-LN blocks of d 64, 4 heads, batch 64"},
    {"diagonal-bilstm", "diagonal-bilstm", "{}", 6, 2,
     "PixelRNN's Diagonal BiLSTM: 1 layer, h = 16 per direction, width 32"},
    {"classifier", "classifier", "{}", 40, 5, ""},
    {"pix2pix", "pix2pix", R"({"data": "emoji-pair:google,twitter"})", 5, 1,
     "emoji google -> twitter at 64x64: U-Net (6 levels, width 64) + 34x34 PatchGAN, inputs and targets stacked"},
    {"progan", "progan", R"({"start_resolution": 64})", 5, 1,
     "64x64 RGB at the final level (start_resolution 64): width 64 (16 channels at 64x64), WGAN-GP + drift"},
};

// The loader's share of a step: one batch prepared as the trainer's loader prepares it
// (gathered from uint8 images in memory, then the transform of --crop 4 --hflip --jitter
// 0.2,0.2,0.2,0.05, on the loader's one worker thread), beside the step it feeds.
struct LoaderSpec {
    const char* name;
    const char* step;  // the workload whose step it is compared with
    int64_t batch, channels, size;
    data::AugmentOptions augment;
};

const LoaderSpec kLoaders[] = {
    {"loader-rgb64", "dcgan-rgb64", 64, 3, 64, {.crop = 4, .hflip = true, .jitter = {0.2, 0.2, 0.2, 0.05}}},
};

constexpr int kPool = 8;  // batches kept in memory and cycled

const models::ModelInfo* registered(const std::string& name) {
    for (const models::ModelInfo& m : models::all_models())
        if (m.name == name) return &m;
    return nullptr;
}

// kPool batches as the trainer would hand them over: uint8 images of the model's data
// (Fashion-MNIST's 1x28x28 unless it names another size) through the model's own pixel
// transform (and labels when it wants them), or points of its 2-D set.
std::vector<data::Batch> random_batches(const models::DataSpec& spec, int64_t batch) {
    std::vector<data::Batch> out(kPool);
    for (int i = 0; i < kPool; ++i) {
        data::Batch& b = out[size_t(i)];
        if (spec.source == models::DataSpec::Source::Toy2d) {
            b.images = data::make_toy2d(data::parse_toy2d(spec.toy2d), batch, uint64_t(100 + i)).points;
        } else {
            const bool images = spec.source == models::DataSpec::Source::Images;
            // Paired data (pix2pix) stacks the input's channels before the target's.
            const int64_t input_c = images && models::is_paired_data_spec(spec.images)
                                        ? models::paired_input_channels(spec.images, spec.channels) : 0;
            const int64_t c = images ? input_c + spec.channels : 1, size = images ? spec.image_size : 28;
            b.images = data::to_float(randint(0, 256, {batch, c, size, size}, {DType::UInt8}), spec.range);
        }
        if (spec.labels) b.labels = randint(0, 10, {batch});
        b.index = i;
    }
    return out;
}

}  // namespace

WorkloadSteps prepare_workload(const std::string& name, const RunOptions& opt, Result& row) {
    const WorkloadSpec* w = nullptr;
    for (const WorkloadSpec& spec : kWorkloads)
        if (name == spec.name) w = &spec;
    MG_CHECK(w, "bench: no workload named '{}'", name);
    row.name = w->name;
    row.threads = opt.threads;
    row.note = w->note;
    const models::ModelInfo* info = registered(w->model);
    if (!info) {
        row.note = fmt::format("model '{}' is not registered yet: skipped", w->model);
        return {};
    }
    opt.progress(fmt::format("{}: building the model", w->name));
    manual_seed(0);
    models::ModelConfig config;
    config.options = nlohmann::json::parse(w->options);
    config.device = opt.device;
    std::shared_ptr<models::Model> model = info->create(config);
    const models::DataSpec spec = model->data_spec();
    row.batch = model->batch_size();
    row.unit = spec.source == models::DataSpec::Source::Toy2d ? "samples" : "images";
    row.shape = spec.source == models::DataSpec::Source::Images
                    ? fmt::format("batch {}, {}x{}x{}", row.batch, spec.channels, spec.image_size, spec.image_size)
                    : fmt::format("batch {}", row.batch);
    auto batches = std::make_shared<std::vector<data::Batch>>(random_batches(spec, row.batch));
    const Device device = opt.device;
    if (device != Device::CPU) {  // in device memory up front, as the loader delivers them
        for (data::Batch& b : *batches) {
            b.images = b.images.to(device);
            if (b.labels.defined()) b.labels = b.labels.to(device);
        }
        row.note += std::string(row.note.empty() ? "" : "; ") + "cuda";
    }
    WorkloadSteps out;
    out.steps = w->steps;
    out.warmup = w->warmup;
    out.step = [model, batches, device, next = size_t(0)]() mutable {
        model->train_step((*batches)[next++ % batches->size()]);
        if (device != Device::CPU) kernels::cuda::synchronize("bench step");  // the step's kernels, done
    };
    return out;
}

namespace {

// One row per loader spec: the median time of a batch, and its share of the step's median.
void run_loader_rows(const RunOptions& opt, const std::map<std::string, double>& step_ms) {
    for (const LoaderSpec& l : kLoaders) {
        if (!opt.selected(l.name)) continue;
        opt.progress(fmt::format("{}: timing batch preparation", l.name));
        Result r;
        r.kind = "model";
        r.name = l.name;
        r.threads = opt.threads;  // the run's setting; the preparation itself is one thread
        r.batch = l.batch;
        r.unit = "images";
        r.shape = fmt::format("batch {}, {}x{}x{}", l.batch, l.channels, l.size, l.size);
        manual_seed(0);
        data::LoaderOptions lo;
        lo.batch_size = l.batch;
        lo.drop_last = true;
        lo.background = false;  // timed on this thread, as the worker would run it
        lo.transform = data::transforms::augment(l.augment);
        lo.device = opt.device;
        data::DataLoader loader(randint(0, 256, {kPool * l.batch, l.channels, l.size, l.size}, {DType::UInt8}),
                                Tensor(), lo);
        TimingOptions t;
        t.samples = opt.repeat > 0 ? opt.repeat : 30;
        t.warmup = 2;
        r.timing = time_calls(
            [&] {
                if (!loader.next()) loader.next();  // past an epoch's end: the next epoch's first batch
            },
            t);
        r.timed = true;
        r.items_per_s = double(r.batch) / (r.timing.median_ms * 1e-3);
        r.note = fmt::format("crop {} (reflect), hflip, jitter {},{},{},{}, to_float; 1 thread (the loader's worker)",
                             l.augment.crop, l.augment.jitter.brightness, l.augment.jitter.contrast,
                             l.augment.jitter.saturation, l.augment.jitter.hue);
        if (auto it = step_ms.find(l.step); it != step_ms.end())
            r.note += fmt::format("; {:.1f}% of a {} step", 100.0 * r.timing.median_ms / it->second, l.step);
        opt.emit(std::move(r));
    }
}

}  // namespace

void run_workload_group(const RunOptions& opt) {
    std::map<std::string, double> step_ms;  // the median step of each workload timed
    for (const WorkloadSpec& w : kWorkloads) {
        if (!opt.selected(w.name)) continue;
        Result r;
        r.kind = "model";
        WorkloadSteps steps = prepare_workload(w.name, opt, r);
        if (!steps.step) {
            opt.emit(std::move(r));
            continue;
        }
        opt.progress(fmt::format("{}: timing training steps", w.name));
        TimingOptions t;
        t.samples = opt.repeat > 0 ? opt.repeat : steps.steps;
        t.warmup = steps.warmup;
        t.max_warmup_s = 0;  // exactly torch_ref's warm-up steps
        t.cpu_time = opt.cpu_time;
        r.timing = time_calls(steps.step, t);
        r.timed = true;
        r.items_per_s = double(r.batch) / (r.timing.median_ms * 1e-3);
        step_ms[w.name] = r.timing.median_ms;
        opt.emit(std::move(r));
    }
    run_loader_rows(opt, step_ms);
}

}  // namespace mg::tools::bench
