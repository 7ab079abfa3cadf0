#include "models/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <charconv>
#include <cmath>
#include <set>

#include "core/autograd.h"
#include "core/data/fashion_mnist.h"
#include "core/data/toy2d.h"
#include "core/io/checkpoint.h"
#include "core/io/image.h"
#include "core/io/input.h"
#include "core/random.h"
#include "core/runtime.h"
#include "models/capabilities.h"
#include "models/data_parallel.h"
#include "models/image_data.h"
#include "models/plot2d.h"
#include "models/progress.h"
#include "models/quantize/quantized_checkpoint.h"
#include "models/registry.h"
#include "models/run_dir.h"

namespace fs = std::filesystem;

namespace mg::models {

namespace {

// ---- signals: finish the step, save, return -------------------------------------------
// SIGINT (Ctrl-C), SIGTERM (kill, timeout, batch schedulers) and SIGHUP (a closed
// terminal) all ask for the same clean stop. A second signal ends the process the
// default way, for a run that does not stop soon enough.
std::atomic<int> g_signal{0};
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void on_stop_signal(int sig) {
    int none = 0;
    if (!g_signal.compare_exchange_strong(none, sig)) {
        std::signal(sig, SIG_DFL);
        std::raise(sig);
    }
}

bool stop_requested() { return g_signal.load() != 0; }

struct StopSignalScope {
    struct sigaction previous[3];
    StopSignalScope() {
        g_signal.store(0);
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &sa, &previous[i]);
    }
    ~StopSignalScope() {
        for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &previous[i], nullptr);
    }
};

// ---- non-finite values ----------------------------------------------------------------
// The index of the first NaN/Inf element of a floating tensor; -1 if none or not floating.
int64_t first_nonfinite(const Tensor& t) {
    if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64) return -1;
    Tensor c = t.to(Device::CPU).contiguous();
    const int64_t n = c.numel();
    if (c.dtype() == DType::Float32) {
        const float* p = c.data<float>();
        for (int64_t i = 0; i < n; ++i)
            if (!std::isfinite(p[i])) return i;
    } else {
        const double* p = c.data<double>();
        for (int64_t i = 0; i < n; ++i)
            if (!std::isfinite(p[i])) return i;
    }
    return -1;
}

// "'G.fc.weight' (nan at element 12 of 256)"
std::string describe_nonfinite(const std::string& name, const Tensor& t, int64_t at) {
    Tensor c = t.to(Device::CPU).contiguous();
    double v = c.dtype() == DType::Float32 ? double(c.data<float>()[at]) : c.data<double>()[at];
    return fmt::format("'{}' ({} at element {} of {})", name, v, at, t.numel());
}

// The first scalar of a step that is NaN/Inf ("'loss_d' = nan"), or empty.
std::string nonfinite_metric(const Metrics& m) {
    for (const auto& [k, v] : m)
        if (!std::isfinite(v)) return fmt::format("'{}' = {}", k, v);
    return {};
}

// ---- data ----------------------------------------------------------------------------
struct TrainingData {
    Tensor images, labels;
};

TrainingData load_data(const DataSpec& spec, const std::optional<std::string>& dir, uint64_t seed) {
    if (spec.source == DataSpec::Source::Toy2d) {
        data::Toy2dSet set = data::make_toy2d(data::parse_toy2d(spec.toy2d), spec.toy2d_size, seed);
        return {set.points, Tensor()};
    }
    if (spec.source == DataSpec::Source::Images) {
        ImageData d = load_image_data(spec);
        return {d.images, spec.labels ? d.labels : Tensor()};
    }
    data::Dataset ds = data::load_fashion_mnist(data::Split::Train, dir);
    return {ds.images, spec.labels ? ds.labels : Tensor()};
}

data::Transform transform_for(const DataSpec& spec) {
    if (spec.source == DataSpec::Source::Toy2d) return {};  // points are float already
    if (!spec.hflip && spec.crop == 0 && !spec.jitter.any()) return data::transforms::to_float(spec.range);
    // One pass per image; with only hflip, the bytes of hflip then to_float.
    return data::transforms::augment({.crop = spec.crop, .hflip = spec.hflip, .jitter = spec.jitter, .range = spec.range});
}

