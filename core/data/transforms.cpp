// Batch transforms on raw CPU buffers (they run on the loader's worker thread).
#include "core/data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>

namespace mg::data {
namespace {

Tensor cpu_contiguous(const Tensor& t, const char* op) {
    MG_CHECK(t.defined(), "{}: the batch is undefined", op);
    MG_CHECK(t.device() == Device::CPU, "{}: batches are transformed on the CPU, got a {} tensor", op, t.device());
    return t.is_contiguous() ? t : t.contiguous();
}

void check_images(const Tensor& t, const char* op) {
    MG_CHECK(t.dim() == 4, "{}: expected an image batch [B, C, H, W], got shape {}", op, t.shape().str());
}

// Calls f(T*) with the tensor's element type.
template <class F> void with_dtype(const Tensor& t, F&& f) {
    switch (t.dtype()) {
        case DType::UInt8: f(t.data<uint8_t>()); break;
        case DType::Float32: f(t.data<float>()); break;
        case DType::Float64: f(t.data<double>()); break;
        case DType::Int64: f(t.data<int64_t>()); break;
    }
}

// The float of each byte value: one table, exact and the same on every call.
std::array<float, 256> pixel_values(PixelRange range) {
    std::array<float, 256> lut;
    for (int v = 0; v < 256; ++v) {
        float x = float(v) / 255.0f;
        lut[size_t(v)] = range == PixelRange::ZeroOne ? x : (x - 0.5f) / 0.5f;
    }
    return lut;
}

// Mirrors i into [0, n) without repeating the border pixel: -1 -> 1, n -> n - 2 (|overhang| < n).
int64_t reflect(int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

void check_augment_options(const AugmentOptions& o, const char* op) {
    MG_CHECK(o.crop >= 0, "{}: crop must be >= 0, got {}", op, o.crop);
    check_color_jitter(o.jitter, op);
}

}  // namespace

Tensor to_float(const Tensor& u8, PixelRange range) {
    Tensor in = cpu_contiguous(u8, "to_float");
    MG_CHECK(in.dtype() == DType::UInt8, "to_float: expected uint8 pixels, got {}", in.dtype());
    const std::array<float, 256> lut = pixel_values(range);
    Tensor out = empty(in.shape(), {DType::Float32});
    const uint8_t* src = in.data<uint8_t>();
    float* dst = out.data<float>();
    const int64_t n = in.numel();
    for (int64_t i = 0; i < n; ++i) dst[i] = lut[src[i]];
    return out;
}

Tensor random_hflip(const Tensor& batch, RandomStream& rng, double p) {
    MG_CHECK(p >= 0.0 && p <= 1.0, "random_hflip: probability must be in [0, 1], got {}", p);
    Tensor in = cpu_contiguous(batch, "random_hflip");
    check_images(in, "random_hflip");
    const int64_t B = in.size(0), C = in.size(1), H = in.size(2), W = in.size(3);
    Tensor out = empty(in.shape(), {in.dtype()});
    with_dtype(in, [&](auto* src) {
        using T = std::remove_pointer_t<decltype(src)>;
        T* dst = out.data<T>();
        for (int64_t b = 0; b < B; ++b) {
            const bool flip = rng.bernoulli(p);
            const int64_t image = b * C * H * W;
            for (int64_t row = 0; row < C * H; ++row) {
                const T* s = src + image + row * W;
                T* d = dst + image + row * W;
                if (flip)
                    for (int64_t x = 0; x < W; ++x) d[x] = s[W - 1 - x];
                else
                    std::copy(s, s + W, d);
            }
        }
    });
    return out;
}

Tensor random_crop(const Tensor& batch, RandomStream& rng, int64_t padding, double fill) {
    MG_CHECK(padding >= 0, "random_crop: padding must be >= 0, got {}", padding);
    Tensor in = cpu_contiguous(batch, "random_crop");
    check_images(in, "random_crop");
    const int64_t B = in.size(0), C = in.size(1), H = in.size(2), W = in.size(3);
    Tensor out = empty(in.shape(), {in.dtype()});
    with_dtype(in, [&](auto* src) {
        using T = std::remove_pointer_t<decltype(src)>;
        T* dst = out.data<T>();
        const T pad_value = T(fill);
        for (int64_t b = 0; b < B; ++b) {
            // Top-left corner of the crop in the padded image, each in [0, 2*padding].
            const int64_t oy = int64_t(rng.below(uint64_t(2 * padding + 1))) - padding;
            const int64_t ox = int64_t(rng.below(uint64_t(2 * padding + 1))) - padding;
            for (int64_t c = 0; c < C; ++c) {
                const T* s = src + (b * C + c) * H * W;
                T* d = dst + (b * C + c) * H * W;
                for (int64_t y = 0; y < H; ++y) {
                    const int64_t sy = y + oy;
                    for (int64_t x = 0; x < W; ++x) {
                        const int64_t sx = x + ox;
                        d[y * W + x] = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? s[sy * W + sx] : pad_value;
                    }
                }
            }
        }
    });
    return out;
}

Tensor binarize(const Tensor& batch, RandomStream& rng) {
    Tensor in = cpu_contiguous(batch, "binarize");
    Tensor out = empty(in.shape(), {DType::Float32});
    float* dst = out.data<float>();
    const int64_t n = in.numel();
    // 1 when a uniform 32-bit draw r falls below p * 2^32.
    constexpr double kTwo32 = 4294967296.0;
    if (in.dtype() == DType::UInt8) {
        std::array<uint64_t, 256> threshold;
        for (int v = 0; v < 256; ++v) threshold[size_t(v)] = uint64_t(std::llround(double(v) / 255.0 * kTwo32));
        const uint8_t* src = in.data<uint8_t>();
        for (int64_t i = 0; i < n; ++i) dst[i] = uint64_t(rng.next_u32()) < threshold[src[i]] ? 1.0f : 0.0f;
        return out;
    }
    MG_CHECK(is_floating(in.dtype()), "binarize: expected uint8 or float pixels, got {}", in.dtype());
    with_dtype(in, [&](auto* src) {
        for (int64_t i = 0; i < n; ++i) {
            double p = double(src[i]);
            p = std::isnan(p) ? 0.0 : std::clamp(p, 0.0, 1.0);
            dst[i] = double(rng.next_u32()) < p * kTwo32 ? 1.0f : 0.0f;
        }
    });
    return out;
}

Tensor augment(const Tensor& u8, const AugmentOptions& o, RandomStream& rng) {
    check_augment_options(o, "augment");
    Tensor in = cpu_contiguous(u8, "augment");
    check_images(in, "augment");
    MG_CHECK(in.dtype() == DType::UInt8, "augment: expected uint8 pixels, got {}", in.dtype());
    const int64_t B = in.size(0), C = in.size(1), H = in.size(2), W = in.size(3);
    MG_CHECK(C == 1 || C == 3, "augment: expected 1 or 3 channels, got {}", C);
    MG_CHECK(o.crop < std::min(H, W), "augment: crop {} must be smaller than the image ({}x{})", o.crop, H, W);
    const bool jitter = o.jitter.any();
    const std::array<float, 256> value = pixel_values(o.range);
    Tensor out = empty(in.shape(), {DType::Float32});
    const int64_t plane = H * W, image = C * plane;
    // One image at a time through a buffer that stays in cache: crop and flip in one
    // gather (a source row and column for each output pixel), jitter in place, to float.
    std::vector<uint8_t> work(static_cast<size_t>(image));
    std::vector<int64_t> rows(static_cast<size_t>(H)), cols(static_cast<size_t>(W));
    const uint8_t* src = in.data<uint8_t>();
    float* dst = out.data<float>();
    for (int64_t b = 0; b < B; ++b) {
        int64_t dy = 0, dx = 0;
        if (o.crop > 0) {
            dy = int64_t(rng.below(uint64_t(2 * o.crop + 1))) - o.crop;
            dx = int64_t(rng.below(uint64_t(2 * o.crop + 1))) - o.crop;
        }
        const bool flip = o.hflip && rng.bernoulli(0.5);
        const JitterDraw draw = jitter ? draw_color_jitter(o.jitter, rng) : JitterDraw{};
        for (int64_t y = 0; y < H; ++y) rows[size_t(y)] = reflect(y + dy, H) * W;
        for (int64_t x = 0; x < W; ++x) cols[size_t(x)] = reflect((flip ? W - 1 - x : x) + dx, W);
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y) {
                const uint8_t* s = src + b * image + c * plane + rows[size_t(y)];
                uint8_t* w = work.data() + c * plane + y * W;
                for (int64_t x = 0; x < W; ++x) w[x] = s[cols[size_t(x)]];
            }
        if (jitter) apply_color_jitter({work.data(), plane, C, /*planar=*/true}, draw);
        float* d = dst + b * image;
        for (int64_t i = 0; i < image; ++i) d[i] = value[work[size_t(i)]];
    }
    return out;
}

namespace transforms {

Transform to_float(PixelRange range) {
    return [range](const Tensor& batch, RandomStream&) { return data::to_float(batch, range); };
}
Transform hflip(double p) {
    MG_CHECK(p >= 0.0 && p <= 1.0, "transforms::hflip: probability must be in [0, 1], got {}", p);
    return [p](const Tensor& batch, RandomStream& rng) { return random_hflip(batch, rng, p); };
}
Transform crop(int64_t padding, double fill) {
    MG_CHECK(padding >= 0, "transforms::crop: padding must be >= 0, got {}", padding);
    return [padding, fill](const Tensor& batch, RandomStream& rng) { return random_crop(batch, rng, padding, fill); };
}
Transform binarize() {
    return [](const Tensor& batch, RandomStream& rng) { return data::binarize(batch, rng); };
}
Transform augment(const AugmentOptions& options) {
    check_augment_options(options, "transforms::augment");
    return [options](const Tensor& batch, RandomStream& rng) { return data::augment(batch, options, rng); };
}
Transform compose(std::vector<Transform> steps) {
    for (size_t i = 0; i < steps.size(); ++i)
        MG_CHECK(bool(steps[i]), "transforms::compose: step {} is empty", i);
    return [steps = std::move(steps)](const Tensor& batch, RandomStream& rng) {
        Tensor x = batch;
        for (const Transform& step : steps) x = step(x, rng);
        return x;
    };
}

}  // namespace transforms
}  // namespace mg::data
