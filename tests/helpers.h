// Shared test helpers.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/minigen.h"
#include "kernels/elementwise.h"
#include "kernels/registry.h"

namespace mg::test {

// The CPU variants of a kernel table for one dtype, in registration order ("reference" first).
inline std::vector<std::string> cpu_variants(kernels::OpTableBase& table, DType dt) {
    kernels::init();
    std::vector<std::string> names;
    for (const kernels::VariantInfo& v : table.variants())
        if (v.device == Device::CPU && v.dtype == dt) names.push_back(v.name);
    return names;
}

using kernels::dense_iter;  // kernels/args/elementwise.h

// Every element of a and b within atol + rtol*|b|; reports the first mismatch.
inline void check_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
    REQUIRE(a.shape() == b.shape());
    std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
    for (size_t i = 0; i < x.size(); ++i) {
        bool ok = std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]) || (std::isnan(x[i]) && std::isnan(y[i]));
        if (!ok) {
            FAIL_CHECK("element " << i << ": " << x[i] << " vs " << y[i] << " (shape " << a.shape().str() << ")");
            return;
        }
    }
}

inline Tensor f64(const std::vector<double>& v, const Shape& s) { return from_vector(v, s); }

inline bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// The whole file as bytes ("" when it cannot be opened).
inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline double max_abs(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

// The value of `key` in a model's metrics (models::Metrics); fails the test when absent.
inline double metric(const std::vector<std::pair<std::string, double>>& m, const std::string& key) {
    for (const auto& [k, v] : m)
        if (k == key) return v;
    FAIL("metric " << key << " missing");
    return 0;
}

// A fresh directory under /tmp, removed with everything in it at the end of the scope.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& tag = "test") {
        std::string templ = (std::filesystem::temp_directory_path() / ("minigen-" + tag + "-XXXXXX")).string();
        REQUIRE(mkdtemp(templ.data()) != nullptr);
        path = templ;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string operator/(const std::string& name) const { return (path / name).string(); }
    std::string str() const { return path.string(); }
};

// The message of the mg::Error that fn throws ("" if it throws none).
template <class F> std::string error_of(F&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace mg::test