// ---- metrics --------------------------------------------------------------------------
std::string brief(const Metrics& m) {
    // The progress line shows the losses and D's outputs, not every gradient norm.
    std::string s;
    int shown = 0;
    for (const auto& [k, v] : m) {
        if (k.find('/') != std::string::npos || shown == 4) continue;
        s += fmt::format("{}{} {:.4g}", s.empty() ? "" : "  ", k, v);
        ++shown;
    }
    return s;
}

std::string sample_path(const std::string& dir, int64_t step) {
    return fmt::format("{}/samples/step_{:07d}.png", dir, step);
}

io::TensorMap prefixed(const std::string& prefix, const nn::StateDict& sd) {
    io::TensorMap out;
    for (const auto& [k, v] : sd) out[prefix + "." + k] = v;
    return out;
}
io::TensorMap prefixed(const std::string& prefix, const optim::StateDict& sd) {
    io::TensorMap out;
    for (const auto& [k, v] : sd) out[prefix + "." + k] = v;
    return out;
}
// The entries of `all` under "prefix.", with the prefix removed.
template <class Map> Map strip(const io::TensorMap& all, const std::string& prefix) {
    Map out;
    const std::string p = prefix + ".";
    for (const auto& [k, v] : all)
        if (k.compare(0, p.size(), p) == 0) {
            if constexpr (std::is_same_v<Map, nn::StateDict>) out.insert(k.substr(p.size()), v);
            else out[k.substr(p.size())] = v;
        }
    return out;
}

}  // namespace

std::string checkpoint_path(const std::string& run_dir) { return run_dir + "/checkpoint.safetensors"; }

void save_model_checkpoint(Model& model, const std::string& path, int64_t step, int64_t epoch, int64_t batch) {
    io::Checkpoint ck;
    for (auto& [name, module] : model.modules()) {
        io::TensorMap m = prefixed(name, module->state_dict());
        ck.model.insert(m.begin(), m.end());
    }
    for (auto& [name, opt] : model.optimizers()) {
        io::TensorMap m = prefixed(name, opt->state_dict());
        ck.optimizer.insert(m.begin(), m.end());
    }
    ck.step = step;
    ck.rng = default_generator().state();
    ck.metadata["model_name"] = model.name();
    ck.metadata["config"] = model.config().dump();
    ck.metadata["epoch"] = std::to_string(epoch);
    ck.metadata["batch"] = std::to_string(batch);
    ck.metadata["world_size"] = std::to_string(dist::world().size());  // epoch and batch count its global batches
    if (synced_batch_norm(model)) ck.metadata["sync_bn"] = "true";
    io::save_checkpoint(path, ck);
}

