// NumPy .npy files (format versions 1-3): one array, little-endian, C order.
//
//   bytes 0..5   "\x93NUMPY"          bytes 6, 7  major, minor version
//   then         the header length (2 bytes in v1, 4 in v2/v3), then a Python dict
//                literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, 28, 28), }
//                padded so that the data starts at a multiple of 64
//
// How sample files travel between minigen and other frameworks (numpy.save / numpy.load).
#pragma once

#include <string>

#include "core/tensor.h"

namespace mg::io {

// Reads float32 ('<f4'), float64 ('<f8'), int64 ('<i8') and uint8 ('|u1') arrays from a
// regular file. The header (at most 64 KiB) is parsed by a bounded, non-recursive scanner;
// the shape (at most 8 non-negative dims) must account for exactly the bytes that follow,
// before anything is allocated. Every failure is an mg::Error naming the file, the byte
// offset and what was expected.
Tensor read_npy(const std::string& path);
// Writes a dense copy of `t` (any device) atomically (a temporary file, then a rename).
void write_npy(const std::string& path, const Tensor& t);

}  // namespace mg::io
