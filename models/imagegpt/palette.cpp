#include "models/imagegpt/palette.h"

#include <algorithm>
#include <limits>
#include <random>
#include <set>

#include "models/options.h"

namespace mg::models::imagegpt {

constexpr NameTable<PaletteInit, 2> kInitNames{
    "imagegpt: unknown palette_init", {{{"kmeans++", PaletteInit::KMeansPlusPlus}, {"random", PaletteInit::Random}}}};
PaletteInit parse_palette_init(const std::string& name) { return kInitNames.parse(name); }
std::string palette_init_name(PaletteInit init) { return kInitNames.name(init); }

namespace {

// A uniform double in [0, 1) from 53 bits of the generator (std's distributions differ
// between standard libraries; this does not).
double uniform(std::mt19937_64& gen) { return double(gen() >> 11) * 0x1.0p-53; }

float squared_distance(const float* a, const float* b, int64_t channels) {
    float d = 0;
    for (int64_t c = 0; c < channels; ++c) d += (a[c] - b[c]) * (a[c] - b[c]);
    return d;
}

// The nearest centre of one pixel and its squared distance (the lowest index on a tie).
std::pair<int64_t, float> nearest(const float* pixel, const std::vector<float>& centres, int64_t channels) {
    const int64_t k = int64_t(centres.size()) / channels;
    int64_t best = 0;
    float best_d = std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < k; ++j) {
        const float d = squared_distance(pixel, centres.data() + j * channels, channels);
        if (d < best_d) best = j, best_d = d;
    }
    return {best, best_d};
}

int64_t distinct_pixels(const std::vector<float>& pixels, int64_t channels) {
    std::set<std::vector<float>> seen;
    for (size_t i = 0; i < pixels.size(); i += size_t(channels))
        seen.insert(std::vector<float>(pixels.begin() + i, pixels.begin() + i + channels));
    return int64_t(seen.size());
}

std::vector<float> initial_centres(const std::vector<float>& pixels, int64_t channels, const KMeansOptions& o,
                                   std::mt19937_64& gen) {
    const int64_t p = int64_t(pixels.size()) / channels;
    auto pixel = [&](int64_t i) { return pixels.begin() + i * channels; };
    std::vector<float> centres;
    if (o.init == PaletteInit::Random) {  // the first k distinct pixels of a seeded shuffle
        std::vector<int64_t> order(static_cast<size_t>(p));
        for (int64_t i = 0; i < p; ++i) order[size_t(i)] = i;
        for (int64_t i = p - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(uniform(gen) * double(i + 1))]);
        std::set<std::vector<float>> taken;
        for (int64_t i : order) {
            std::vector<float> colour(pixel(i), pixel(i) + channels);
            if (taken.insert(colour).second) centres.insert(centres.end(), colour.begin(), colour.end());
            if (int64_t(taken.size()) == o.k) break;
        }
        return centres;
    }
    // k-means++: D^2 sampling; distance[i] is pixel i's squared distance to its nearest centre.
    const int64_t first = std::min(p - 1, int64_t(uniform(gen) * double(p)));
    centres.assign(pixel(first), pixel(first) + channels);
    std::vector<double> distance(static_cast<size_t>(p));
    for (int64_t i = 0; i < p; ++i) distance[size_t(i)] = squared_distance(&*pixel(i), centres.data(), channels);
    while (int64_t(centres.size()) < o.k * channels) {
        double total = 0;
        for (double d : distance) total += d;
        const double target = uniform(gen) * total;
        int64_t pick = -1;
        double running = 0;
        for (int64_t i = 0; i < p && pick < 0; ++i) {
            running += distance[size_t(i)];
            if (running > target && distance[size_t(i)] > 0) pick = i;
        }
        if (pick < 0)  // rounding at the top end: the last pixel not yet a centre
            for (int64_t i = p - 1; i >= 0 && pick < 0; --i)
                if (distance[size_t(i)] > 0) pick = i;
        const float* c = &*pixel(pick);
        centres.insert(centres.end(), c, c + channels);
        for (int64_t i = 0; i < p; ++i)
            distance[size_t(i)] = std::min<double>(distance[size_t(i)], squared_distance(&*pixel(i), c, channels));
    }
    return centres;
}

}  // namespace

std::vector<int64_t> nearest_centres(const std::vector<float>& pixels, const std::vector<float>& centres,
                                     int64_t channels) {
    std::vector<int64_t> out(pixels.size() / size_t(channels));
    for (size_t i = 0; i < out.size(); ++i) out[i] = nearest(pixels.data() + i * size_t(channels), centres, channels).first;
    return out;
}

