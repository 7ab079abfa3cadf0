#include "core/io/temp_files.h"

#include <signal.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "kernels/base.h"

namespace mg::io {

namespace fs = std::filesystem;

std::string temp_path(const std::string& target) { return fmt::format("{}.tmp.{}", target, ::getpid()); }

void write_file_atomically(const std::string& path, std::string_view bytes) {
    const std::string tmp = temp_path(path);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    MG_CHECK(fd >= 0, "cannot write '{}': creating '{}' failed: {}", path, tmp, std::strerror(errno));
    size_t done = 0;
    int err = 0;
    while (done < bytes.size() && err == 0) {
        ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) err = w < 0 ? errno : EIO;
        else done += size_t(w);
    }
    if (err == 0 && ::fsync(fd) != 0 && errno != EINVAL) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) {
        ::unlink(tmp.c_str());
        MG_FAIL("cannot write '{}': {}", path, std::strerror(err));
    }
}

bool process_alive(long pid) {
    if (pid <= 0) return true;  // not a pid we can judge: keep the file
    return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

namespace {

// The writer's pid if `name` is a temporary's name, else -1.
long temp_file_pid(const std::string& name) {
    size_t at = name.rfind(".tmp.");
    size_t sep_len = 5;
    if (at == std::string::npos) {
        at = name.rfind(".tmp-");  // tools/report.cpp's naming
        if (at == std::string::npos) return -1;
    }
    size_t i = at + sep_len, digits = 0;
    long pid = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9' && digits < 9) {
        pid = pid * 10 + (name[i] - '0');
        ++i, ++digits;
    }
    if (digits == 0) return -1;
    if (i == name.size()) return pid;
    // mkstemp's suffix: a dot and six characters, nothing else.
    if (name[i] == '.' && name.size() - i == 7) return pid;
    return -1;
}

}  // namespace

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
    std::vector<std::string> removed;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        long pid = temp_file_pid(it->path().filename().string());
        if (pid < 0 || pid == long(::getpid()) || process_alive(pid)) continue;
        std::error_code rm;
        if (fs::remove(it->path(), rm)) removed.push_back(it->path().string());
    }
    return removed;
}

}  // namespace mg::io
