// The one training loop, shared by every model.
//
//   run dir/
//     config.json                the model's full configuration and the run's options, as
//                                the run started; each resume appends to its "history"
//     metrics.jsonl              one JSON object per logged step: step, epoch, time_s,
//                                images_per_s and every scalar the model reports
//     samples/step_NNNNNNN.png   sample grids over time (plus the model's own visuals)
//     checkpoint.safetensors     the latest checkpoint (atomic; resume continues from it)
//
// Health monitors (models/health.h) watch every step's scalars and every sample point's
// measures (with image samples, their checkerboard energy); a monitor that fires is logged
// on stderr, written to metrics.jsonl as {"step", "health": {"monitor", "message"}} and
// listed in the summary, once per run (a resumed run watches afresh from its checkpoint).
//
// A run is never lost or damaged (models/run_dir.h has the rules): a directory that holds
// anything needs `resume` or `overwrite`; nothing is written before the model, the data
// and the checkpoint are loaded and checked; a resume that contradicts the checkpoint's
// settings needs `allow_changes`.
//
// SIGINT (Ctrl-C), SIGTERM (kill, timeout, schedulers) and SIGHUP stop cleanly: the step in
// flight finishes, a checkpoint is written, and train() returns with `interrupted` and the
// signal set; a second signal of the same kind ends the process at once.
//
// A NaN/Inf loss (checked every step) or parameter (checked before every checkpoint)
// stops training with `nonfinite` set and the last finite checkpoint kept, unless
// `allow_nonfinite`; a non-finite model never replaces a checkpoint.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "models/data_parallel.h"
#include "models/health.h"
#include "models/model.h"

namespace mg::models {

struct TrainOptions {
    std::string out_dir;             // the run directory (created)
    int64_t epochs = 0;              // training length: steps if > 0, else epochs
    int64_t steps = 0;
    int64_t log_every = 10;          // a metrics.jsonl line every N steps (and the last step)
    int64_t sample_every = 0;        // 0: about 8 grids per run
    int64_t checkpoint_every = 0;    // 0: about 4 per run; one is always written at the end
    int64_t sample_count = 64;       // images in each sample grid
    bool resume = false;             // continue from out_dir/checkpoint.safetensors
    bool overwrite = false;          // replace the run in out_dir (its files are removed first)
    bool allow_changes = false;      // resume with settings that differ from the checkpoint's
    bool allow_nonfinite = false;    // train on past NaN/Inf; load a checkpoint holding them
    std::optional<std::string> data_dir;
    Device device = Device::CPU;     // the model's device: the loader uploads batches there
    DataParallelOptions data_parallel;  // under mpirun: how gradients are averaged
    std::string command;             // the command line, for config.json and its history
    nlohmann::json run_info = nlohmann::json::object();  // extra facts for config.json
    // Measures beyond the model's own (SampleQuality) taken at every sample point and
    // logged with the step (test accuracy, FID on a few thousand samples, test bits/dim);
    // the caller decides what is worth its time.
    std::function<Metrics(Model&)> evaluator;
    // Runs once the run is validated and its directory prepared, before the first step
    // (the --trace graphs are written here).
    std::function<void(Model&)> on_start;
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
    int signal = 0;              // the signal that stopped the run (SIGINT, SIGTERM, SIGHUP)
    std::string nonfinite;       // what was NaN/Inf when that stopped the run, else empty
    std::string checkpoint;      // path of the final checkpoint (empty if none was written)
    std::string samples;         // path of the final sample grid
    std::vector<HealthEvent> health;  // the monitors that fired this run, in order
};

TrainSummary train(Model& model, const TrainOptions& options);

// Checkpoint plumbing, shared with `minigen sample` and `eval`.
std::string checkpoint_path(const std::string& run_dir);
void save_model_checkpoint(Model& model, const std::string& path, int64_t step, int64_t epoch, int64_t batch);
struct Position {
    int64_t step = 0, epoch = 0, batch = 0;
};
// Restores the networks (and the optimizers when `with_optimizers`) all or nothing, and
// the RNG; returns where training stood. Throws naming the file (and the tensor or field)
// when it does not fit, or when a tensor holds NaN/Inf unless `allow_nonfinite`.
Position load_model_checkpoint(Model& model, const std::string& path, bool with_optimizers,
                               bool allow_nonfinite = false);

// "'G.fc.weight' (nan at element 12)" for the first parameter or buffer of the model that
// holds NaN/Inf; empty if every one is finite.
std::string nonfinite_parameter(Model& model);

// The model's sample, written as a PNG grid (images) or scatter plot (2-D points).
void write_samples(Model& model, const Tensor& samples, const std::string& path, int64_t nrow = 8);

}  // namespace mg::models