std::vector<float> kmeans(const std::vector<float>& pixels, int64_t channels, const KMeansOptions& o) {
    MG_CHECK(channels >= 1 && pixels.size() % size_t(channels) == 0, "kmeans: {} values are not pixels of {} channels",
             pixels.size(), channels);
    MG_CHECK(o.k >= 1, "kmeans: k must be positive, got {}", o.k);
    const int64_t p = int64_t(pixels.size()) / channels, distinct = distinct_pixels(pixels, channels);
    MG_CHECK(distinct >= o.k, "kmeans: a palette of {} colours needs as many distinct pixels; the data has {}", o.k,
             distinct);
    std::mt19937_64 gen(o.seed);
    std::vector<float> centres = initial_centres(pixels, channels, o, gen);
    std::vector<int64_t> assignment(size_t(p), -1);
    for (int64_t round = 0; round < o.iterations; ++round) {
        bool changed = false;
        float farthest_d = -1;  // the pixel farthest from its centre: where an empty centre goes
        int64_t farthest = 0;
        for (int64_t i = 0; i < p; ++i) {
            auto [j, d] = nearest(pixels.data() + i * channels, centres, channels);
            changed = changed || assignment[size_t(i)] != j;
            assignment[size_t(i)] = j;
            if (d > farthest_d) farthest_d = d, farthest = i;
        }
        if (!changed) break;
        std::vector<double> sums(centres.size(), 0.0);
        std::vector<int64_t> counts(size_t(o.k), 0);
        for (int64_t i = 0; i < p; ++i) {
            const int64_t j = assignment[size_t(i)];
            ++counts[size_t(j)];
            for (int64_t c = 0; c < channels; ++c) sums[size_t(j * channels + c)] += pixels[size_t(i * channels + c)];
        }
        for (int64_t j = 0; j < o.k; ++j)
            for (int64_t c = 0; c < channels; ++c)
                centres[size_t(j * channels + c)] = counts[size_t(j)] > 0
                                                        ? float(sums[size_t(j * channels + c)] / double(counts[size_t(j)]))
                                                        : pixels[size_t(farthest * channels + c)];
    }
    return centres;
}

Tensor fit_palette(const Tensor& images, const KMeansOptions& options) {
    MG_CHECK(images.defined() && images.dim() == 4 && images.dtype() == DType::UInt8 && images.numel() > 0,
             "imagegpt palette: expected uint8 images [N, C, H, W], got {}",
             images.defined() ? images.shape() : Shape{});
    const int64_t n = images.size(0), c = images.size(1), hw = images.size(2) * images.size(3);
    const int64_t total = n * hw, take = std::min(total, kMaxFitPixels);
    const Tensor x = images.contiguous();
    const uint8_t* v = x.data<uint8_t>();
    std::mt19937_64 gen(options.seed ^ 0x9E3779B97F4A7C15ull);  // not the stream k-means draws from
    std::vector<float> pixels(size_t(take * c));
    for (int64_t i = 0; i < take; ++i) {
        // Every pixel when they fit, else a uniform pick (with replacement) among all of them.
        const int64_t at = take == total ? i : std::min(total - 1, int64_t(uniform(gen) * double(total)));
        const int64_t image = at / hw, offset = at % hw;
        for (int64_t ch = 0; ch < c; ++ch) pixels[size_t(i * c + ch)] = float(v[(image * c + ch) * hw + offset]) / 255.0f;
    }
    return from_vector(kmeans(pixels, c, options), {options.k, c});
}

Tensor palette_tokens(const Tensor& images, const Tensor& palette) {
    MG_CHECK(images.defined() && images.dim() == 4 && images.size(1) == palette.size(1),
             "imagegpt palette: expected images [N, {}, H, W] (the palette's colours have {} channels), got {}",
             palette.size(1), palette.size(1), images.defined() ? images.shape() : Shape{});
    const int64_t n = images.size(0), c = images.size(1), hw = images.size(2) * images.size(3);
    const std::vector<float> x = images.to(Device::CPU).to(DType::Float32).contiguous().to_vector<float>();
    const std::vector<float> centres = palette.to(Device::CPU).contiguous().to_vector<float>();
    std::vector<float> pixels(size_t(n * hw * c));  // [N, C, HW] -> [N*HW, C]
    for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t q = 0; q < hw; ++q) pixels[size_t((i * hw + q) * c + ch)] = x[size_t((i * c + ch) * hw + q)];
    return from_vector(nearest_centres(pixels, centres, c), {n, hw});
}

Tensor palette_images(const Tensor& tokens, const Tensor& palette, int64_t height, int64_t width) {
    const int64_t n = tokens.size(0), k = palette.size(0), c = palette.size(1), hw = height * width;
    MG_CHECK(tokens.dim() == 2 && tokens.size(1) == hw, "imagegpt palette: tokens {} are not [N, {}]", tokens.shape(),
             hw);
    const std::vector<int64_t> t = tokens.to(Device::CPU).contiguous().to_vector<int64_t>();
    const std::vector<float> centres = palette.to(Device::CPU).contiguous().to_vector<float>();
    std::vector<float> out(size_t(n * c * hw));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t q = 0; q < hw; ++q) {
            const int64_t token = t[size_t(i * hw + q)];
            MG_CHECK(token >= 0 && token < k, "imagegpt palette: token {} not in [0, {})", token, k);
            for (int64_t ch = 0; ch < c; ++ch) out[size_t((i * c + ch) * hw + q)] = centres[size_t(token * c + ch)];
        }
    return from_vector(out, {n, c, height, width});
}

}  // namespace mg::models::imagegpt
