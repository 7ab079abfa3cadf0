// The protocol card of an evaluation: everything besides the model that decides its numbers,
// so that a result can be cited and two results compared (docs/evaluation.md, "Citing a
// result"). evaluate.cpp writes it as "protocol" into every eval JSON:
//
//   feature_extractor  name, sha256, data it was trained on, input [C, H, W], test_accuracy
//   reference          data (spec), split, count, image [C, H, W]
//   generated          count, seed (generation, KID subsets, floor rows), image [C, H, W]
//   preprocessing      values (what the scored sample values are: quantised to uint8 or not),
//                      resize_reference, resize_samples ("none" or the filter)
//   metrics            kid_subsets, kid_subset_size, pr_k, is_splits
//   likelihood         images, iwae_k (likelihood models)
//   minigen            version, commit
//
// Not in it: the evaluation batch size and the thread count. Features and metrics are bit
// for bit the same whatever they are (tests/test_eval_protocol.cpp checks it).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mg::eval {

// A card minigen writes is about 1 KB; a file's card beyond this is refused before its
// fields are listed (a hostile one of long nested names would list to terabytes).
inline constexpr size_t kMaxProtocolCardBytes = 64 << 10;

// This build's {"version": "0.1.0", "commit": "<sha>[-dirty]" or "unknown"}.
nlohmann::json minigen_build_card();

// One field in which two cards differ; a and b are the values as JSON text, "(missing)"
// when a card lacks the field.
struct ProtocolDifference {
    std::string field;  // dotted: "generated.seed"
    std::string a, b;
    bool refuses = true;  // false: a warning only (minigen.version, minigen.commit)
};
std::vector<ProtocolDifference> protocol_differences(const nlohmann::json& a, const nlohmann::json& b);

// An eval result (`minigen eval --json` output) from an untrusted file: a JSON object with a
// protocol card. Bounded read and parse; every error names the file.
nlohmann::json read_eval_result(const std::string& path);

}  // namespace mg::eval
