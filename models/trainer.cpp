#include "models/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/autograd.h"
#include "core/data/fashion_mnist.h"
#include "core/data/toy2d.h"
#include "core/io/checkpoint.h"
#include "core/io/image.h"
#include "core/random.h"
#include "core/runtime.h"
#include "models/plot2d.h"
#include "models/progress.h"

namespace fs = std::filesystem;

namespace mg::models {

namespace {

// ---- Ctrl-C: finish the step, save, return -----------------------------------------
std::atomic<bool> g_stop{false};
extern "C" void on_sigint(int) { g_stop.store(true); }

struct SigintScope {
    using Handler = void (*)(int);
    Handler previous;
    SigintScope() : previous(std::signal(SIGINT, on_sigint)) { g_stop.store(false); }
    ~SigintScope() { std::signal(SIGINT, previous); }
};

// ---- data ----------------------------------------------------------------------------
struct TrainingData {
    Tensor images, labels;
};

TrainingData load_data(const DataSpec& spec, const std::optional<std::string>& dir, uint64_t seed) {
    if (spec.source == DataSpec::Source::Toy2d) {
        data::Toy2dSet set = data::make_toy2d(data::parse_toy2d(spec.toy2d), spec.toy2d_size, seed);
        return {set.points, Tensor()};
    }
    data::Dataset ds = data::load_fashion_mnist(data::Split::Train, dir);
    return {ds.images, spec.labels ? ds.labels : Tensor()};
}

data::Transform transform_for(const DataSpec& spec) {
    if (spec.source == DataSpec::Source::Toy2d) return {};  // points are float already
    return data::transforms::to_float(spec.range);
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
    io::save_checkpoint(path, ck);
}

Position load_model_checkpoint(Model& model, const std::string& path, bool with_optimizers) {
    io::Checkpoint ck = io::load_checkpoint(path);
    auto name = ck.metadata.find("model_name");
    MG_CHECK(name != ck.metadata.end() && name->second == model.name(),
             "{}: a checkpoint of model '{}', not '{}'", path,
             name == ck.metadata.end() ? std::string("?") : name->second, model.name());
    // Validate every network (and optimizer) before changing any.
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
    // Load into copies first? Modules validate before copying, so a failure in the first
    // leaves it untouched; check all of them by a dry run on their current state.
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
    for (auto& [module, sd] : module_states) module->load_state_dict(sd);
    if (with_optimizers)
        for (auto& [prefix, opt] : model.optimizers()) {
            optim::StateDict sd = strip<optim::StateDict>(ck.optimizer, prefix);
            if (!sd.empty()) opt->load_state_dict(sd);
        }
    default_generator().set_state(ck.rng);
    Position pos;
    pos.step = ck.step;
    if (auto e = ck.metadata.find("epoch"); e != ck.metadata.end()) pos.epoch = std::stoll(e->second);
    if (auto b = ck.metadata.find("batch"); b != ck.metadata.end()) pos.batch = std::stoll(b->second);
    return pos;
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

TrainSummary train(Model& model, const TrainOptions& opt) {
    MG_CHECK(!opt.out_dir.empty(), "train: no output directory");
    fs::create_directories(opt.out_dir + "/samples");
    const DataSpec spec = model.data_spec();
    const int64_t batch = model.batch_size();

    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.shuffle = true;
    lo.drop_last = true;
    lo.seed = model.config().value("seed", uint64_t(0));
    lo.transform = transform_for(spec);
    lo.device = opt.device;
    TrainingData td = load_data(spec, opt.data_dir, lo.seed);
    data::DataLoader loader(td.images, td.labels, lo);

    const int64_t per_epoch = loader.batches_per_epoch();
    MG_CHECK(per_epoch > 0, "train: batch size {} is larger than the dataset ({} examples)", batch, loader.size());
    const int64_t total = opt.steps > 0 ? opt.steps : std::max<int64_t>(opt.epochs, 1) * per_epoch;
    const int64_t sample_every = opt.sample_every > 0 ? opt.sample_every : std::max<int64_t>(total / 8, 1);
    const int64_t checkpoint_every = opt.checkpoint_every > 0 ? opt.checkpoint_every : std::max<int64_t>(total / 4, 1);

    int64_t step = 0;
    const std::string ckpt = checkpoint_path(opt.out_dir);
    if (opt.resume) {
        MG_CHECK(fs::exists(ckpt), "train: --resume, but {} does not exist", ckpt);
        Position pos = load_model_checkpoint(model, ckpt, true);
        step = pos.step;
        model.set_step(step);
        loader.seek(pos.epoch, pos.batch);
        std::fprintf(stderr, "resumed %s at step %lld (epoch %lld, batch %lld)\n", ckpt.c_str(),
                     (long long)step, (long long)pos.epoch, (long long)pos.batch);
    }

    {
        nlohmann::json cfg = {{"model", model.name()}, {"config", model.config()}, {"steps", total},
                              {"batches_per_epoch", per_epoch}, {"threads", num_threads()},
                              {"run", opt.run_info}};
        std::ofstream(opt.out_dir + "/config.json") << cfg.dump(2) << "\n";
    }
    std::ofstream metrics(opt.out_dir + "/metrics.jsonl", opt.resume ? std::ios::app : std::ios::trunc);
    MG_CHECK(metrics.good(), "train: cannot write {}/metrics.jsonl", opt.out_dir);

    TrainSummary summary;
    summary.model = model.name();
    SigintScope sigint;
    ProgressLine progress(model.name(), total, batch, spec.source == DataSpec::Source::Toy2d ? "pts" : "img");
    auto t0 = std::chrono::steady_clock::now();
    double window_start = 0;
    int64_t window_steps = 0;
    const int64_t first = step;
    while (step < total) {
        std::optional<data::Batch> b = loader.next();
        if (!b) continue;  // the end of an epoch: the next call starts the next one
        Metrics m = model.train_step(*b);
        ++step;
        ++window_steps;
        summary.last = m;
        double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (step % opt.log_every == 0 || step == total || g_stop.load()) {
            nlohmann::json line = {{"step", step}, {"epoch", double(step) / double(per_epoch)}, {"time_s", now}};
            line["images_per_s"] = now > window_start ? double(window_steps * batch) / (now - window_start) : 0.0;
            for (const auto& [k, v] : m) line[k] = v;
            metrics << line.dump() << "\n";
            metrics.flush();
            window_start = now;
            window_steps = 0;
        }
        progress.update(step, brief(m));
        if (step % sample_every == 0 || step == total) {
            autograd::NoGradGuard no_grad;
            Tensor samples = model.sample(opt.sample_count);
            if (samples.defined()) {  // the classifier has nothing to draw
                summary.samples = sample_path(opt.out_dir, step);
                write_samples(model, samples, summary.samples);
            }
            model.write_visuals(opt.out_dir + "/samples", step);
            Metrics quality = model.evaluate();
            if (opt.evaluator) {
                Metrics more = opt.evaluator(model);
                quality.insert(quality.end(), more.begin(), more.end());
            }
            if (!quality.empty()) {
                nlohmann::json line = {{"step", step}, {"epoch", double(step) / double(per_epoch)}, {"time_s", now}};
                for (const auto& [k, v] : quality) line[k] = v;
                metrics << line.dump() << "\n";
                metrics.flush();
                summary.quality = quality;
            }
        }
        bool stop = g_stop.load();
        if (step % checkpoint_every == 0 || step == total || stop)
            save_model_checkpoint(model, ckpt, step, loader.epoch(), loader.batch_index());
        if (stop) {
            summary.interrupted = true;
            break;
        }
    }
    progress.finish(step, brief(summary.last));
    summary.steps = step;
    summary.steps_this_run = step - first;
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    summary.items_per_s = summary.seconds > 0 ? double(summary.steps_this_run * batch) / summary.seconds : 0;
    summary.checkpoint = ckpt;
    return summary;
}

}  // namespace mg::models
