#include "core/io/input.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "kernels/base.h"

namespace mg::io {

void require_regular_file(const std::string& path, std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        MG_FAIL("{} {}: {}", what, path,
                err == ENOENT ? std::string("no such file") : err == ELOOP ? std::string("too many levels of symbolic links")
                                                                           : std::string(std::strerror(err)));
    }
    if (S_ISREG(st.st_mode)) return;
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                                              : "not a plain file";
    MG_FAIL("{} {}: is {}, not a regular file", what, path, kind);
}

std::string read_text_file(const std::string& path, std::string_view what, uint64_t max_bytes) {
    require_regular_file(path, what);
    std::ifstream in(path, std::ios::binary);
    MG_CHECK(in.good(), "{} {}: cannot open the file ({})", what, path, std::strerror(errno));
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    MG_CHECK(size >= 0, "{} {}: cannot read the file", what, path);
    MG_CHECK(uint64_t(size) <= max_bytes, "{} {}: {} bytes, more than the {} this reader accepts", what, path,
             uint64_t(size), max_bytes);
    in.seekg(0);
    std::string text(size_t(size), '\0');
    in.read(text.data(), size);
    MG_CHECK(in.gcount() == size, "{} {}: read {} of {} bytes", what, path, int64_t(in.gcount()), int64_t(size));
    return text;
}

int json_depth(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

nlohmann::json parse_json(std::string_view text, std::string_view what, JsonLimits limits) {
    MG_CHECK(text.size() <= limits.max_bytes, "{}: {} bytes of JSON, more than the {} accepted", what, text.size(),
             limits.max_bytes);
    const int depth = json_depth(text);
    MG_CHECK(depth <= limits.max_depth, "{}: JSON nested {} levels deep (at most {} accepted)", what, depth,
             limits.max_depth);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        MG_FAIL("{}: not valid JSON: {}", what, quote_short(e.what(), 200));
    }
}

std::string quote_short(std::string_view text, size_t max_chars) {
    if (text.size() <= max_chars) return std::string(text);
    return fmt::format("{}... ({} bytes)", text.substr(0, max_chars), text.size());
}

}  // namespace mg::io
