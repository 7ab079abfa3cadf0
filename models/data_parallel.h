// What the trainer does differently when it runs on several ranks (mpirun -np N minigen
// train ...): see docs/distributed.md.
//
//   - every rank trains the same model on its block of each global batch (the loader's
//     rank/world), with its part of the random numbers (the generator's shard);
//   - before each optimizer step, that optimizer's gradients are averaged over the ranks
//     (GANs: D's in D's step, G's in G's step); anything else a step computes stays local
//     (a gradient penalty, the logged scalars, and BatchNorm statistics unless synced:
//     with sync_batch_norm, every BatchNorm of the model normalises with the global batch's
//     statistics, core/dist/sync_batch_norm.h);
//   - the parameters start as rank 0's; rank 0 alone writes the run directory.
// At world size 1 none of it does anything.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/dist/collective.h"
#include "core/dist/sync_batch_norm.h"
#include "core/random.h"
#include "models/model.h"

namespace mg::models {

class DataParallel {
public:
    // Installs the gradient averaging on the model's optimizers, shards the generator and,
    // with sync_batch_norm, puts the model's BatchNorm modules on `world`; the destructor
    // undoes all three.
    DataParallel(Model& model, dist::Collective& world, bool sync_batch_norm = false);
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
};

// Whether the model's BatchNorm modules combine their statistics over ranks (a DataParallel
// with sync_batch_norm on more than one rank is alive): checkpoints record it.
bool synced_batch_norm(Model& model);

}  // namespace mg::models
