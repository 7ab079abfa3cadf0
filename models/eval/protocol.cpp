#include "models/eval/protocol.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/io/input.h"
#include "core/runtime.h"
#include "kernels/base.h"
#include "minigen_git_commit.h"

namespace mg::eval {

namespace {

// Leaves of a card (arrays are leaves) as dotted paths: {"a": {"b": 1}} -> {"a.b": 1}.
// The nesting is bounded by parse_json's depth limit.
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
    if (!j.is_object()) {
        out[prefix] = j;
        return;
    }
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
}

}  // namespace

nlohmann::json minigen_build_card() { return {{"version", build_info().version}, {"commit", MINIGEN_GIT_COMMIT}}; }

std::vector<ProtocolDifference> protocol_differences(const nlohmann::json& a, const nlohmann::json& b) {
    std::map<std::string, nlohmann::json> fa, fb;
    flatten(a, "", fa);
    flatten(b, "", fb);
    std::set<std::string> fields;
    for (const auto& [k, v] : fa) fields.insert(k);
    for (const auto& [k, v] : fb) fields.insert(k);
    std::vector<ProtocolDifference> out;
    for (const std::string& field : fields) {
        auto ia = fa.find(field), ib = fb.find(field);
        if (ia != fa.end() && ib != fb.end() && ia->second == ib->second) continue;
        auto text = [](const auto& it, const auto& map) {
            return it == map.end() ? std::string("(missing)") : io::quote_short(it->second.dump());
        };
        // Another build computes the same protocol with the same code unless the metrics
        // themselves changed, which the version and docs/evaluation.md would say; refusing
        // would strand every result across a commit. So a build difference is a warning.
        const bool build_only = field.rfind("minigen.", 0) == 0;
        out.push_back({field, text(ia, fa), text(ib, fb), !build_only});
    }
    return out;
}

nlohmann::json read_eval_result(const std::string& path) {
    const std::string what = "eval --compare " + path;
    const nlohmann::json j = io::parse_json(io::read_text_file(path, what, 16ull << 20), what);
    MG_CHECK(j.is_object(), "{}: not an eval result (a JSON object from minigen eval --json)", what);
    MG_CHECK(j.contains("protocol"), "{}: has no protocol card: rerun minigen eval --json", what);
    const std::string card = j["protocol"].dump();
    MG_CHECK(j["protocol"].is_object() && !j["protocol"].empty(), "{}: 'protocol' is not a protocol card: {}", what,
             io::quote_short(card));
    MG_CHECK(card.size() <= kMaxProtocolCardBytes, "{}: the protocol card is {} bytes, more than the {} of any card",
             what, card.size(), kMaxProtocolCardBytes);
    return j;
}

}  // namespace mg::eval
