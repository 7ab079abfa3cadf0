// IDX files, the format MNIST and Fashion-MNIST ship in.
//
//   bytes 0-1  zero
//   byte  2    type code (0x08 = uint8, the only one read here)
//   byte  3    number of dimensions
//   then one big-endian uint32 per dimension, then the values in row-major order.
//
//   images: magic 0x00000803, dims [n, rows, cols]     labels: magic 0x00000801, dims [n]
//
// Files may be gzip-compressed (they start with the gzip magic 1f 8b) or plain. Only
// regular files are read (a FIFO would block). The header is checked before any data is
// read, by this reader (the dims promise at most kIdxMaxBytes, and a plain file's size
// must match) and by the caller (check_dims: what it expects, e.g. 28x28 images), so a
// small gzip file that promises gigabytes costs nothing. Nothing past what the header
// promises is accepted: a short file, extra bytes, a corrupt gzip stream, a gzip stream
// whose trailer (CRC-32 and length) is missing or cut short, or bytes after the stream
// that are not another gzip member are each an mg::Error naming the file, the offset and
// the byte counts.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mg::data {

constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // uint8, 1 dimension
constexpr uint32_t kIdxImagesMagic = 0x00000803;  // uint8, 3 dimensions

// Largest data block accepted (bytes): far above any IDX data set, far below what
// a corrupt header could ask a machine to allocate.
constexpr int64_t kIdxMaxBytes = int64_t(1) << 32;

// Called with the header's dims before any data is read or allocated; throws (naming the
// file) when they are not what the caller can use.
using IdxDimsCheck = std::function<void(const std::vector<int64_t>& dims)>;

// Reads a uint8 IDX file with `ndim` dimensions -> uint8 tensor of the file's dims.
Tensor read_idx_uint8(const std::string& path, int ndim, const IdxDimsCheck& check_dims = {});

// Writes a uint8 tensor (1 to 4 dims) as IDX; gzip-compressed when the path ends in ".gz".
// For tests and small exports.
void write_idx_uint8(const std::string& path, const Tensor& values);

}  // namespace mg::data
