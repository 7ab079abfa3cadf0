#include "core/io/checkpoint.h"

#include <charconv>

#include "core/autograd.h"

namespace mg::io {

namespace {

constexpr const char* kReserved = "minigen.";
const std::string kFormatKey = "minigen.format";
const std::string kVersionKey = "minigen.format_version";
const std::string kStepKey = "minigen.step";
const std::string kSeedKey = "minigen.rng_seed";
const std::string kOffsetKey = "minigen.rng_offset";

struct Section {
    const char* prefix;
    TensorMap Checkpoint::*member;
};
constexpr Section kSections[] = {
    {"model.", &Checkpoint::model}, {"optim.", &Checkpoint::optimizer}, {"extra.", &Checkpoint::extra}};

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

uint64_t parse_u64(const Metadata& meta, const std::string& key, const std::string& path) {
    auto it = meta.find(key);
    MG_CHECK(it != meta.end(), "checkpoint: '{}': metadata has no '{}'", path, key);
    const std::string& s = it->second;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    MG_CHECK(!s.empty() && ec == std::errc() && end == s.data() + s.size(),
             "checkpoint: '{}': metadata '{}' = '{}' is not an unsigned decimal integer", path, key, s);
    return value;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
    MG_CHECK(checkpoint.step >= 0, "checkpoint: writing '{}': step is negative ({})", path, checkpoint.step);
    Metadata meta;
    for (const auto& [key, value] : checkpoint.metadata) {
        MG_CHECK(!starts_with(key, kReserved), "checkpoint: writing '{}': metadata key '{}' uses the reserved prefix '{}'",
                 path, key, kReserved);
        meta[key] = value;
    }
    meta[kFormatKey] = std::string("checkpoint");  // (a char* assignment draws a false GCC 12 -Wrestrict)
    meta[kVersionKey] = std::string("1");
    meta[kStepKey] = std::to_string(checkpoint.step);
    meta[kSeedKey] = std::to_string(checkpoint.rng.seed);
    meta[kOffsetKey] = std::to_string(checkpoint.rng.offset);

    TensorList tensors;
    for (const Section& s : kSections)
        for (const auto& [name, t] : checkpoint.*s.member) {
            MG_CHECK(!name.empty(), "checkpoint: writing '{}': an empty tensor name in section '{}'", path, s.prefix);
            tensors.emplace_back(std::string(s.prefix) + name, t);
        }
    save_safetensors(path, tensors, meta);
}

Checkpoint load_checkpoint(const std::string& path) {
    SafetensorsContents file = load_safetensors(path);
    auto format = file.metadata.find(kFormatKey);
    MG_CHECK(format != file.metadata.end() && format->second == "checkpoint",
             "checkpoint: '{}' is a safetensors file but not a minigen checkpoint (no {} = checkpoint in its metadata); "
             "load_safetensors reads plain weight files",
             path, kFormatKey);
    MG_CHECK(parse_u64(file.metadata, kVersionKey, path) == 1,
             "checkpoint: '{}': format version {} is not supported (this minigen reads version 1)", path,
             file.metadata[kVersionKey]);

    Checkpoint out;
    uint64_t step = parse_u64(file.metadata, kStepKey, path);
    MG_CHECK(step <= uint64_t(INT64_MAX), "checkpoint: '{}': step {} is out of range", path, step);
    out.step = int64_t(step);
    out.rng.seed = parse_u64(file.metadata, kSeedKey, path);
    out.rng.offset = parse_u64(file.metadata, kOffsetKey, path);
    for (const auto& [key, value] : file.metadata) {
        if (!starts_with(key, kReserved)) {
            out.metadata[key] = value;
            continue;
        }
        MG_CHECK(key == kFormatKey || key == kVersionKey || key == kStepKey || key == kSeedKey || key == kOffsetKey,
                 "checkpoint: '{}': unknown reserved metadata key '{}'", path, key);
    }
    for (auto& [name, t] : file.tensors) {
        bool placed = false;
        for (const Section& s : kSections) {
            if (!starts_with(name, s.prefix) || name.size() == std::string(s.prefix).size()) continue;
            (out.*s.member)[name.substr(std::string(s.prefix).size())] = t;
            placed = true;
            break;
        }
        MG_CHECK(placed, "checkpoint: '{}': tensor '{}' is in no section (expected a model., optim. or extra. prefix)",
                 path, name);
    }
    return out;
}

void load_into(const TensorMap& destination, const TensorMap& source, const std::string& context) {
    std::vector<std::string> missing, unexpected, mismatched;
    for (const auto& [name, dst] : destination) {
        auto it = source.find(name);
        if (it == source.end()) {
            missing.push_back(name);
            continue;
        }
        const Tensor& src = it->second;
        MG_CHECK(dst.defined() && src.defined(), "{}: tensor '{}' is undefined", context, name);
        if (src.shape() != dst.shape() || src.dtype() != dst.dtype())
            mismatched.push_back(fmt::format("'{}' is {} {} in the source, {} {} in the destination", name, src.shape(),
                                             src.dtype(), dst.shape(), dst.dtype()));
    }
    for (const auto& [name, src] : source)
        if (!destination.count(name)) unexpected.push_back(name);
    if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
        auto list = [](const std::vector<std::string>& v) {
            std::string s;
            for (size_t i = 0; i < v.size() && i < 10; ++i) s += (i ? ", " : "") + v[i];
            if (v.size() > 10) s += fmt::format(", ... ({} in all)", v.size());
            return s;
        };
        std::string msg = fmt::format("{}: cannot load, nothing was changed:", context);
        if (!missing.empty()) msg += fmt::format(" missing in the source: {};", list(missing));
        if (!unexpected.empty()) msg += fmt::format(" not in the destination: {};", list(unexpected));
        if (!mismatched.empty()) msg += fmt::format(" {};", list(mismatched));
        msg.pop_back();
        throw Error(msg);
    }
    autograd::NoGradGuard no_grad;
    for (const auto& [name, dst] : destination) {
        Tensor d = dst;
        d.copy_(source.at(name));
    }
}

}  // namespace mg::io
