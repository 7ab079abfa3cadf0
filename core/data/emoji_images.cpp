// The emoji: image source (core/data/image_dataset.h): emoji.json of each installed
// emoji-datasource-<vendor> package lists the images and their categories.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/data/image_dataset.h"
#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::data {

namespace {

struct EmojiImage {
    std::string file;      // name below img/<vendor>/64/
    std::string category;
};

constexpr size_t kMaxEntries = 100'000;

// A file name from emoji.json: a plain .png name, nothing that leaves the image folder.
bool plain_png_name(const std::string& name) {
    return !name.empty() && name.size() <= 255 && name.find('/') == std::string::npos && name[0] != '.' &&
           name.find('\0') == std::string::npos && is_image_file_name(name);
}

const std::string& string_field(const nlohmann::json& entry, const char* field, const std::string& json_path, size_t i) {
    const auto it = entry.find(field);
    MG_CHECK(it != entry.end() && it->is_string(), "{}: entry {} has no string field '{}'", json_path, i, field);
    return it->get_ref<const std::string&>();
}

// Every image of `vendor` that emoji.json lists, skin-tone variants after their base emoji.
std::vector<EmojiImage> read_emoji_json(const std::string& json_path, const std::string& vendor) {
    const nlohmann::json root = io::parse_json(io::read_text_file(json_path, "emoji.json", 32ull << 20), json_path);
    MG_CHECK(root.is_array(), "{}: expected a JSON array of emoji", json_path);
    MG_CHECK(root.size() <= kMaxEntries, "{}: {} entries, more than {}", json_path, root.size(), kMaxEntries);
    const std::string has_image = "has_img_" + vendor;
    std::vector<EmojiImage> images;
    for (size_t i = 0; i < root.size(); ++i) {
        const nlohmann::json& e = root[i];
        MG_CHECK(e.is_object(), "{}: entry {} is not an object", json_path, i);
        const std::string& category = string_field(e, "category", json_path, i);
        std::vector<const nlohmann::json*> variants = {&e};
        if (const auto skins = e.find("skin_variations"); skins != e.end()) {
            MG_CHECK(skins->is_object(), "{}: entry {}: skin_variations is not an object", json_path, i);
            for (const auto& [key, v] : skins->items()) {
                MG_CHECK(v.is_object(), "{}: entry {}: skin variation {} is not an object", json_path, i,
                         io::quote_short(key));
                variants.push_back(&v);
            }
        }
        for (const nlohmann::json* v : variants) {
            const auto flag = v->find(has_image);
            if (flag == v->end() || !flag->is_boolean() || !flag->get<bool>()) continue;
            const std::string& file = string_field(*v, "image", json_path, i);
            MG_CHECK(plain_png_name(file), "{}: entry {}: image {} is not a plain .png file name", json_path, i,
                     printable_name(file));
            if (category != "Component") images.push_back({file, category});
        }
        MG_CHECK(images.size() <= kMaxEntries, "{}: more than {} images", json_path, kMaxEntries);
    }
    MG_CHECK(!images.empty(), "{}: no {} images", json_path, vendor);
    return images;
}

}  // namespace

ImageDataset open_emoji_images(const std::vector<std::string>& vendors, const std::string& npm_dir,
                               const ImageCacheOptions& options) {
    MG_CHECK(!vendors.empty(), "emoji: no vendor (google, twitter)");
    const std::string modules = npm_dir + "/node_modules";
    std::vector<std::vector<EmojiImage>> lists;
    std::map<std::string, int64_t> class_of;
    for (const std::string& vendor : vendors) {
        MG_CHECK(vendor == "google" || vendor == "twitter", "emoji: unknown vendor {}; valid: google, twitter",
                 io::quote_short(vendor));
        const std::string package = modules + "/emoji-datasource-" + vendor;
        MG_CHECK(std::filesystem::is_directory(package),
                 "emoji: {} is not installed (tools/run installs emoji-datasource-{}@{} into {}; MINIGEN_NPM_DIR "
                 "names another folder)", package, vendor, kEmojiDatasourceVersion, npm_dir);
        lists.push_back(read_emoji_json(package + "/emoji.json", vendor));
        for (const EmojiImage& im : lists.back()) class_of[im.category] = 0;
    }
    ImageFolder folder;
    folder.root = modules;
    for (const std::string& vendor : vendors) folder.selection += (folder.selection.empty() ? "emoji:" : ",") + vendor;
    for (auto& [name, label] : class_of) {  // std::map: sorted by name
        label = int64_t(folder.classes.size());
        folder.classes.push_back(name);
    }
    std::vector<std::map<std::string, int64_t>> index_of(vendors.size());
    for (size_t v = 0; v < vendors.size(); ++v)
        for (const EmojiImage& im : lists[v]) {
            ImageFile f;
            f.path = modules + "/emoji-datasource-" + vendors[v] + "/img/" + vendors[v] + "/64/" + im.file;
            struct stat st {};
            MG_CHECK(::stat(f.path.c_str(), &st) == 0 && S_ISREG(st.st_mode), "emoji: {} is listed in emoji.json but "
                     "is not a file", printable_name(f.path));
            f.bytes = uint64_t(st.st_size);
            f.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
            f.label = class_of.at(im.category);
            index_of[v][im.file] = int64_t(folder.files.size());
            folder.files.push_back(std::move(f));
        }
    ImageDataset d;
    d.images = open_image_files(folder, options);
    MG_CHECK(d.images.size() == int64_t(folder.files.size()), "emoji: {} of {} images decoded (skip_bad must be off)",
             d.images.size(), folder.files.size());
    if (vendors.size() == 2)
        for (const auto& [file, i] : index_of[0])
            if (const auto it = index_of[1].find(file); it != index_of[1].end()) d.pairs.emplace_back(i, it->second);
    std::sort(d.pairs.begin(), d.pairs.end());
    return d;
}

}  // namespace mg::data
