// DiffAugment's policies (core/diffaug.h) from differentiable ops: color is add/mul/mean,
// translation one gather_last over the flattened pixels times a mask of the pixels that
// came from inside the image, cutout a multiplication by a constant mask.
#include "core/diffaug.h"

#include <string>

#include "core/io/input.h"
#include "core/ops.h"

namespace mg {

namespace {

constexpr const char* kValidNames = "color, translation, cutout (comma-separated), or none";

std::string_view op_name(DiffAugOp op) {
    switch (op) {
        case DiffAugOp::color: return "color";
        case DiffAugOp::translation: return "translation";
        case DiffAugOp::cutout: return "cutout";
    }
    return "?";
}

// The reference implementation's int(size * ratio + 0.5).
int64_t scaled(int64_t size, double ratio) { return int64_t(double(size) * ratio + 0.5); }

// A [N, 1, 1, 1] tensor of per-sample values, on x's device and of its dtype.
Tensor per_sample(const std::vector<double>& v, const Tensor& x) {
    return from_vector(v, {int64_t(v.size()), 1, 1, 1}).to(x.dtype()).to(x.device());
}

void check_count(size_t got, int64_t n, const char* what) {
    MG_CHECK(int64_t(got) == n, "diff_augment: {} {} parameters for a batch of {}", got, what, n);
}

Tensor color(const Tensor& x, const DiffAugParams& p) {
    const int64_t n = x.shape()[0];
    check_count(p.brightness.size(), n, "brightness");
    check_count(p.saturation.size(), n, "saturation");
    check_count(p.contrast.size(), n, "contrast");
    Tensor y = x + per_sample(p.brightness, x);
    Tensor channel_mean = mean(y, {1}, true);
    y = (y - channel_mean) * per_sample(p.saturation, x) + channel_mean;
    Tensor image_mean = mean(y, {1, 2, 3}, true);
    return (y - image_mean) * per_sample(p.contrast, x) + image_mean;
}

Tensor translation(const Tensor& x, const DiffAugParams& p) {
    const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3], plane = h * w;
    check_count(p.shift_h.size(), n, "translation");
    check_count(p.shift_w.size(), n, "translation");
    std::vector<int64_t> index(size_t(n * c * plane), 0);
    std::vector<double> inside(size_t(n * plane), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t xx = 0; xx < w; ++xx) {
                const int64_t sy = y + p.shift_h[size_t(i)], sx = xx + p.shift_w[size_t(i)];
                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                inside[size_t(i * plane + y * w + xx)] = 1.0;
                for (int64_t ch = 0; ch < c; ++ch) index[size_t((i * c + ch) * plane + y * w + xx)] = sy * w + sx;
            }
    Tensor idx = from_vector(index, {n, c, plane}).to(x.device());
    Tensor mask = from_vector(inside, {n, 1, h, w}).to(x.dtype()).to(x.device());
    return gather_last(x.reshape({n, c, plane}), idx).reshape({n, c, h, w}) * mask;
}

Tensor cutout(const Tensor& x, const DiffAugParams& p) {
    const int64_t n = x.shape()[0], h = x.shape()[2], w = x.shape()[3];
    check_count(p.cutout_h.size(), n, "cutout");
    check_count(p.cutout_w.size(), n, "cutout");
    const int64_t lh = scaled(h, 0.5), lw = scaled(w, 0.5);
    std::vector<double> keep(size_t(n * h * w), 1.0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t top = p.cutout_h[size_t(i)] - lh / 2, left = p.cutout_w[size_t(i)] - lw / 2;
        for (int64_t y = std::max<int64_t>(top, 0); y < std::min(top + lh, h); ++y)
            for (int64_t xx = std::max<int64_t>(left, 0); xx < std::min(left + lw, w); ++xx)
                keep[size_t((i * h + y) * w + xx)] = 0.0;
    }
    return x * from_vector(keep, {n, 1, h, w}).to(x.dtype()).to(x.device());
}

}  // namespace

DiffAugPolicy parse_diffaug(std::string_view text) {
    DiffAugPolicy policy;
    if (text.empty() || text == "none") return policy;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view name = text.substr(start, comma - start);
        DiffAugOp op;
        if (name == "color") op = DiffAugOp::color;
        else if (name == "translation") op = DiffAugOp::translation;
        else if (name == "cutout") op = DiffAugOp::cutout;
        else MG_FAIL("--diffaug {}: unknown policy '{}'; valid: {}", io::quote_short(text), name, kValidNames);
        for (DiffAugOp seen : policy.ops)
            MG_CHECK(seen != op, "--diffaug {}: '{}' is named twice", io::quote_short(text), op_name(op));
        policy.ops.push_back(op);
        start = comma + 1;
    }
    return policy;
}

DiffAugParams draw_diffaug_params(const DiffAugPolicy& policy, int64_t n, int64_t height, int64_t width,
                                  data::RandomStream& random) {
    DiffAugParams p;
    const auto uniform = [&](std::vector<double>& v, double lo, double hi) {
        for (int64_t i = 0; i < n; ++i) v.push_back(lo + (hi - lo) * random.uniform());
    };
    const auto integer = [&](std::vector<int64_t>& v, int64_t lo, int64_t hi_exclusive) {
        for (int64_t i = 0; i < n; ++i) v.push_back(lo + int64_t(random.below(uint64_t(hi_exclusive - lo))));
    };
    for (DiffAugOp op : policy.ops) {
        switch (op) {
            case DiffAugOp::color:
                uniform(p.brightness, -0.5, 0.5);
                uniform(p.saturation, 0.0, 2.0);
                uniform(p.contrast, 0.5, 1.5);
                break;
            case DiffAugOp::translation: {
                const int64_t sh = scaled(height, 0.125), sw = scaled(width, 0.125);
                integer(p.shift_h, -sh, sh + 1);
                integer(p.shift_w, -sw, sw + 1);
                break;
            }
            case DiffAugOp::cutout: {
                const int64_t lh = scaled(height, 0.5), lw = scaled(width, 0.5);
                integer(p.cutout_h, 0, height + (1 - lh % 2));
                integer(p.cutout_w, 0, width + (1 - lw % 2));
                break;
            }
        }
    }
    return p;
}

Tensor diff_augment(const Tensor& x, const DiffAugPolicy& policy, const DiffAugParams& params) {
    MG_CHECK(x.dim() == 4 && (x.dtype() == DType::Float32 || x.dtype() == DType::Float64),
             "diff_augment: expected a float batch [N, C, H, W], got {} {}", x.dtype(), x.shape());
    Tensor y = x;
    for (DiffAugOp op : policy.ops) {
        switch (op) {
            case DiffAugOp::color: y = color(y, params); break;
            case DiffAugOp::translation: y = translation(y, params); break;
            case DiffAugOp::cutout: y = cutout(y, params); break;
        }
    }
    return y;
}

Tensor diff_augment(const Tensor& x, const DiffAugPolicy& policy, data::RandomStream& random) {
    MG_CHECK(x.dim() == 4, "diff_augment: expected a batch [N, C, H, W], got {}", x.shape());
    return diff_augment(x, policy, draw_diffaug_params(policy, x.shape()[0], x.shape()[2], x.shape()[3], random));
}

}  // namespace mg
