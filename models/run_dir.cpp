#include "models/run_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/io/input.h"
#include "core/io/temp_files.h"
#include "kernels/base.h"

namespace fs = std::filesystem;

namespace mg::models::run_dir {

namespace {

// The files and folders a run writes (report/ by `minigen report`, trace_* by --trace).
const char* const kRunFiles[] = {"config.json", "metrics.jsonl", "checkpoint.safetensors", "samples", "report",
                                  "trace_d_step.dot", "trace_d_step.svg", "trace_g_step.dot", "trace_g_step.svg"};

// Up to three entries of a directory, for a message: "'a', 'b', 'c' and 4 more".
std::string some_entries(const fs::path& dir) {
    std::vector<std::string> names;
    int64_t count = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec), ++count)
        if (names.size() < 3) names.push_back(fmt::format("'{}'", it->path().filename().string()));
    std::string s;
    for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
    if (count > int64_t(names.size())) s += fmt::format(" and {} more", count - int64_t(names.size()));
    return s;
}

void require_writable_directory(const fs::path& dir, const std::string& out) {
    MG_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0, "train: --out '{}': cannot write in '{}': {}", out,
             dir.string(), std::strerror(errno));
}

}  // namespace

void check_can_start(const std::string& dir, Start start) {
    std::error_code ec;
    const fs::path path(dir);
    fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) {
        MG_CHECK(start != Start::Resume, "train: --resume, but the run directory '{}' does not exist", dir);
        // It will be created: the nearest existing ancestor must be a writable directory.
        fs::path parent = fs::absolute(path, ec).parent_path();
        while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.root_path()) parent = parent.parent_path();
        MG_CHECK(fs::is_directory(parent, ec), "train: --out '{}': '{}' is not a directory", dir, parent.string());
        require_writable_directory(parent, dir);
        return;
    }
    MG_CHECK(fs::is_directory(status), "train: --out '{}' exists and is not a directory", dir);
    require_writable_directory(path, dir);
    if (start != Start::Fresh) return;
    MG_CHECK(fs::is_empty(path, ec),
             "train: --out '{}' is not empty (it holds {}); pass --resume to continue the run in it, or "
             "--overwrite to replace it (its config, metrics, checkpoint, samples and report are removed)",
             dir, some_entries(path));
}

void remove_run_files(const std::string& dir) {
    for (const char* name : kRunFiles) {
        const fs::path p = fs::path(dir) / name;
        std::error_code ec;
        fs::remove_all(p, ec);
        MG_CHECK(!ec, "train: --overwrite: cannot remove '{}': {}", p.string(), ec.message());
    }
}

std::vector<std::string> prepare(const std::string& dir) {
    fs::create_directories(fs::path(dir) / "samples");
    std::vector<std::string> removed;
    for (const char* sub : {"", "/samples", "/report"})
        for (auto& p : io::remove_stale_temporaries(dir + sub)) removed.push_back(p);
    return removed;
}

int64_t truncate_metrics(const std::string& path, int64_t step) {
    std::ifstream in(path, std::ios::binary);
    if (!in.good()) return 0;
    std::string kept, line;
    int64_t dropped = 0;
    while (std::getline(in, line)) {
        // A line without its newline was cut short by a kill; drop it even if it parses.
        const bool complete = !in.eof();
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        const bool keep = complete && j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
                          j["step"].get<int64_t>() <= step;
        if (keep) kept += line + "\n";
        else ++dropped;
    }
    if (dropped > 0) io::write_file_atomically(path, kept);
    return dropped;
}

nlohmann::json changed_settings(const nlohmann::json& before, const nlohmann::json& after) {
    nlohmann::json changes = nlohmann::json::object();
    auto note = [&](const std::string& key, const nlohmann::json& from, const nlohmann::json& to) {
        if (key == "device") return;  // training may move between CPU and GPU
        changes[key] = {{"from", from}, {"to", to}};
    };
    for (const auto& [k, v] : before.items()) {
        if (!after.contains(k)) note(k, v, nullptr);
        else if (after[k] != v) note(k, v, after[k]);
    }
    for (const auto& [k, v] : after.items())
        if (!before.contains(k)) note(k, nullptr, v);
    return changes;
}

void write_config(const std::string& dir, const nlohmann::json& fresh, const nlohmann::json* resume_entry) {
    const std::string path = dir + "/config.json";
    nlohmann::json cfg = fresh;
    if (resume_entry) {
        try {
            nlohmann::json old = io::parse_json(io::read_text_file(path, "config.json"), path);
            if (old.is_object()) cfg = old;
        } catch (const Error&) {
            // Missing or damaged: the checkpoint's settings (`fresh`) are the best record left.
        }
        if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = nlohmann::json::array();
        cfg["history"].push_back(*resume_entry);
    }
    io::write_file_atomically(path, cfg.dump(2) + "\n");
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace mg::models::run_dir