namespace {

// An integer metadata field of the checkpoint ("epoch", "batch"), 0 when absent.
int64_t metadata_integer(const io::Checkpoint& ck, const std::string& path, const std::string& key) {
    auto it = ck.metadata.find(key);
    if (it == ck.metadata.end()) return 0;
    int64_t v = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    MG_CHECK(ec == std::errc() && end == text.data() + text.size() && v >= 0,
             "{}: metadata '{}' must be a non-negative integer, got {}", path, key, io::quote_short(text));
    return v;
}

// The checkpoint's "config" metadata: the model's config() when it was saved.
nlohmann::json checkpoint_config(const io::Checkpoint& ck, const std::string& path) {
    auto it = ck.metadata.find("config");
    MG_CHECK(it != ck.metadata.end(), "{}: no 'config' metadata (not a minigen training checkpoint)", path);
    nlohmann::json j = io::parse_json(it->second, fmt::format("{}: metadata 'config'", path));
    MG_CHECK(j.is_object(), "{}: metadata 'config' must be a JSON object, got {}", path, io::quote_short(it->second));
    return j;
}

// Puts a loaded checkpoint into the model: see load_model_checkpoint.
Position apply_checkpoint(Model& model, const io::Checkpoint& ck, const std::string& path, bool with_optimizers,
                          bool allow_nonfinite) {
    auto name = ck.metadata.find("model_name");
    MG_CHECK(name != ck.metadata.end() && name->second == model.name(),
             "{}: a checkpoint of model '{}', not '{}'", path,
             name == ck.metadata.end() ? std::string("?") : name->second, model.name());
    Position pos;
    pos.step = ck.step;
    pos.epoch = metadata_integer(ck, path, "epoch");
    pos.batch = metadata_integer(ck, path, "batch");
    if (!allow_nonfinite) {
        auto check = [&](const io::TensorMap& tensors, const char* prefix) {
            for (const auto& [k, v] : tensors)
                if (int64_t at = first_nonfinite(v); at >= 0)
                    MG_FAIL("{}: tensor {} holds NaN/Inf; pass --allow-nonfinite to use it anyway", path,
                            describe_nonfinite(std::string(prefix) + k, v, at));
        };
        check(ck.model, "model.");
        if (with_optimizers) check(ck.optimizer, "optim.");
    }
    // Validate every network before changing any.
    std::vector<std::pair<nn::Module*, nn::StateDict>> module_states;
    std::set<std::string> claimed;
    for (auto& [prefix, module] : model.modules()) {
        nn::StateDict sd = strip<nn::StateDict>(ck.model, prefix);
        MG_CHECK(!sd.empty(), "{}: no tensors for network '{}' (expected entries 'model.{}.*')", path, prefix, prefix);
        for (const auto& k : sd.keys()) claimed.insert(prefix + "." + k);
        module_states.emplace_back(module, std::move(sd));
    }
    for (const auto& [k, v] : ck.model)
        MG_CHECK(claimed.count(k), "{}: tensor 'model.{}' belongs to no network of '{}'", path, k, model.name());
    for (auto& [module, sd] : module_states) {
        nn::StateDict current = module->state_dict();
        for (const auto& [k, v] : current) {
            const Tensor* t = sd.find(k);
            MG_CHECK(t != nullptr, "{}: missing tensor 'model.{}'", path, k);
            MG_CHECK(t->shape() == v.shape() && t->dtype() == v.dtype(),
                     "{}: tensor '{}' is {} {}, the model has {} {}", path, k, t->dtype(), t->shape(), v.dtype(),
                     v.shape());
        }
        MG_CHECK(sd.size() == current.size(), "{}: {} tensors for a network of {}", path, sd.size(), current.size());
    }
    // An int8 checkpoint (models/quantize): checked here, its int8 layers put on after the weights.
    const quantize::MatchedLayers int8_layers = quantize::match_quantized_layers(model, ck, path);
    MG_CHECK(int8_layers.empty() || !with_optimizers,
             "{}: an int8 (quantized) checkpoint is for sampling, evaluation and export; it cannot resume training",
             path);
    for (auto& [module, sd] : module_states) module->load_state_dict(sd);
    quantize::install_int8(int8_layers);
    if (with_optimizers)
        for (auto& [prefix, opt] : model.optimizers()) {
            optim::StateDict sd = strip<optim::StateDict>(ck.optimizer, prefix);
            if (sd.empty()) continue;
            try {
                opt->load_state_dict(sd);
            } catch (const Error& e) {
                MG_FAIL("{}: the state of optimizer '{}' (tensors 'optim.{}.*') does not fit: {}", path, prefix,
                        prefix, e.what());
            }
        }
    default_generator().set_state(ck.rng);
    return pos;
}

}  // namespace

Position load_model_checkpoint(Model& model, const std::string& path, bool with_optimizers, bool allow_nonfinite) {
    return apply_checkpoint(model, io::load_checkpoint(path), path, with_optimizers, allow_nonfinite);
}

std::string nonfinite_parameter(Model& model) {
    for (auto& [prefix, module] : model.modules())
        for (const auto& [k, v] : module->state_dict())
            if (int64_t at = first_nonfinite(v); at >= 0) return describe_nonfinite(prefix + "." + k, v, at);
    return {};
}

void write_samples(Model& model, const Tensor& samples, const std::string& path, int64_t nrow) {
    if (samples.dim() == 2) {  // 2-D points
        plot2d::write_scatter(path, samples, Tensor());
        return;
    }
    io::GridOptions grid;
    grid.nrow = nrow;
    grid.scale = 2;
    grid.lo = model.data_spec().range == data::PixelRange::MinusOneOne ? -1.0 : 0.0;
    grid.hi = 1.0;
    io::write_png_grid(path, samples, grid);
}

