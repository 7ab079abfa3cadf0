#include "core/data/image_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <omp.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/io/input.h"
#include "core/io/sha256.h"
#include "core/io/temp_files.h"
#include "core/progress.h"
#include "kernels/base.h"

namespace mg::data {

static_assert(std::endian::native == std::endian::little, "the image cache is written little-endian");

namespace {

constexpr char kMagic[8] = {'M', 'G', 'I', 'M', 'G', 'P', 'K', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 112;  // fixed fields and the key; class names follow
constexpr uint64_t kKeyOffset = 48, kKeyChars = 64;
constexpr int64_t kMaxSide = 1 << 15;

uint64_t align64(uint64_t n) { return (n + 63) / 64 * 64; }

template <class T> T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class T> void store(uint8_t* p, T v) { std::memcpy(p, &v, sizeof v); }

void log_message(const ImageCacheOptions& options, const std::string& message) {
    if (options.log) options.log(message);
    else fmt::print(stderr, "{}\n", message);
}

std::string settings_text(const ImageCacheOptions& o) {
    return fmt::format("size={}x{} channels={} filter={} fit={} background={},{},{} skip_bad={}", o.height, o.width,
                       o.channels, resize_filter_name(o.filter), o.fit == Fit::cover ? "cover" : "stretch",
                       o.background[0], o.background[1], o.background[2], o.skip_bad ? 1 : 0);
}

void check_options(const ImageCacheOptions& o) {
    MG_CHECK(!o.cache_dir.empty(), "image cache: no cache folder given");
    MG_CHECK(o.channels == 1 || o.channels == 3, "image cache: {} channels; 1 (grey) or 3 (RGB) are possible",
             o.channels);
    MG_CHECK(o.height >= 1 && o.width >= 1 && o.height <= kMaxSide && o.width <= kMaxSide,
             "image cache: image size {}x{} is outside 1..{}", o.height, o.width, kMaxSide);
}

// A file descriptor closed on scope exit.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// One image, decoded and fitted, into `slot` as [C, H, W].
void prepare_image(const std::string& path, const ImageCacheOptions& o, uint8_t* slot) {
    io::DecodeOptions decode;
    decode.channels = int(o.channels);
    decode.background = o.background;
    const io::ImageU8 hwc = fit_to(io::read_image(path, decode), o.height, o.width, o.filter, o.fit);
    const int64_t C = o.channels, plane = o.height * o.width;
    for (int64_t i = 0; i < plane; ++i)
        for (int64_t c = 0; c < C; ++c) slot[c * plane + i] = hwc.pixels[size_t(i * C + c)];
}

// Decodes every image of `folder` into a new cache file at `path` (see the header's layout).
void build_cache(const ImageFolder& folder, const ImageCacheOptions& o, const std::string& key,
                 const std::string& path) {
    const uint64_t n = folder.files.size();
    const uint64_t image_bytes = uint64_t(o.channels * o.height * o.width);
    std::string names;
    for (const std::string& c : folder.classes) {
        const uint32_t len = uint32_t(c.size());
        names.append(reinterpret_cast<const char*>(&len), 4).append(c);
    }
    const uint64_t pixel_offset = align64(kHeaderBytes + names.size());
    const uint64_t full_size = pixel_offset + n * image_bytes + 4 * n;

    const std::string tmp = io::temp_path(path);
    Fd file;
    file.fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    MG_CHECK(file.fd >= 0, "image cache {}: cannot create {}: {}", path, tmp, std::strerror(errno));
    // Removes the temporary unless it was renamed into place.
    struct Cleanup {
        const std::string& tmp;
        bool armed = true;
        ~Cleanup() {
            if (armed) ::unlink(tmp.c_str());
        }
    } cleanup{tmp};
    MG_CHECK(::ftruncate(file.fd, off_t(full_size)) == 0, "image cache {}: cannot size {} to {} bytes: {}", path, tmp,
             full_size, std::strerror(errno));
    void* mapped = ::mmap(nullptr, full_size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0);
    MG_CHECK(mapped != MAP_FAILED, "image cache {}: cannot map {}: {}", path, tmp, std::strerror(errno));
    struct Unmap {
        void* p;
        size_t n;
        ~Unmap() { ::munmap(p, n); }
    } unmap{mapped, full_size};
    uint8_t* base = static_cast<uint8_t*>(mapped);

    // Decode in parallel; errors are kept per image and reported in file order.
    std::vector<std::string> errors(n);
    std::atomic<int64_t> done{0};
    std::atomic<bool> stop{false};
    CountProgress progress(fmt::format("decoding {} images of {}", n, printable_name(folder.root)), int64_t(n), "img",
                           o.progress);
    const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
    for (int64_t i = 0; i < int64_t(n); ++i) {
        if (stop.load(std::memory_order_relaxed)) continue;
        try {
            prepare_image(folder.files[size_t(i)].path, o, base + pixel_offset + uint64_t(i) * image_bytes);
        } catch (const std::exception& e) {
            errors[size_t(i)] = e.what();
            if (!o.skip_bad) stop = true;
        }
        const int64_t now = ++done;
        if (omp_get_thread_num() == 0) progress.update(now);
    }
    progress.finish(done.load());

    // Without skip_bad the first bad image (in file order) is the error; with it, the good
    // images move down over the bad ones.
    uint64_t kept = 0, skipped = 0;
    std::vector<int32_t> labels;
    for (uint64_t i = 0; i < n; ++i) {
        if (!errors[i].empty()) {
            MG_CHECK(o.skip_bad, "{} (--skip-bad leaves out images that do not decode)", errors[i]);
            if (skipped < 10) log_message(o, fmt::format("skipping: {}", errors[i]));
            ++skipped;
            continue;
        }
        if (kept != i)
            std::memmove(base + pixel_offset + kept * image_bytes, base + pixel_offset + i * image_bytes, image_bytes);
        labels.push_back(int32_t(folder.files[i].label));
        ++kept;
    }
    if (skipped > 0)
        log_message(o, fmt::format("folder {}: skipped {} of {} images that did not decode", printable_name(folder.root),
                                   skipped, n));
    MG_CHECK(kept > 0, "folder {}: none of its {} images could be decoded", printable_name(folder.root), n);

    std::memcpy(base + pixel_offset + kept * image_bytes, labels.data(), 4 * kept);
    std::memcpy(base, kMagic, 8);
    store<uint32_t>(base + 8, kVersion);
    store<uint32_t>(base + 12, uint32_t(o.channels));
    store<uint32_t>(base + 16, uint32_t(o.height));
    store<uint32_t>(base + 20, uint32_t(o.width));
    store<uint64_t>(base + 24, kept);
    store<uint64_t>(base + 32, skipped);
    store<uint32_t>(base + 40, uint32_t(folder.classes.size()));
    store<uint32_t>(base + 44, uint32_t(names.size()));
    std::memcpy(base + kKeyOffset, key.data(), kKeyChars);
    std::memcpy(base + kHeaderBytes, names.data(), names.size());
    const uint64_t final_size = pixel_offset + kept * image_bytes + 4 * kept;

    int err = ::msync(mapped, full_size, MS_SYNC) == 0 ? 0 : errno;
    if (err == 0 && ::ftruncate(file.fd, off_t(final_size)) != 0) err = errno;
    if (err == 0 && ::fsync(file.fd) != 0 && errno != EINVAL) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    MG_CHECK(err == 0, "image cache {}: cannot write it: {}", path, std::strerror(err));
    cleanup.armed = false;
}

}  // namespace

struct PackedImages::Mapping {
    void* data = nullptr;
    size_t size = 0;
    std::vector<uint8_t> owned;  // packed_images_in_memory: data points here, nothing is mapped
    ~Mapping() {
        if (data != nullptr && owned.empty()) ::munmap(data, size);
    }
};

const uint8_t* PackedImages::pixels() const { return static_cast<const uint8_t*>(map_->data) + pixel_offset_; }

const uint8_t* PackedImages::image(int64_t i) const {
    MG_CHECK(i >= 0 && i < count_, "image cache {}: image {} of {}", path_, i, count_);
    return pixels() + uint64_t(i) * uint64_t(channels_ * height_ * width_);
}

int64_t PackedImages::label(int64_t i) const {
    MG_CHECK(i >= 0 && i < count_, "image cache {}: label {} of {}", path_, i, count_);
    return load<int32_t>(static_cast<const uint8_t*>(map_->data) + label_offset_ + 4 * uint64_t(i));
}

PackedImages read_image_cache(const std::string& path) {
    io::require_regular_file(path, "image cache");
    Fd file;
    file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    MG_CHECK(file.fd >= 0, "image cache {}: cannot open it: {}", path, std::strerror(errno));
    struct stat st {};
    MG_CHECK(::fstat(file.fd, &st) == 0, "image cache {}: cannot stat it: {}", path, std::strerror(errno));
    const uint64_t size = uint64_t(st.st_size);
    MG_CHECK(size >= kHeaderBytes, "image cache {}: {} bytes, cut short inside the {}-byte header", path, size,
             kHeaderBytes);
    uint8_t header[kHeaderBytes];
    MG_CHECK(::pread(file.fd, header, kHeaderBytes, 0) == ssize_t(kHeaderBytes), "image cache {}: cannot read the header",
             path);
    MG_CHECK(std::memcmp(header, kMagic, 8) == 0, "image cache {}: not a minigen image cache (bad magic at offset 0)",
             path);
    const uint32_t version = load<uint32_t>(header + 8);
    MG_CHECK(version == kVersion, "image cache {}: version {} at offset 8, this build reads {}", path, version,
             kVersion);
    PackedImages p;
    p.path_ = path;
    p.channels_ = load<uint32_t>(header + 12);
    p.height_ = load<uint32_t>(header + 16);
    p.width_ = load<uint32_t>(header + 20);
    const uint64_t count = load<uint64_t>(header + 24), skipped = load<uint64_t>(header + 32);
    const uint32_t classes = load<uint32_t>(header + 40), names_bytes = load<uint32_t>(header + 44);
    MG_CHECK(p.channels_ == 1 || p.channels_ == 3, "image cache {}: {} channels at offset 12", path, p.channels_);
    MG_CHECK(p.height_ >= 1 && p.height_ <= kMaxSide && p.width_ >= 1 && p.width_ <= kMaxSide,
             "image cache {}: image size {}x{} at offset 16", path, p.height_, p.width_);
    MG_CHECK(names_bytes <= size - kHeaderBytes, "image cache {}: {} bytes of class names at offset 44, more than the "
             "file's {} bytes hold", path, names_bytes, size);
    const uint64_t image_bytes = uint64_t(p.channels_ * p.height_ * p.width_);
    const uint64_t pixel_offset = align64(kHeaderBytes + names_bytes);
    const unsigned __int128 expected = (unsigned __int128)count * (image_bytes + 4) + pixel_offset;
    MG_CHECK(expected == size, "image cache {}: {} images at offset 24 need {} bytes, the file has {} (cut short, or "
             "a header that lies)", path, count, fmt::to_string(expected), size);
    MG_CHECK(count >= 1 && classes >= 1 && classes <= count, "image cache {}: {} images of {} classes at offset 24",
             path, count, classes);
    p.count_ = int64_t(count);
    p.skipped_ = int64_t(skipped);
    p.key_.assign(reinterpret_cast<const char*>(header + kKeyOffset), kKeyChars);

    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
    MG_CHECK(data != MAP_FAILED, "image cache {}: cannot map it: {}", path, std::strerror(errno));
    auto map = std::make_shared<PackedImages::Mapping>();
    map->data = data, map->size = size;
    p.map_ = map;
    const uint8_t* base = static_cast<const uint8_t*>(data);

    uint64_t at = kHeaderBytes;
    const uint64_t names_end = kHeaderBytes + names_bytes;
    for (uint32_t c = 0; c < classes; ++c) {
        MG_CHECK(at + 4 <= names_end, "image cache {}: class names end early at offset {}", path, at);
        const uint32_t len = load<uint32_t>(base + at);
        MG_CHECK(len <= names_end - at - 4, "image cache {}: a class name of {} bytes at offset {} runs past the names",
                 path, len, at);
        p.classes_.emplace_back(reinterpret_cast<const char*>(base + at + 4), len);
        at += 4 + len;
    }
    MG_CHECK(at == names_end, "image cache {}: {} stray bytes after the class names at offset {}", path,
             names_end - at, at);
    p.pixel_offset_ = pixel_offset;
    p.label_offset_ = pixel_offset + count * image_bytes;
    for (uint64_t i = 0; i < count; ++i) {
        const int32_t label = load<int32_t>(base + p.label_offset_ + 4 * i);
        MG_CHECK(label >= 0 && uint32_t(label) < classes, "image cache {}: label {} at offset {} is not one of {} classes",
                 path, label, p.label_offset_ + 4 * i, classes);
    }
    return p;
}

std::string image_cache_key(const ImageFolder& folder, const ImageCacheOptions& options) {
    std::string text = fmt::format("minigen image cache v{}\n{}\n", kVersion, settings_text(options));
    for (const std::string& c : folder.classes) text += fmt::format("class {} {}\n", c.size(), c);
    for (const ImageFile& f : folder.files) {  // paths below the root: DIR given as ./x or /abs/x is one folder
        const std::string_view below = std::string_view(f.path).substr(folder.root.size());
        text += fmt::format("{} {} {} {} {}\n", below.size(), below, f.bytes, f.mtime_ns, f.label);
    }
    return io::sha256_hex(text.data(), text.size());
}

std::string default_cache_base() {
    const auto env = [](const char* name) -> std::string {
        const char* v = std::getenv(name);
        return v != nullptr ? std::string(v) : std::string();
    };
    std::string base = env("MINIGEN_CACHE_DIR");
    if (base.empty() && !env("XDG_CACHE_HOME").empty()) base = env("XDG_CACHE_HOME") + "/minigen";
    if (base.empty() && !env("HOME").empty()) base = env("HOME") + "/.cache/minigen";
    MG_CHECK(!base.empty(), "no cache folder: set MINIGEN_CACHE_DIR (or HOME)");
    return base;
}

std::string default_image_cache_dir() { return default_cache_base() + "/images"; }

PackedImages packed_images_in_memory(std::vector<uint8_t> pixels, std::vector<int32_t> labels,
                                     std::vector<std::string> classes, int64_t channels, int64_t height,
                                     int64_t width, std::string name) {
    const uint64_t n = labels.size(), image_bytes = uint64_t(channels * height * width);
    MG_CHECK(n > 0 && channels >= 1 && height >= 1 && width >= 1 && pixels.size() == n * image_bytes,
             "{}: {} pixels for {} images of {}x{}x{}", name, pixels.size(), n, channels, height, width);
    for (uint64_t i = 0; i < n; ++i)
        MG_CHECK(labels[i] >= 0 && uint64_t(labels[i]) < classes.size(), "{}: label {} of image {} is outside 0..{}",
                 name, labels[i], i, int64_t(classes.size()) - 1);
    auto map = std::make_shared<PackedImages::Mapping>();
    map->owned = std::move(pixels);
    map->owned.resize(n * image_bytes + 4 * n);
    std::memcpy(map->owned.data() + n * image_bytes, labels.data(), 4 * n);
    map->data = map->owned.data();
    map->size = map->owned.size();
    PackedImages p;
    p.map_ = std::move(map);
    p.count_ = int64_t(n);
    p.channels_ = channels;
    p.height_ = height;
    p.width_ = width;
    p.pixel_offset_ = 0;
    p.label_offset_ = n * image_bytes;
    p.classes_ = std::move(classes);
    p.path_ = std::move(name);
    return p;
}

PackedImages open_image_folder(const std::string& dir, const ImageCacheOptions& options) {
    check_options(options);
    return open_image_files(scan_image_folder(dir, options.scan), options);
}

PackedImages open_image_files(const ImageFolder& folder, const ImageCacheOptions& options) {
    check_options(options);
    MG_CHECK(!folder.files.empty(), "{}: no images", printable_name(folder.root));
    const std::string key = image_cache_key(folder, options);
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(options.cache_dir, ec);
    MG_CHECK(fs::is_directory(options.cache_dir), "image cache folder {}: cannot create it{}",
             printable_name(options.cache_dir), ec ? ": " + ec.message() : std::string());
    io::remove_stale_temporaries(options.cache_dir);
    const std::string real = fs::weakly_canonical(folder.root, ec).string();
    const std::string selection = folder.selection.empty() ? "" : folder.selection + "\n";
    const std::string name_text = (ec ? folder.root : real) + "\n" + selection + settings_text(options);
    const std::string path =
        options.cache_dir + "/" + io::sha256_hex(name_text.data(), name_text.size()).substr(0, 32) + ".mgimg";

    if (::access(path.c_str(), F_OK) == 0) {
        try {
            PackedImages hit = read_image_cache(path);
            if (hit.key_ == key) return hit;
            log_message(options, fmt::format("image cache {}: the folder's images changed (added, removed or modified); "
                                             "rebuilding", path));
        } catch (const Error& e) {
            log_message(options, fmt::format("{}; rebuilding it", e.what()));
        }
    }
    build_cache(folder, options, key, path);
    PackedImages built = read_image_cache(path);
    MG_CHECK(built.key_ == key, "image cache {}: another process replaced it while it was built", path);
    built.built_ = true;
    return built;
}

}  // namespace mg::data
