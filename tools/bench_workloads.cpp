// The workload group of `minigen bench`: one training step of each model of workloads.md,
// through the model's own train_step, on random data of the right shape and range
// (8 batches made up front and cycled, as tools/reference/torch_ref.py does), so the time
// is the step alone: forward, backward and optimizer work for every network it trains.
#include <fmt/format.h>

#include "core/data/toy2d.h"
#include "core/data/transforms.h"
#include "core/random.h"
#include "kernels/device.h"
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
    {"wgan-gp", "wgan-gp", R"({"n_critic": 1})", 30, 5,
     "n_critic 1: each step = one critic update (with penalty) + one G update"},
    {"cgan", "cgan", R"({"projection": false})", 40, 5,
     "projection off: D exactly as workloads.md (minigen train cgan adds the projection term)"},
    {"vae", "vae", "{}", 300, 20, ""},
    {"pixelcnn", "pixelcnn", "{}", 6, 2, ""},
    {"classifier", "classifier", "{}", 40, 5, ""},
};

constexpr int kPool = 8;  // batches kept in memory and cycled

const models::ModelInfo* registered(const std::string& name) {
    for (const models::ModelInfo& m : models::all_models())
        if (m.name == name) return &m;
    return nullptr;
}

// kPool batches as the trainer would hand them over: Fashion-MNIST-shaped uint8 images
// through the model's own pixel transform (and labels when it wants them), or points of
// its 2-D set.
std::vector<data::Batch> random_batches(const models::DataSpec& spec, int64_t batch) {
    std::vector<data::Batch> out(kPool);
    for (int i = 0; i < kPool; ++i) {
        data::Batch& b = out[size_t(i)];
        if (spec.source == models::DataSpec::Source::Toy2d) {
            b.images = data::make_toy2d(data::parse_toy2d(spec.toy2d), batch, uint64_t(100 + i)).points;
        } else {
            b.images = data::to_float(randint(0, 256, {batch, 1, 28, 28}, {DType::UInt8}), spec.range);
        }
        if (spec.labels) b.labels = randint(0, 10, {batch});
        b.index = i;
    }
    return out;
}

}  // namespace

void run_workload_group(const RunOptions& opt) {
    for (const WorkloadSpec& w : kWorkloads) {
        if (!opt.selected(w.name)) continue;
        Result r;
        r.kind = "model";
        r.name = w.name;
        r.threads = opt.threads;
        r.note = w.note;
        const models::ModelInfo* info = registered(w.model);
        if (!info) {
            r.note = fmt::format("model '{}' is not registered yet: skipped", w.model);
            opt.emit(std::move(r));
            continue;
        }
        opt.progress(fmt::format("{}: building the model", w.name));
        manual_seed(0);
        models::ModelConfig config;
        config.options = nlohmann::json::parse(w.options);
        config.device = opt.device;
        std::unique_ptr<models::Model> model = info->create(config);
        const models::DataSpec spec = model->data_spec();
        r.batch = model->batch_size();
        r.unit = spec.source == models::DataSpec::Source::Toy2d ? "samples" : "images";
        r.shape = fmt::format("batch {}", r.batch);
        std::vector<data::Batch> batches = random_batches(spec, r.batch);
        if (opt.device != Device::CPU) {  // in device memory up front, as the loader delivers them
            for (data::Batch& b : batches) {
                b.images = b.images.to(opt.device);
                if (b.labels.defined()) b.labels = b.labels.to(opt.device);
            }
            r.note += std::string(r.note.empty() ? "" : "; ") + "cuda";
        }

        opt.progress(fmt::format("{}: timing training steps", w.name));
        TimingOptions t;
        t.samples = opt.repeat > 0 ? opt.repeat : w.steps;
        t.warmup = w.warmup;
        t.max_warmup_s = 0;  // exactly torch_ref's warm-up steps
        size_t next = 0;
        r.timing = time_calls(
            [&] {
                model->train_step(batches[next++ % batches.size()]);
                if (opt.device != Device::CPU) kernels::cuda::synchronize("bench step");  // the step's kernels, done
            },
            t);
        r.timed = true;
        r.items_per_s = double(r.batch) / (r.timing.median_ms * 1e-3);
        opt.emit(std::move(r));
    }
}

}  // namespace mg::tools::bench
