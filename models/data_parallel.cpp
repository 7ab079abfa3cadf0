#include "models/data_parallel.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "core/autograd.h"
#include "core/nn/norm.h"
#include "optim/optimizer.h"

namespace mg::models {

DataParallel::DataParallel(Model& model, dist::Collective& world, const DataParallelOptions& options)
    : model_(model), world_(world), saved_shard_(default_generator().shard()) {
    MG_CHECK(options.zero == 0 || options.zero == 1, "train: --zero {} is not 0 or 1 (ZeRO-1 is all there is)",
             options.zero);
    if (options.zero == 1)  // refuses other optimizers than Adam and AdamW, at any world size
        for (auto& [name, opt] : model_.optimizers()) opt->shard_state(&world_);
    if (!distributed()) return;  // one process: --sync-bn has nothing to combine either
    if (options.sync_batch_norm) set_batch_norm_group(&world_);
    // Which bucketer hears of which parameter's gradient.
    std::unordered_map<const TensorImpl*, std::pair<dist::GradBucketer*, size_t>> owner;
    for (auto& [name, opt] : model_.optimizers()) {
        if (opt->sharded()) continue;  // its gradients are reduce-scattered in its step
        std::vector<Tensor> params;
        for (const optim::ParamGroup& group : opt->param_groups())
            params.insert(params.end(), group.params.begin(), group.params.end());
        auto bucketer = std::make_unique<dist::GradBucketer>(world_, params, options.bucket_bytes, options.overlap);
        for (size_t i = 0; i < params.size(); ++i) owner[params[i].impl()] = {bucketer.get(), i};
        opt->set_gradient_hook([b = bucketer.get()](const std::vector<Tensor>& grads) { b->finish(grads); });
        bucketers_.emplace_back(name, std::move(bucketer));
    }
    if (options.overlap)
        autograd::set_leaf_gradient_hook([owner = std::move(owner)](const TensorImpl& leaf) {
            if (auto it = owner.find(&leaf); it != owner.end()) it->second.first->gradient_added(it->second.second);
        });
    default_generator().set_shard({world_.rank(), world_.size()});
}

DataParallel::~DataParallel() {
    for (auto& [name, opt] : model_.optimizers()) opt->shard_state(nullptr);
    if (!distributed()) return;
    autograd::set_leaf_gradient_hook({});
    for (auto& [name, opt] : model_.optimizers()) opt->set_gradient_hook({});
    default_generator().set_shard(saved_shard_);
    set_batch_norm_group(nullptr);
}

namespace {
// fn(norm) for every BatchNorm module of every network of the model.
template <class Fn> void for_each_batch_norm(Model& model, Fn&& fn) {
    for (auto& [name, module] : model.modules())
        module->apply([&fn](nn::Module& m) {
            if (auto* norm = dynamic_cast<nn::BatchNorm*>(&m)) fn(*norm);
        });
}
}  // namespace

void DataParallel::set_batch_norm_group(dist::Collective* group) {
    for_each_batch_norm(model_, [group](nn::BatchNorm& norm) { norm.sync_group = group; });
}

bool synced_batch_norm(Model& model) {
    bool synced = false;
    for_each_batch_norm(model, [&synced](nn::BatchNorm& norm) { synced = synced || norm.sync_group != nullptr; });
    return synced;
}

void DataParallel::gather_sharded_state() {
    for (auto& [name, opt] : model_.optimizers()) opt->gather_sharded_state();
}

std::string DataParallel::overlap_summary() const {
    std::string out;
    for (auto& [name, opt] : model_.optimizers())
        if (opt->sharded())
            out += fmt::format("{}{}: ZeRO-1, {:.2f} MB of optimizer state on this rank", out.empty() ? "" : "\n", name,
                               double(opt->state_bytes()) / 1e6);
    for (const auto& [name, b] : bucketers_) {
        const dist::GradBucketer::Stats& s = b->stats();
        if (s.steps == 0) continue;
        out += fmt::format("{}{}: {} steps, {} buckets each; {} buckets reduced while backward ran, {} after it; "
                           "the steps waited {:.1f} ms each for them",
                           out.empty() ? "" : "\n", name, s.steps, b->bucket_count(), s.buckets_overlapped,
                           s.buckets_after, 1e3 * s.finish_seconds / double(s.steps));
    }
    return out;
}

void DataParallel::check_same_run(const nlohmann::json& run) {
    if (!distributed()) return;
    // Flattened ("config.seed"), so a difference names the setting, not the whole config.
    const nlohmann::json reference = nlohmann::json::parse(world_.broadcast_string(run.dump())).flatten();
    const nlohmann::json mine = run.flatten();
    std::string differences;
    for (const auto& [key, value] : reference.items()) {
        const nlohmann::json own = mine.contains(key) ? mine[key] : nlohmann::json();
        if (own == value) continue;
        std::string name = key.substr(1);  // "/config/seed" -> "config.seed"
        std::replace(name.begin(), name.end(), '/', '.');
        differences += fmt::format("{}{} {} (rank 0: {})", differences.empty() ? "" : "; ", name, own.dump(),
                                   value.dump());
    }
    Tensor mismatched = from_vector(std::vector<int64_t>{differences.empty() ? 0 : 1}, Shape{1});
    world_.all_reduce(mismatched);
    const int64_t ranks = mismatched.data<int64_t>()[0];
    MG_CHECK(differences.empty(), "train: rank {} was started with other settings than rank 0: {}", rank(),
             differences);
    MG_CHECK(ranks == 0, "train: {} of {} ranks were started with other settings than rank 0 (they name them)",
             ranks, size());
}

void DataParallel::broadcast_parameters() {
    if (!distributed()) return;
    autograd::NoGradGuard no_grad;
    for (auto& [name, module] : model_.modules())
        for (const auto& [key, t] : module->state_dict()) {
            Tensor handle = t;  // shares the parameter's storage
            MG_CHECK(handle.is_contiguous() && handle.device() == Device::CPU,
                     "train: {} ranks need contiguous CPU parameters, '{}.{}' is not", size(), name, key);
            world_.broadcast(handle, 0);
        }
}

void DataParallel::broadcast_generator() {
    if (!distributed()) return;
    const GeneratorState s = default_generator().state();
    Tensor state = from_vector(std::vector<int64_t>{int64_t(s.seed), int64_t(s.offset)}, Shape{2});
    world_.broadcast(state, 0);
    const int64_t* p = state.data<int64_t>();
    default_generator().set_state({uint64_t(p[0]), uint64_t(p[1])});
}

bool DataParallel::any(bool local) {
    if (!distributed()) return local;
    Tensor flag = from_vector(std::vector<int64_t>{local ? 1 : 0}, Shape{1});
    world_.all_reduce(flag);
    return flag.data<int64_t>()[0] > 0;
}

}  // namespace mg::models
