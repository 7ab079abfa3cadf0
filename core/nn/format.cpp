#include "core/nn/format.h"

#include <fmt/format.h>

namespace mg::nn::fmt_detail {

std::string py_float(double v) {
    // fmt's "{}" is the shortest round-trip form like Python's repr, but prints 1.0 as "1".
    std::string s = fmt::format("{}", v);
    if (s.find_first_of(".en") == std::string::npos) s += ".0";  // 'n' covers nan and inf
    return s;
}

std::string py_bool(bool v) { return v ? "True" : "False"; }

std::string py_tuple(const std::vector<int64_t>& v) {
    std::string s = "(";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + (v.size() == 1 ? ",)" : ")");
}

}  // namespace mg::nn::fmt_detail
