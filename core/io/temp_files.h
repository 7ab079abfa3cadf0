// The temporary files of atomic writes. Every writer in core/io names its temporary
// "<target>.tmp.<pid>" (plus ".XXXXXX" where it needs a unique name), written beside the
// target and renamed over it. A process killed mid-write (kill -9, a power cut) leaves one
// behind; the pid in the name tells whether its writer is still running.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mg::io {

// "<target>.tmp.<pid of this process>"
std::string temp_path(const std::string& target);

// Removes the files in `dir` (not below it) named like a temporary of an atomic write
// ("*.tmp.<pid>", "*.tmp.<pid>.XXXXXX", and the older "*.tmp-<pid>") whose pid is not a
// running process. Returns the paths removed; a directory that does not exist has none.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// Replaces `path` with `bytes` atomically: written to temp_path(path), flushed, renamed
// over it. On failure the temporary is removed and `path` is untouched.
void write_file_atomically(const std::string& path, std::string_view bytes);

// Whether a process with this pid exists (one we may not signal counts).
bool process_alive(long pid);

}  // namespace mg::io
