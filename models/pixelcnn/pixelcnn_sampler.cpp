#include "models/pixelcnn/pixelcnn_sampler.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/options.h"
#include "models/progress.h"

namespace mg::models::pixelcnn {

// The pixelcnn family's and imagegpt's: the message names no model.
constexpr NameTable<SamplerKind, 2> kSamplerNames{
    "unknown sampler", {{{"naive", SamplerKind::Naive}, {"cached", SamplerKind::Cached}}}};
SamplerKind parse_sampler(const std::string& name) { return kSamplerNames.parse(name); }
std::string sampler_name(SamplerKind kind) { return kSamplerNames.name(kind); }

int64_t draw_level(const float* logits, int64_t levels, double u) {
    double top = logits[0];
    for (int64_t k = 1; k < levels; ++k) top = std::max(top, double(logits[k]));
    std::vector<double> weights(static_cast<size_t>(levels));
    double total = 0.0;
    for (int64_t k = 0; k < levels; ++k) total += weights[size_t(k)] = std::exp(double(logits[k]) - top);
    MG_CHECK(std::isfinite(total), "pixelcnn sampler: the logits are not finite (max {})", top);
    const double target = u * total;
    double cumulative = 0.0;
    int64_t last_possible = 0;
    for (int64_t k = 0; k < levels; ++k) {
        if (weights[size_t(k)] == 0.0) continue;
        cumulative += weights[size_t(k)];
        last_possible = k;
        if (target < cumulative) return k;
    }
    return last_possible;  // u * total rounded up to the total
}

namespace {

struct Geometry {
    int64_t n, colours, h, w;
    int64_t plane() const { return h * w; }
    // The offset of (image i, channel ch, pixel p) in [N, colours, H, W].
    int64_t at(int64_t i, int64_t ch, int64_t p) const { return (i * colours + ch) * h * w + p; }
};

Geometry check_arguments(const PixelCnnNet& net, const Tensor& images, int64_t first_pixel, const Tensor& uniforms) {
    MG_CHECK(images.defined(), "pixelcnn sampler: images are undefined");
    const int64_t colours = net.shape.colours;
    MG_CHECK(images.dim() == 4 && images.size(1) == colours && images.dtype() == DType::Float32,
             "pixelcnn sampler: images must be float32 [N, {}, H, W], got {} {}", colours, images.dtype(),
             images.shape());
    Geometry g{images.size(0), colours, images.size(2), images.size(3)};
    MG_CHECK(g.h > 0 && g.w > 0, "pixelcnn sampler: empty image size {}x{}", g.h, g.w);
    MG_CHECK(first_pixel >= 0 && first_pixel <= g.h * g.w, "pixelcnn sampler: first pixel {} outside [0, {}]",
             first_pixel, g.h * g.w);
    MG_CHECK(uniforms.defined() && uniforms.dtype() == DType::Float64 &&
                 uniforms.shape() == Shape({g.n, colours * g.h * g.w}),
             "pixelcnn sampler: uniforms must be float64 [{}, {}], got {}", g.n, colours * g.h * g.w,
             uniforms.defined() ? uniforms.shape() : Shape{});
    MG_CHECK(net.shape.kernel >= 3, "pixelcnn sampler: kernel {} leaves the first layer no taps", net.shape.kernel);
    return g;
}

// The context: a contiguous CPU copy of the images with every pixel from first_pixel on zeroed.
Tensor context_of(const Tensor& images, const Geometry& g, int64_t first_pixel) {
    Tensor x = images.to(Device::CPU).contiguous().clone();
    float* px = x.data<float>();
    for (int64_t i = 0; i < g.n; ++i)
        for (int64_t ch = 0; ch < g.colours; ++ch)
            for (int64_t p = first_pixel; p < g.plane(); ++p) px[g.at(i, ch, p)] = 0.0f;
    return x;
}

// Draws channel ch of pixel p of every image from logits [N, colours * levels] (that
// channel's levels) and writes level / (levels - 1) into x [N, colours, H, W] (CPU);
// returns the N values written.
std::vector<float> draw_pixel(const Tensor& logits, const double* u, int64_t p, int64_t ch, const Geometry& g,
                              float* x) {
    Tensor host = logits.to(Device::CPU).contiguous();
    const int64_t row = host.size(1), levels = row / g.colours;
    const float* l = host.data<float>();
    std::vector<float> values(size_t(g.n));
    for (int64_t i = 0; i < g.n; ++i) {
        int64_t level = draw_level(l + i * row + ch * levels, levels, u[g.at(i, ch, p)]);
        values[size_t(i)] = float(level) / float(levels - 1);
        x[g.at(i, ch, p)] = values[size_t(i)];
    }
    return values;
}

Tensor sample_naive(PixelCnnNet& net, Tensor x, int64_t first_pixel, const double* u, const Geometry& g) {
    const Device device = net.head->weight.device();
    float* px = x.data<float>();
    for (int64_t p = first_pixel; p < g.h * g.w; ++p) {
        for (int64_t ch = 0; ch < g.colours; ++ch) {
            Tensor logits = net(x.to(device));  // [N, colours * levels, H, W]
            draw_pixel(logits.select(3, p % g.w).select(2, p / g.w), u, p, ch, g, px);
        }
        report_work(p - first_pixel + 1, g.h * g.w - first_pixel);
    }
    return x;
}

// One masked block (conv, BatchNorm, ReLU) evaluated one position at a time. Its input
// is cached channels-last and zero-padded by `pad` rows above and `pad` columns on each
// side (the mask never looks below the centre row), so the taps of output (r, c) are, in
// padded coordinates, rows r .. r+pad-1 at columns c .. c+k-1 (above the centre) and row
// r+pad at columns c .. c+m-1 (left of the centre, and the centre itself for type B).
// In each of those rows the taps of one image are k*C_in (or m*C_in) contiguous floats,
// so every row is a strided [N, k*C_in] matrix that the GEMM reads in place: no copies.
struct CachedBlock {
    Tensor input;                // [N, H + pad, W + 2*pad, C_in]
    std::vector<Tensor> w_rows;  // pad + 1 of [taps*C_in, C_out]: each kernel row's kept taps, (kw, ci) order
    Tensor bias;                 // [C_out] or undefined
    nn::BatchNorm2d* norm = nullptr;
    int64_t m = 0;               // taps kept in the centre row: pad (type A) or pad + 1 (type B, or colour)

