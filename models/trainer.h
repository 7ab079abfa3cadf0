// The one training loop, shared by every model.
//
//   run dir/
//     config.json                the model's full configuration and the run's options
//     metrics.jsonl              one JSON object per logged step: step, epoch, time_s,
//                                images_per_s and every scalar the model reports
//     samples/step_NNNNNNN.png   sample grids over time (plus the model's own visuals)
//     checkpoint.safetensors     the latest checkpoint (atomic; resume continues from it)
//
// Ctrl-C stops cleanly: the step in flight finishes, a checkpoint is written, and
// train() returns with `interrupted` set.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "models/model.h"

namespace mg::models {

struct TrainOptions {
    std::string out_dir;             // the run directory (created)
    int64_t epochs = 0;              // training length: steps if > 0, else epochs
    int64_t steps = 0;
    int64_t log_every = 10;          // a metrics.jsonl line every N steps (and the last step)
    int64_t sample_every = 0;        // 0: about 8 grids per run
    int64_t checkpoint_every = 0;    // 0: about 4 per run; one is always written at the end
    int64_t sample_count = 64;
    bool resume = false;             // continue from out_dir/checkpoint.safetensors
    std::optional<std::string> data_dir;
    Device device = Device::CPU;     // the model's device: the loader uploads batches there
    nlohmann::json run_info = nlohmann::json::object();  // extra facts for config.json
    // Measures beyond model.evaluate() taken at every sample point and logged with the
    // step (test accuracy, FID on a few thousand samples, test bits/dim); the caller
    // decides what is worth its time.
    std::function<Metrics(Model&)> evaluator;
};

struct TrainSummary {
    std::string model;
    int64_t steps = 0;           // total steps taken (including those before a resume)
    int64_t steps_this_run = 0;
    double seconds = 0;
    double items_per_s = 0;      // images (or points) per second this run
    Metrics last;                // the last step's scalars
    Metrics quality;             // the last evaluate() (e.g. modes covered)
    bool interrupted = false;
    std::string checkpoint;      // path of the final checkpoint
    std::string samples;         // path of the final sample grid
};

TrainSummary train(Model& model, const TrainOptions& options);

// Checkpoint plumbing, shared with `minigen sample` and `eval`.
std::string checkpoint_path(const std::string& run_dir);
void save_model_checkpoint(Model& model, const std::string& path, int64_t step, int64_t epoch, int64_t batch);
struct Position {
    int64_t step = 0, epoch = 0, batch = 0;
};
// Restores the networks (and the optimizers when `with_optimizers`) all or nothing, and
// the RNG; returns where training stood. Throws naming the file when it does not fit.
Position load_model_checkpoint(Model& model, const std::string& path, bool with_optimizers);

// The model's sample, written as a PNG grid (images) or scatter plot (2-D points).
void write_samples(Model& model, const Tensor& samples, const std::string& path, int64_t nrow = 8);

}  // namespace mg::models
