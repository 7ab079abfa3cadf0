// safetensors files: named tensors behind a JSON header, the format PyTorch, JAX and
// Hugging Face tools read (https://github.com/huggingface/safetensors).
//
//   bytes 0..7      N, the header length, unsigned 64-bit little-endian
//   bytes 8..8+N    JSON: {"__metadata__": {string: string},
//                          "<name>": {"dtype": "F32"|"F64"|"I64"|"U8", "shape": [d0, ...],
//                                     "data_offsets": [begin, end]}, ...}
//                   padded with spaces (and only spaces) so that the data starts at a
//                   multiple of 8
//   then            the data section: each tensor's row-major little-endian bytes at
//                   [begin, end) relative to its start; tensors follow one another
//                   in header order, without gaps
//
// Writing is atomic: the file is written to "<path>.tmp.<pid>", flushed to disk, and
// renamed over `path`, so a reader sees the old file or the new one, never a part.
// On any error the temporary file is removed and `path` is left as it was.
//
// Reading refuses a path that is not a regular file (a FIFO would block), and checks
// everything before it returns anything (sizes are checked against the real file size
// before they are trusted): the header length, that the header is a JSON object with no
// duplicate keys and no NUL byte (the padding is spaces), each tensor's dtype, shape and
// offsets, that the tensors tile the data section exactly (no overlap, no gap, nothing
// after the last), and that the metadata maps strings to strings. Each failure is an mg::Error naming
// the file, the tensor and the problem, with the byte offset where one applies.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace mg::io {

using TensorList = std::vector<std::pair<std::string, Tensor>>;  // in file order
using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContents {
    TensorMap tensors;  // dense CPU tensors, owned (not views of a file)
    Metadata metadata;
};

// Tensors on any device and in any layout; they are written dense, in the given order.
// Names must be unique and not "__metadata__".
void save_safetensors(const std::string& path, const TensorList& tensors, const Metadata& metadata = {});
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

SafetensorsContents load_safetensors(const std::string& path);
// The same checks on a file image in memory (e.g. weights built into the binary);
// `name` stands for the path in messages.
SafetensorsContents load_safetensors(const void* bytes, size_t size, const std::string& name);

// "F32", "F64", "I64", "U8".
std::string safetensors_dtype(DType dtype);

}  // namespace mg::io
