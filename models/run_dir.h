// The rules that keep a training run's directory (models/trainer.h lists its files) from
// being lost, damaged or mixed with another run's:
//   - a directory that already holds anything is refused unless the run in it is resumed
//     or explicitly replaced; replacing removes the old run's files first, so no sample
//     grid or metric of the old run shows up in the new one's report;
//   - the trainer writes nothing here before the new run is known to be valid (model
//     built, data loaded, checkpoint loaded and checked);
//   - config.json keeps the settings the run started with; each resume appends what it
//     ran with to its "history";
//   - on resume, metrics.jsonl is cut back to the checkpoint's step, so the steps after
//     the checkpoint that are trained again appear once;
//   - temporaries of atomic writes left by a killed process are removed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mg::models::run_dir {

enum class Start { Fresh, Resume, Overwrite };

// Checks, writing nothing, that a run can start in `dir` this way: it is (or can be
// created as) a writable directory, and it is empty unless the run is resumed or
// replaced. Throws an mg::Error naming the path and the flag that would allow it.
void check_can_start(const std::string& dir, Start start);

// Removes what a run writes into `dir`: config.json, metrics.jsonl, the checkpoint,
// samples/, report/ and the --trace graphs. Other files are left alone.
void remove_run_files(const std::string& dir);

// Creates `dir` and `dir`/samples and removes the stale temporaries in it, samples/ and
// report/; returns the temporaries removed.
std::vector<std::string> prepare(const std::string& dir);

// Rewrites `path` (metrics.jsonl) atomically with only its lines of steps <= `step`;
// a torn last line (a write cut short) goes too. Returns the number of lines dropped;
// a missing file has none.
int64_t truncate_metrics(const std::string& path, int64_t step);

// The settings in which `after` differs from `before` (both a model's config()), as
// {"key": {"from": old, "to": new}}; "device" may change freely and is not listed.
nlohmann::json changed_settings(const nlohmann::json& before, const nlohmann::json& after);

// Writes dir/config.json atomically: `fresh` for a new run; for a resumed one, the
// existing file (the run's original settings) with `resume_entry` appended to its
// "history" list (`fresh` plus the entry if the old file is missing or unreadable).
void write_config(const std::string& dir, const nlohmann::json& fresh, const nlohmann::json* resume_entry);

// "2026-12-07T03:30:38Z"
std::string utc_now();

}  // namespace mg::models::run_dir