namespace {

// "batch_size 128 -> 32, lr 0.0002 -> 0.001"
std::string describe_changes(const nlohmann::json& changes) {
    std::string s;
    for (const auto& [k, v] : changes.items())
        s += fmt::format("{}{} {} -> {}", s.empty() ? "" : ", ", k, v["from"].dump(), v["to"].dump());
    return s;
}

// Loads the run's checkpoint into the model and the loader after checking that this
// resume agrees with it (settings, a total beyond its step); returns its step and fills
// the entry for config.json's history.
// A checkpoint written before an option existed does not record it: it trained with the
// option's default, which is what a model of its name records when built without options.
nlohmann::json with_defaults_of_newer_options(nlohmann::json recorded, const Model& model) {
    const nlohmann::json now = model.config();
    bool missing = false;
    for (const auto& [k, v] : now.items()) missing = missing || !recorded.contains(k);
    if (!missing) return recorded;
    const GeneratorState rng = default_generator().state();  // building a model seeds the generator
    const nlohmann::json defaults = find_model(model.name()).create(ModelConfig{})->config();
    default_generator().set_state(rng);
    for (const auto& [k, v] : defaults.items())
        if (!recorded.contains(k)) recorded[k] = v;
    return recorded;
}

// A resume at another world size (mpirun -np): the loader's position and the random streams
// are global, so the run continues where it stopped when the global batch (batch_size x
// ranks) is the same, whatever each rank's share; a different global batch is a change.
// Bounds on a checkpoint's claims, so that their product cannot overflow.
constexpr int64_t kMaxWorldSize = int64_t(1) << 20, kMaxBatchClaim = int64_t(1) << 30;

void reconcile_world_size(nlohmann::json& changes, const nlohmann::json& saved_config, int64_t saved_world,
                          int64_t batch, int64_t world) {
    const auto saved = saved_config.find("batch_size");
    const int64_t saved_batch = saved == saved_config.end() ? batch : saved->is_number_integer() ? saved->get<int64_t>() : 0;
    if (saved_batch <= 0 || saved_batch > kMaxBatchClaim) return;  // not a batch size: changed_settings reported it
    changes.erase("batch_size");
    const int64_t saved_global = saved_batch * saved_world, global = batch * world;
    if (saved_global != global)
        changes["global_batch"] = {{"from", fmt::format("{} ({} x {})", saved_global, saved_world, saved_batch)},
                                   {"to", fmt::format("{} ({} x {})", global, world, batch)}};
}

int64_t resume(Model& model, const TrainOptions& opt, int64_t total, data::DataLoader& loader,
               nlohmann::json* history_entry) {
    const std::string ckpt = checkpoint_path(opt.out_dir);
    io::Checkpoint ck = io::load_checkpoint(ckpt);
    const nlohmann::json saved_config = with_defaults_of_newer_options(checkpoint_config(ck, ckpt), model);
    nlohmann::json changes = run_dir::changed_settings(saved_config, model.config());
    const int64_t saved_world = std::max<int64_t>(metadata_integer(ck, ckpt, "world_size"), 1);
    MG_CHECK(saved_world <= kMaxWorldSize, "{}: metadata 'world_size' is {}, more than {} processes", ckpt,
             saved_world, kMaxWorldSize);
    const int64_t world = dist::world().size();
    if (saved_world != world) reconcile_world_size(changes, saved_config, saved_world, model.batch_size(), world);
    MG_CHECK(changes.empty() || opt.allow_changes,
             "train --resume: {} was trained with other settings: {}; pass --allow-changes to resume with them", ckpt,
             describe_changes(changes));
    MG_CHECK(total > ck.step,
             "train --resume: {} is at step {}, so a run of {} steps has nothing left to train (give --steps above {})",
             ckpt, ck.step, total, ck.step);
    Position pos = apply_checkpoint(model, ck, ckpt, /*with_optimizers=*/true, opt.allow_nonfinite);
    model.set_step(pos.step);
    const int64_t per_epoch = loader.batches_per_epoch();
    if (pos.batch > per_epoch && opt.allow_changes) pos = {pos.step, pos.epoch + 1, 0};  // a new batch size
    try {
        loader.seek(pos.epoch, pos.batch);
    } catch (const Error& e) {
        MG_FAIL("{}: metadata 'epoch' {} and 'batch' {} do not fit this data: {}", ckpt, pos.epoch, pos.batch,
                e.what());
    }
    *history_entry = {{"command", opt.command}, {"time", run_dir::utc_now()}, {"start_step", pos.step},
                      {"steps", total},         {"changed", changes}};
    if (saved_world != world) (*history_entry)["world_size"] = {{"from", saved_world}, {"to", world}};
    std::fprintf(stderr, "resumed %s at step %lld (epoch %lld, batch %lld)%s\n", ckpt.c_str(), (long long)pos.step,
                 (long long)pos.epoch, (long long)pos.batch,
                 changes.empty() ? "" : (" with changes: " + describe_changes(changes)).c_str());
    return pos.step;
}

// The work at a sample point: the grid, the model's visuals, its evaluate() and the
// caller's evaluator, each shown as a phase of its own. A stop signal cuts short what
// reports its progress (the autoregressive samplers); the checkpoint is written after.
// Returns the measures (with image samples, their checkerboard energy for the monitors).
Metrics run_sample_point(Model& model, const TrainOptions& opt, int64_t step, double now, int64_t per_epoch,
                         std::ofstream& metrics, TrainSummary& summary) {
    autograd::NoGradGuard no_grad;
    auto cancel = [] { MG_CHECK(!stop_requested(), "stopped by a signal"); };
    Metrics quality, watched;  // watched: for the monitors only (not in the summary's quality)
    {
        Phase phase(fmt::format("step {}: sample grid of {}", step, opt.sample_count), "px", cancel);
        if (auto* sampler = as<Sampler>(model)) {  // the classifier has nothing to draw
            Tensor samples = sampler->sample(opt.sample_count);
            summary.samples = sample_path(opt.out_dir, step);
            const auto nrow = int64_t(std::ceil(std::sqrt(double(opt.sample_count))));
            write_samples(model, samples, summary.samples, nrow);
            if (samples.dim() == 4 && samples.size(2) >= 2 && samples.size(3) >= 2)
                watched.emplace_back("checkerboard", checkerboard_energy(samples));
        }
        if (auto* visuals = as<TrainingVisuals>(model)) visuals->write_visuals(opt.out_dir + "/samples", step);
    }
    {
        Phase phase(fmt::format("step {}: evaluation", step), "px", cancel);
        if (auto* measures = as<SampleQuality>(model)) quality = measures->evaluate();
        if (opt.evaluator) {
            Metrics more = opt.evaluator(model);
            quality.insert(quality.end(), more.begin(), more.end());
        }
    }
    if (!quality.empty()) summary.quality = quality;
    quality.insert(quality.end(), watched.begin(), watched.end());
    if (!quality.empty()) {
        nlohmann::json line = {{"step", step}, {"epoch", double(step) / double(per_epoch)}, {"time_s", now}};
        for (const auto& [k, v] : quality) line[k] = v;
        metrics << line.dump() << "\n";
        metrics.flush();
    }
    return quality;
}

// A monitor that fired: on stderr, in metrics.jsonl and in the summary.
void report_health(const HealthEvent& e, std::ofstream& metrics, TrainSummary& summary) {
    std::fprintf(stderr, "\nhealth: step %lld: %s: %s\n", (long long)e.step, e.monitor.c_str(), e.message.c_str());
    metrics << nlohmann::json{{"step", e.step}, {"health", {{"monitor", e.monitor}, {"message", e.message}}}}.dump()
            << "\n";
    metrics.flush();
    summary.health.push_back(e);
}

}  // namespace

