#include "core/ops.h"

namespace mg {

namespace {

using Matrix3 = double[3][3];

// skimage.color's xyz_from_rgb (sRGB primaries, D65) and its inverse, rgb_from_xyz.
constexpr Matrix3 kXyzFromRgb = {{0.412453, 0.357580, 0.180423},
                                 {0.212671, 0.715160, 0.072169},
                                 {0.019334, 0.119193, 0.950227}};
constexpr Matrix3 kRgbFromXyz = {{3.240481343201, -1.537151516271, -0.498536326169},
                                 {-0.969254949997, 1.875990001490, 0.041555926558},
                                 {0.055646639135, -0.204041338367, 1.057311069645}};
constexpr double kWhite[3] = {0.95047, 1.0, 1.08883};  // D65, 2-degree observer
constexpr double kEpsilon = 0.008856;                   // (6/29)^3: where f turns linear
constexpr double kSlope = 7.787;                        // f's slope below it: (29/6)^2 / 3

void check_image(const Tensor& x, const char* op) {
    MG_CHECK(x.dim() == 4 && x.size(1) == 3, "{}: expected [N, 3, H, W] images, got {}", op, x.shape());
    MG_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, "{}: expected float32 or float64, got {}",
             op, x.dtype());
}

Tensor channel(const Tensor& x, int64_t c) { return x.slice(1, c, c + 1); }

// out[:, i] = scale[i] * sum_j m[i][j] * x[:, j]   (a per-pixel 3x3 matrix product)
Tensor mix(const Tensor& x, const Matrix3& m, const double* scale = nullptr) {
    std::vector<Tensor> rows;
    for (int i = 0; i < 3; ++i) {
        const double s = scale ? scale[i] : 1.0;
        Tensor r = mul(channel(x, 0), m[i][0] * s);
        for (int j = 1; j < 3; ++j) r = add(r, mul(channel(x, j), m[i][j] * s));
        rows.push_back(r);
    }
    return cat(rows, 1);
}

// The power branch of a piecewise function is evaluated on x clamped to its own side of the
// threshold, so that the branch not taken never sees a negative base (NaN times a zero mask
// would still be NaN in the gradient).
Tensor above(const Tensor& x, double threshold) { return clamp(x, threshold, 1e300); }

Tensor srgb_to_linear(const Tensor& x) {  // sRGB's gamma decoded
    constexpr double t = 0.04045;
    return where(gt(x, t), pow(affine(above(x, t), 1 / 1.055, 0.055 / 1.055), 2.4), mul(x, 1 / 12.92));
}

Tensor linear_to_srgb(const Tensor& x) {
    constexpr double t = 0.0031308;
    return where(gt(x, t), affine(pow(above(x, t), 1 / 2.4), 1.055, -0.055), mul(x, 12.92));
}

Tensor lab_f(const Tensor& t) {
    return where(gt(t, kEpsilon), pow(above(t, kEpsilon), 1.0 / 3.0), affine(t, kSlope, 16.0 / 116.0));
}

Tensor lab_f_inverse(const Tensor& f) {
    constexpr double t = 0.2068966;  // f(kEpsilon), skimage's threshold
    return where(gt(f, t), pow(f, 3.0), affine(f, 1 / kSlope, -16.0 / 116.0 / kSlope));
}

}  // namespace

Tensor rgb_to_lab(const Tensor& rgb) {
    check_image(rgb, "rgb_to_lab");
    const double inverse_white[3] = {1 / kWhite[0], 1 / kWhite[1], 1 / kWhite[2]};
    Tensor f = lab_f(mix(srgb_to_linear(rgb), kXyzFromRgb, inverse_white));  // f(X/Xn), f(Y/Yn), f(Z/Zn)
    Tensor fx = channel(f, 0), fy = channel(f, 1), fz = channel(f, 2);
    return cat({affine(fy, 116.0, -16.0), mul(sub(fx, fy), 500.0), mul(sub(fy, fz), 200.0)}, 1);
}

Tensor lab_to_rgb(const Tensor& lab) {
    check_image(lab, "lab_to_rgb");
    Tensor fy = affine(channel(lab, 0), 1 / 116.0, 16.0 / 116.0);
    Tensor fx = add(fy, mul(channel(lab, 1), 1 / 500.0));
    // skimage clips fz at 0 (a b* too large for L*): Z cannot be negative.
    Tensor fz = clamp(sub(fy, mul(channel(lab, 2), 1 / 200.0)), 0.0, 1e300);
    Tensor xyz = lab_f_inverse(cat({fx, fy, fz}, 1));
    Matrix3 m;  // rgb_from_xyz with the white folded into its columns
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) m[i][j] = kRgbFromXyz[i][j] * kWhite[j];
    return linear_to_srgb(mix(xyz, m));
}

}  // namespace mg
