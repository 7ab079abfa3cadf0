// rgb_to_lab / lab_to_rgb (core/ops/color.h) against skimage's formulas written out in NumPy
// (tools/reference/lab_ref.py, its output embedded); gradients: tests/test_gradcheck.cpp.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/ops/color.h"

using namespace mg;

namespace {

struct Colour {
    double rgb[3], lab[3];
};
// /usr/bin/python3 tools/reference/lab_ref.py
constexpr Colour kReference[] = {
    {{1.0, 1.0, 1.0}, {100.000000000, -0.002454938, 0.004653421}},
    {{1.0, 0.0, 0.0}, {53.240587944, 80.092308226, 67.202751044}},
    {{0.0, 1.0, 0.0}, {87.735099488, -86.183029744, 83.179703175}},
    {{0.0, 0.0, 1.0}, {32.295672565, 79.185590912, -107.857300207}},
    {{0.0, 0.0, 0.0}, {0.000000000, 0.000000000, 0.000000000}},
    {{0.5, 0.5, 0.5}, {53.388964741, -0.001468497, 0.002783587}},
    {{0.02, 0.01, 0.03}, {0.948742549, 1.375902333, -1.694922720}},
    {{0.9, 0.6, 0.2}, {69.302597096, 20.463567056, 61.714054678}},
    {{0.1, 0.4, 0.7}, {42.685476961, 6.283568288, -46.874183227}},
};
constexpr int64_t kCount = int64_t(sizeof(kReference) / sizeof(kReference[0]));

// The reference colours as one image [1, 3, 1, kCount], `which` 0: rgb, 1: lab.
Tensor reference_image(int which, DType dtype) {
    std::vector<double> v(size_t(3 * kCount));
    for (int64_t i = 0; i < kCount; ++i)
        for (int c = 0; c < 3; ++c) v[size_t(c * kCount + i)] = which ? kReference[i].lab[c] : kReference[i].rgb[c];
    return from_vector(v, {1, 3, 1, kCount}).to(dtype);
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return amax(abs(sub(a, b))).to(DType::Float64).item(); }

}  // namespace

TEST_CASE("rgb_to_lab matches skimage's formulas") {
    CHECK(max_abs_diff(rgb_to_lab(reference_image(0, DType::Float64)), reference_image(1, DType::Float64)) < 1e-7);
    CHECK(max_abs_diff(rgb_to_lab(reference_image(0, DType::Float32)), reference_image(1, DType::Float32)) < 1e-3);
}

TEST_CASE("lab_to_rgb inverts rgb_to_lab") {
    CHECK(max_abs_diff(lab_to_rgb(reference_image(1, DType::Float64)), reference_image(0, DType::Float64)) < 1e-4);
    Tensor rgb = rand({2, 3, 8, 8}, {DType::Float64}, 0.0, 1.0);
    CHECK(max_abs_diff(lab_to_rgb(rgb_to_lab(rgb)), rgb) < 1e-4);
    Tensor rgb32 = rgb.to(DType::Float32);
    CHECK(max_abs_diff(lab_to_rgb(rgb_to_lab(rgb32)), rgb32) < 1e-4);
}

TEST_CASE("colour ops refuse other shapes") {
    CHECK_THROWS_WITH_AS(rgb_to_lab(zeros({2, 1, 4, 4})), doctest::Contains("rgb_to_lab: expected [N, 3, H, W]"), Error);
    CHECK_THROWS_AS(lab_to_rgb(zeros({3, 4, 4})), Error);
}
