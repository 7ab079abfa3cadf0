#include "core/data/image_dataset.h"

#include <cstdlib>

#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::data {

namespace {

std::vector<std::string_view> split_commas(std::string_view text) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        parts.push_back(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) return parts;
        start = comma + 1;
    }
}

constexpr const char* kSpecs = "folder:DIR, npy:FILE[,labels=FILE][,layout=nhwc|nchw], emoji[:google,twitter]";

ImageDataset open_npy_spec(std::string_view spec, std::string_view rest, const ImageDatasetOptions& options) {
    const std::vector<std::string_view> parts = split_commas(rest);
    std::string labels;
    NpyLayout layout = NpyLayout::automatic;
    for (size_t i = 1; i < parts.size(); ++i) {
        const std::string_view p = parts[i];
        if (p.starts_with("labels=") && p.size() > 7) labels = std::string(p.substr(7));
        else if (p == "layout=nhwc") layout = NpyLayout::nhwc;
        else if (p == "layout=nchw") layout = NpyLayout::nchw;
        else
            MG_FAIL("--data {}: unknown npy option {}; valid: labels=FILE, layout=nhwc, layout=nchw",
                    io::quote_short(spec), io::quote_short(p));
    }
    MG_CHECK(!parts[0].empty(), "--data {}: npy: needs a file name", io::quote_short(spec));
    return {std::string(spec), open_npy_images(std::string(parts[0]), labels, layout, options.cache), {}};
}

}  // namespace

std::string default_npm_dir() {
    const char* env = std::getenv("MINIGEN_NPM_DIR");
    if (env != nullptr && *env != '\0') return env;
    return default_cache_base() + "/npm";
}

ImageDataset open_image_dataset(std::string_view spec, const ImageDatasetOptions& options) {
    if (spec.starts_with("folder:") && spec.size() > 7)
        return {std::string(spec), open_image_folder(std::string(spec.substr(7)), options.cache), {}};
    if (spec.starts_with("npy:")) return open_npy_spec(spec, spec.substr(4), options);
    if (spec == "emoji" || spec.starts_with("emoji:")) {
        std::vector<std::string> vendors;
        if (spec == "emoji") vendors = {"google", "twitter"};
        else
            for (std::string_view v : split_commas(spec.substr(6))) {
                MG_CHECK(v == "google" || v == "twitter", "--data {}: unknown emoji vendor {}; valid: google, twitter",
                         io::quote_short(spec), io::quote_short(v));
                for (const std::string& seen : vendors)
                    MG_CHECK(seen != v, "--data {}: vendor {} is named twice", io::quote_short(spec), seen);
                vendors.emplace_back(v);
            }
        ImageDataset d = open_emoji_images(vendors, options.npm_dir.empty() ? default_npm_dir() : options.npm_dir,
                                           options.cache);
        d.source = std::string(spec);
        return d;
    }
    MG_FAIL("--data {}: unknown data source; valid: {}", io::quote_short(spec), kSpecs);
}

}  // namespace mg::data
