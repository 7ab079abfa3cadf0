// What the trainer does differently when it runs on several ranks (mpirun -np N minigen
// train ...): see docs/distributed.md.
//
//   - every rank trains the same model on its block of each global batch (the loader's
//     rank/world), with its part of the random numbers (the generator's shard);
//   - each optimizer's gradients are averaged over the ranks in buckets, started while
//     backward runs and finished before that optimizer's step (dist::GradBucketer; GANs:
//     D's in D's step, G's in G's step), or with ZeRO-1 reduce-scattered in the step, each
//     rank updating its shard of the optimizer state; anything else a step computes stays local
//     (a gradient penalty, the logged scalars, and BatchNorm statistics unless synced: with
//     sync_batch_norm, every BatchNorm of the model normalises with the global batch's
//     statistics, core/dist/sync_batch_norm.h);
//   - the parameters start as rank 0's; rank 0 alone writes the run directory.
// At world size 1 none of it does anything (ZeRO-1 keeps one shard, the whole state: the same update).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dist/collective.h"
#include "core/dist/grad_bucketer.h"
#include "core/dist/grad_sync.h"
#include "core/dist/sync_batch_norm.h"
#include "core/random.h"
#include "models/model.h"

namespace mg::models {

struct DataParallelOptions {
    bool overlap = true;  // start the buckets' all-reduces while backward runs
    int64_t bucket_bytes = dist::kDefaultBucketBytes;
    int zero = 0;  // 1: ZeRO-1, each rank keeps 1/N of the optimizer state (Adam, AdamW)
    bool sync_batch_norm = false;  // BatchNorm statistics over all ranks (--sync-bn)
};

class DataParallel {
public:
    // Installs the gradient averaging on the model's optimizers (and the autograd engine's
    // leaf-gradient hook), shards the generator and, with sync_batch_norm, puts the model's
    // BatchNorm modules on `world`; the destructor undoes them.
    DataParallel(Model& model, dist::Collective& world, const DataParallelOptions& options = {});
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    bool distributed() const { return world_.size() > 1; }
    bool root() const { return world_.rank() == 0; }
    int rank() const { return world_.rank(); }
    int size() const { return world_.size(); }

    // Refuses (on every rank) a run whose ranks were started with different settings:
    // rank 0's `run` (model, config, batch, steps, ...) against each rank's own.
    void check_same_run(const nlohmann::json& run);
    // Copies rank 0's parameters and buffers to every rank.
    void broadcast_parameters();
    // After rank 0 alone drew random numbers (a sample point, unsharded): every rank
    // continues from rank 0's generator state, as one process would.
    void broadcast_generator();
    // Whether `local` holds on any rank (one small all-reduce): stop signals and NaN losses
    // end the run on every rank at the same step.
    bool any(bool local);
    // ZeRO-1: gathers every optimizer's whole state (every rank calls it), for a checkpoint.
    void gather_sharded_state();
    // One line per optimizer: its buckets, how many were reduced while backward ran, and the
    // time the steps still waited for them ("" at world size 1).
    std::string overlap_summary() const;

    // While alive on rank 0, its generator draws as a single process does, and synced
    // BatchNorms use rank 0's statistics alone (sample points: the other ranks are not there).
    struct Unsharded {
        Generator::Shard saved;
        dist::LocalBatchStatistics local_statistics;
        Unsharded() : saved(default_generator().shard()) { default_generator().set_shard({}); }
        ~Unsharded() { default_generator().set_shard(saved); }
    };

private:
    // Sets every BatchNorm module's sync group (null: per-rank statistics).
    void set_batch_norm_group(dist::Collective* group);

    Model& model_;
    dist::Collective& world_;
    Generator::Shard saved_shard_;
    std::vector<std::pair<std::string, std::unique_ptr<dist::GradBucketer>>> bucketers_;  // by optimizer
};

// Whether the model's BatchNorm modules combine their statistics over ranks (a DataParallel
// with sync_batch_norm on more than one rank is alive): checkpoints record it.
bool synced_batch_norm(Model& model);

}  // namespace mg::models