TrainSummary train(Model& model, const TrainOptions& opt) {
    MG_CHECK(!opt.out_dir.empty(), "train: no output directory");
    MG_CHECK(!(opt.resume && opt.overwrite),
             "train: --resume and --overwrite contradict each other: continue the run in '{}', or replace it",
             opt.out_dir);
    MG_CHECK(opt.sample_count >= 1, "train: the sample grid needs at least 1 image, got {}", opt.sample_count);
    // Several ranks (mpirun): rank 0 alone checks and writes the run directory.
    DataParallel dp(model, dist::world(), opt.data_parallel);
    if (dp.root())
        run_dir::check_can_start(opt.out_dir, opt.resume      ? run_dir::Start::Resume
                                          : opt.overwrite ? run_dir::Start::Overwrite
                                                          : run_dir::Start::Fresh);
    const std::string ckpt = checkpoint_path(opt.out_dir);
    MG_CHECK(!opt.resume || fs::exists(ckpt), "train: --resume, but {} does not exist", ckpt);

    // ---- everything that can fail on bad input, before the run directory is touched
    const DataSpec spec = model.data_spec();
    const int64_t batch = model.batch_size();
    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.shuffle = true;
    lo.drop_last = true;
    lo.seed = model.config().value("seed", uint64_t(0));
    lo.transform = transform_for(spec);
    lo.device = opt.device;
    lo.rank = dp.rank();
    lo.world = dp.size();
    TrainingData td = load_data(spec, opt.data_dir, lo.seed);
    data::DataLoader loader(td.images, td.labels, lo);

    const int64_t per_epoch = loader.batches_per_epoch();
    MG_CHECK(per_epoch > 0, "train: batch size {} is larger than the dataset ({} examples)", batch, loader.size());
    const int64_t total = opt.steps > 0 ? opt.steps : std::max<int64_t>(opt.epochs, 1) * per_epoch;
    const int64_t sample_every = opt.sample_every > 0 ? opt.sample_every : std::max<int64_t>(total / 8, 1);
    const int64_t checkpoint_every = opt.checkpoint_every > 0 ? opt.checkpoint_every : std::max<int64_t>(total / 4, 1);

    int64_t step = 0;
    nlohmann::json resume_entry;
    dp.check_same_run({{"model", model.name()}, {"config", model.config()}, {"batch", batch}, {"steps", total},
                       {"resume", opt.resume}, {"deterministic", dist::world().deterministic()},
                       {"sync_bn", opt.data_parallel.sync_batch_norm}, {"overlap", opt.data_parallel.overlap},
                       {"bucket_bytes", opt.data_parallel.bucket_bytes}, {"zero", opt.data_parallel.zero}});
    if (opt.resume) step = resume(model, opt, total, loader, &resume_entry);
    dp.broadcast_parameters();

    // ---- the new run is valid: from here on its directory is written (by rank 0; the
    // others' metrics stream stays closed, so what they would log goes nowhere)
    std::ofstream metrics;
    if (dp.root()) {
        if (opt.overwrite) run_dir::remove_run_files(opt.out_dir);
        for (const std::string& p : run_dir::prepare(opt.out_dir))
            std::fprintf(stderr, "removed %s (left by a process that was killed while writing)\n", p.c_str());
        {
            nlohmann::json run = opt.run_info;
            run["command"] = opt.command;
            if (dp.distributed())
                run["distributed"] = {{"world_size", dp.size()}, {"backend", dist::world().backend()},
                                      {"deterministic", dist::world().deterministic()},
                                      {"sync_bn", opt.data_parallel.sync_batch_norm},
                                      {"global_batch", batch * dp.size()}};
            nlohmann::json cfg = {{"model", model.name()}, {"config", model.config()}, {"steps", total},
                                  {"batches_per_epoch", per_epoch}, {"threads", num_threads()}, {"run", run}};
            run_dir::write_config(opt.out_dir, cfg, opt.resume ? &resume_entry : nullptr);
        }
        const std::string metrics_path = opt.out_dir + "/metrics.jsonl";
        if (opt.resume)
            if (int64_t dropped = run_dir::truncate_metrics(metrics_path, step))
                std::fprintf(stderr, "%s: dropped %lld lines logged after the checkpoint's step %lld\n",
                             metrics_path.c_str(), (long long)dropped, (long long)step);
        metrics.open(metrics_path, opt.resume ? std::ios::app : std::ios::trunc);
        MG_CHECK(metrics.good(), "train: cannot write {}", metrics_path);
        if (opt.on_start) opt.on_start(model);
    }

    TrainSummary summary;
    summary.model = model.name();
    summary.checkpoint = ckpt;
    StopSignalScope signals;
    const int64_t global_batch = batch * dp.size();
    ProgressLine progress(model.name(), total, global_batch, spec.source == DataSpec::Source::Toy2d ? "pts" : "img");
    auto t0 = std::chrono::steady_clock::now();
    double window_start = 0;
    int64_t window_steps = 0;
    const int64_t first = step;
    int64_t saved_step = opt.resume ? step : -1;
    bool warned_nonfinite = false;
    HealthMonitor health(model.name());
    // Writes the checkpoint unless the model holds NaN/Inf: then the last finite
    // checkpoint stays, and training stops (false) unless allow_nonfinite.
    auto save = [&]() -> bool {
        if (saved_step == step) return true;
        std::string bad = nonfinite_parameter(model);
        if (!bad.empty()) {
            std::string what = fmt::format("step {}: parameter {} holds NaN/Inf", step, bad);
            if (!opt.allow_nonfinite) {
                summary.nonfinite = what;
                return false;
            }
            std::fprintf(stderr, "\nwarning: %s; the checkpoint is not written (the last finite one is kept)\n",
                         what.c_str());
            return true;
        }
        dp.gather_sharded_state();  // ZeRO-1: the checkpoint holds the whole optimizer state
        if (dp.root()) save_model_checkpoint(model, ckpt, step, loader.epoch(), loader.batch_index());
        saved_step = step;
        return true;
    };
    while (step < total) {
        std::optional<data::Batch> b = loader.next();
        if (!b) continue;  // the end of an epoch: the next call starts the next one
        Metrics m = model.train_step(*b);
        ++step;
        ++window_steps;
        summary.last = m;
        std::string bad = nonfinite_metric(m);  // cheap: the scalars are on the host already
        // Every rank stops at the same step: a signal or a NaN on any one stops them all.
        bool stop = dp.any(stop_requested());
        if (dp.any(!bad.empty()) && bad.empty()) bad = "a non-finite value on another rank";
        double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (step % opt.log_every == 0 || step == total || stop || !bad.empty()) {
            nlohmann::json line = {{"step", step}, {"epoch", double(step) / double(per_epoch)}, {"time_s", now}};
            line["images_per_s"] =
                now > window_start ? double(window_steps * global_batch) / (now - window_start) : 0.0;
            for (const auto& [k, v] : m) line[k] = v;  // NaN/Inf are written as null
            metrics << line.dump() << "\n";
            metrics.flush();
            window_start = now;
            window_steps = 0;
        }
        for (const HealthEvent& e : health.observe(step, m))
            if (dp.root()) report_health(e, metrics, summary);
        if (step == 1 && dp.root())  // autoregressive image models: the masks checked by autograd, once
            if (auto e = check_causality(model, b->images.shape(), step, opt.out_dir + "/samples/receptive_field.png"))
                report_health(*e, metrics, summary);
        if (dp.root()) progress.update(step, brief(m));
        if (!bad.empty()) {
            const std::string what = fmt::format("step {}: {}", step, bad);
            if (!opt.allow_nonfinite) {
                summary.nonfinite = what;
                break;
            }
            if (!warned_nonfinite)
                std::fprintf(stderr, "\nwarning: %s; training on (--allow-nonfinite)\n", what.c_str());
            warned_nonfinite = true;
        }
        // The sample point comes before the checkpoint, so the checkpoint holds the random
        // state after it and a resume repeats the uninterrupted run exactly.
        if ((step % sample_every == 0 || step == total) && !stop) {
            if (dp.root()) try {
                DataParallel::Unsharded whole;  // rank 0 draws the samples as one process would
                const Metrics measures = run_sample_point(model, opt, step, now, per_epoch, metrics, summary);
                for (const HealthEvent& e : health.observe(step, measures)) report_health(e, metrics, summary);
            } catch (const Error&) {
                if (!stop_requested()) throw;  // else: cut short by a signal, save below
            }
            dp.broadcast_generator();
            stop = dp.any(stop_requested());  // a signal that came while rank 0 sampled
        }
        if (step % checkpoint_every == 0 || step == total || stop)
            if (!save()) break;
        if (stop) break;
    }
    if (dp.root()) progress.finish(step, brief(summary.last));
    if (const std::string line = dp.overlap_summary(); dp.root() && !line.empty())
        std::fprintf(stderr, "%s\n", line.c_str());
    if (saved_step < 0) summary.checkpoint.clear();  // none written (the run stopped at a NaN first)
    summary.signal = g_signal.load();
    summary.interrupted = summary.signal != 0;
    summary.steps = step;
    summary.steps_this_run = step - first;
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    summary.items_per_s = summary.seconds > 0 ? double(summary.steps_this_run * global_batch) / summary.seconds : 0;
    return summary;
}

}  // namespace mg::models
