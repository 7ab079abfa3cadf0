#include "core/data/image_folder.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::data {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if there is none.
size_t utf8_sequence(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return uint8_t(s[k]); };
    const uint8_t c = b(i);
    if (c < 0x80) return 1;
    const size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    return n;
}

struct Walk {
    std::string root;
    const FolderScanOptions& options;
    std::set<std::pair<dev_t, ino_t>> seen_dirs;
    std::map<std::string, std::vector<ImageFile>> by_class;  // "" for images directly in root
    int64_t count = 0;

    // Walks `dir` (root + rel). `cls`: the class of images found here (top level: "").
    void directory(const std::string& dir, const std::string& cls, int depth) {
        MG_CHECK(depth <= options.max_depth, "folder {}: folders nested more than {} deep (at {})",
                 printable_name(root), options.max_depth, printable_name(dir));
        DIR* d = ::opendir(dir.c_str());
        const int err = errno;
        MG_CHECK(d != nullptr, "folder {}: cannot read {}: {}", printable_name(root), printable_name(dir),
                 std::strerror(err));
        std::vector<std::string> names;
        while (const dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') names.emplace_back(e->d_name);  // also skips "." and ".."
        ::closedir(d);
        std::sort(names.begin(), names.end());
        // Real folders before symlinks to folders: a folder reached both ways is walked
        // (and named, for a class) through its real entry.
        std::vector<std::string> linked_dirs;
        for (const std::string& name : names) {
            const std::string path = dir + "/" + name;
            struct stat st {}, lst {};
            if (::stat(path.c_str(), &st) != 0) continue;  // a broken symlink, or gone since
            if (S_ISDIR(st.st_mode)) {
                if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) linked_dirs.push_back(name);
                else subdirectory(path, name, cls, depth, st);
            } else if (S_ISREG(st.st_mode) && is_image_file_name(name)) {
                MG_CHECK(++count <= options.max_files, "folder {}: more than {} images", printable_name(root),
                         options.max_files);
                by_class[cls].push_back(
                    {path, 0, uint64_t(st.st_size), int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec});
            }
        }
        for (const std::string& name : linked_dirs) {
            const std::string path = dir + "/" + name;
            struct stat st {};
            if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) subdirectory(path, name, cls, depth, st);
        }
    }

    void subdirectory(const std::string& path, const std::string& name, const std::string& cls, int depth,
                      const struct stat& st) {
        if (!seen_dirs.insert({st.st_dev, st.st_ino}).second) return;  // a loop, or a second way in
        directory(path, depth == 0 ? name : cls, depth + 1);
    }
};

}  // namespace

bool is_image_file_name(std::string_view name) {
    const size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    std::string ext(name.substr(dot + 1));
    for (char& c : ext) c = char(std::tolower(uint8_t(c)));
    return ext == "png" || ext == "jpg" || ext == "jpeg";
}

std::string printable_name(std::string_view name) {
    std::string out = "'";
    for (size_t i = 0; i < name.size();) {
        const size_t n = utf8_sequence(name, i);
        const uint8_t c = uint8_t(name[i]);
        if (n == 0 || c < 0x20 || c == 0x7F) {
            out += fmt::format("\\x{:02x}", c);
            ++i;
        } else {
            out.append(name.substr(i, n));
            i += n;
        }
    }
    return io::quote_short(out + "'", 200);
}

ImageFolder scan_image_folder(const std::string& dir_in, const FolderScanOptions& options) {
    std::string dir = dir_in;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    struct stat st {};
    const int err = ::stat(dir.c_str(), &st) == 0 ? 0 : errno;
    MG_CHECK(err == 0, "folder {}: {}", printable_name(dir),
             err == ENOENT ? std::string("no such folder") : std::string(std::strerror(err)));
    MG_CHECK(S_ISDIR(st.st_mode), "folder {}: not a directory", printable_name(dir));

    Walk walk{dir, options, {}, {}, 0};
    walk.seen_dirs.insert({st.st_dev, st.st_ino});
    walk.directory(dir, "", 0);
    MG_CHECK(!walk.by_class.empty(), "folder {}: no images in it (looked for .png, .jpg and .jpeg files, "
             "in sub-folders too)", printable_name(dir));
    const bool loose = walk.by_class.count("") != 0;
    MG_CHECK(!loose || walk.by_class.size() == 1,
             "folder {}: images both directly in it ({} such as {}) and in class folders ({}): put every image in a "
             "class folder, or all of them in one folder", printable_name(dir), walk.by_class[""].size(),
             printable_name(walk.by_class[""].front().path), printable_name(std::next(walk.by_class.begin())->first));

    ImageFolder folder;
    folder.root = dir;
    for (auto& [cls, files] : walk.by_class) {  // std::map: bytewise class order
        MG_CHECK(int64_t(files.size()) >= options.min_images_per_class,
                 "folder {}: class {} has {} image{}; a class needs at least {} so that it can be split into "
                 "training and held-out images", printable_name(dir), printable_name(cls), files.size(),
                 files.size() == 1 ? "" : "s", options.min_images_per_class);
        const int64_t label = int64_t(folder.classes.size());
        folder.classes.push_back(cls);
        std::sort(files.begin(), files.end(), [](const ImageFile& a, const ImageFile& b) { return a.path < b.path; });
        for (ImageFile& f : files) {
            f.label = label;
            folder.files.push_back(std::move(f));
        }
    }
    return folder;
}

}  // namespace mg::data
