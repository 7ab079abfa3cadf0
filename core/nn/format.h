// Python-style formatting for the modules' printouts, so that repr() reads like
// PyTorch's: 0.2, 1e-05, 1.0, True, (3, 3), (6,).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ops.h"

namespace mg::nn::fmt_detail {

std::string py_float(double v);   // Python's repr of a float: 1.0, 0.2, 1e-05
std::string py_bool(bool v);      // True / False
std::string py_tuple(const std::vector<int64_t>& v);  // (3, 3), (6,)
inline std::string py_tuple(const Pair& p) { return py_tuple(std::vector<int64_t>{p.h, p.w}); }
inline std::string py_tuple(const Shape& s) { return py_tuple(s.vec()); }

}  // namespace mg::nn::fmt_detail