    // The block's output at (r, c) for every image: [N, C_out].
    Tensor at(int64_t r, int64_t c, int64_t k) const {
        const int64_t n = input.size(0), pad = int64_t(w_rows.size()) - 1;
        Tensor pre;
        for (int64_t dy = 0; dy <= pad; ++dy) {
            Tensor taps = input.select(1, r + dy).slice(1, c, c + (dy < pad ? k : m)).reshape({n, -1});  // a view
            Tensor part = matmul(taps, w_rows[size_t(dy)]);
            pre = pre.defined() ? pre + part : part;
        }
        if (bias.defined()) pre = pre + bias;
        // The same eval-mode BatchNorm as the full network, on [N, C] instead of [N, C, H, W].
        return relu(batch_norm(pre, norm->running_mean, norm->running_var, norm->weight, norm->bias, false, 0.0,
                               norm->eps));
    }
};

Tensor sample_cached(PixelCnnNet& net, Tensor x, int64_t first_pixel, const double* u, const Geometry& g) {
    const Device device = net.head->weight.device();
    const int64_t k = net.shape.kernel, pad = k / 2;
    std::vector<CachedBlock> blocks;
    for (size_t i = 0; i < net.convs.size(); ++i) {
        const MaskedConv2d& conv = *net.convs[i];
        MG_CHECK(net.norms[i]->track_running_stats, "pixelcnn sampler: BatchNorm {} keeps no running statistics", i);
        Tensor w = conv.masked_weight().permute({0, 2, 3, 1});  // [C_out, k, k, C_in], as the cache is laid out
        CachedBlock b;
        b.m = conv.mask_type == 'A' && conv.colours == 1 ? pad : pad + 1;  // colour A: the centre's groups
        for (int64_t dy = 0; dy <= pad; ++dy)
            b.w_rows.push_back(
                w.select(1, dy).slice(1, 0, dy < pad ? k : b.m).reshape({conv.out_channels, -1}).t().contiguous());
        b.bias = conv.bias;
        b.norm = net.norms[i].get();
        b.input = zeros({g.n, g.h + pad, g.w + 2 * pad, conv.in_channels}, {DType::Float32, device});
        blocks.push_back(b);
    }
    // The image (the context; drawn pixels are written as they come) in block 0's padded input.
    blocks[0].input.slice(1, pad, pad + g.h).slice(2, pad, pad + g.w).copy_(x.to(device).permute({0, 2, 3, 1}));
    Tensor head_w = net.head_matrix();
    float* px = x.data<float>();

    for (int64_t p = 0; p < g.h * g.w; ++p) {
        const int64_t r = p / g.w, c = p % g.w;
        // A context pixel is computed once; a drawn one once per channel, each pass seeing the
        // channels drawn before it (the last pass leaves the final activations in the caches).
        for (int64_t ch = 0; ch < (p < first_pixel ? 1 : g.colours); ++ch) {
            Tensor h;
            for (size_t i = 0; i < blocks.size(); ++i) {
                h = blocks[i].at(r, c, k);
                if (i + 1 < blocks.size()) blocks[i + 1].input.select(1, r + pad).select(1, c + pad).copy_(h);
            }
            if (p < first_pixel) continue;  // context: its activations are cached, nothing to draw
            std::vector<float> drawn = draw_pixel(linear(h, head_w, net.head->bias), u, p, ch, g, px);
            blocks[0].input.select(1, r + pad).select(1, c + pad).select(1, ch).copy_(from_vector(drawn).to(device));
        }
        if (p >= first_pixel) report_work(p - first_pixel + 1, g.h * g.w - first_pixel);
    }
    return x;
}

}  // namespace

Tensor sample_pixels(PixelCnnNet& net, const Tensor& images, int64_t first_pixel, const Tensor& uniforms,
                     SamplerKind kind) {
    const Geometry g = check_arguments(net, images, first_pixel, uniforms);
    Tensor x = context_of(images, g, first_pixel);
    if (g.n == 0 || first_pixel == g.h * g.w) return x;
    Tensor u = uniforms.to(Device::CPU).contiguous();
    const bool was_training = net.is_training();
    net.eval();
    autograd::NoGradGuard no_grad;
    try {
        x = kind == SamplerKind::Naive ? sample_naive(net, x, first_pixel, u.data<double>(), g)
                                       : sample_cached(net, x, first_pixel, u.data<double>(), g);
    } catch (...) {
        net.train(was_training);
        throw;
    }
    net.train(was_training);
    return x;
}

}  // namespace mg::models::pixelcnn
