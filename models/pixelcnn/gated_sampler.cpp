#include "models/pixelcnn/gated_sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/options.h"
#include "models/progress.h"

namespace mg::models {

constexpr NameTable<GatedSampler, 3> kSamplerNames{
    "gated-pixelcnn: unknown sampler",
    {{{"naive", GatedSampler::Naive}, {"rows", GatedSampler::Rows}, {"cached", GatedSampler::Cached}}}};
GatedSampler parse_gated_sampler(const std::string& name) { return kSamplerNames.parse(name); }
std::string gated_sampler_name(GatedSampler sampler) { return kSamplerNames.name(sampler); }

int64_t inverse_cdf_level(const float* logits, int64_t levels, int64_t stride, double u) {
    double top = -INFINITY;
    for (int64_t k = 0; k < levels; ++k) {
        const double l = logits[k * stride];
        MG_CHECK(std::isfinite(l), "gated-pixelcnn sampler: logit {} of level {} is not finite", l, k);
        top = std::max(top, l);
    }
    std::vector<double> p(static_cast<size_t>(levels));
    double total = 0;
    for (int64_t k = 0; k < levels; ++k) total += p[size_t(k)] = std::exp(double(logits[k * stride]) - top);
    double cdf = 0;
    int64_t last_positive = 0;
    for (int64_t k = 0; k < levels; ++k) {
        const double pk = p[size_t(k)] / total;
        if (pk > 0) last_positive = k;
        cdf += pk;
        if (u < cdf) return k;
    }
    return last_positive;  // u beyond the rounded total: the last level that can occur
}

namespace {

// Writes the sampled level of channel ch of pixel (r, c) of every image from its logits
// [N, colours * levels] (that channel's levels). Each pixel written (its last channel) is
// reported as progress (report_work): pixels drawn of all to draw.
struct PixelWriter {
    float* canvas;
    const double* uniforms;
    int64_t n, colours, height, width, levels, start_row;

    void write(const Tensor& logits, int64_t r, int64_t c, int64_t ch) const {
        std::vector<float> l = logits.to(Device::CPU).contiguous().to_vector<float>();
        for (int64_t i = 0; i < n; ++i) {
            const int64_t at = ((i * colours + ch) * height + r) * width + c;
            const int64_t k = inverse_cdf_level(l.data() + (i * colours + ch) * levels, levels, 1, uniforms[at]);
            canvas[at] = float(double(k) / double(levels - 1));
        }
        if (ch + 1 == colours) report_work((r - start_row) * width + c + 1, (height - start_row) * width);
    }
};

// x [N, C, H, W] -> its rows (dim 2) or columns (dim 3) from .. to, zeros where from < 0.
Tensor window_with_zeros(const Tensor& x, int64_t dim, int64_t from, int64_t to) {
    if (from >= 0) return x.slice(dim, from, to);
    Shape pad = x.shape();
    pad[size_t(dim)] = std::min<int64_t>(-from, to - from);
    Tensor zero = zeros(pad, {x.dtype(), x.device()});
    return to <= 0 ? zero : cat({zero, x.slice(dim, 0, to)}, dim);
}

// The naive sampler: a full forward per pixel.
void sample_naive(GatedPixelCnnNet& net, const Tensor& canvas, const Tensor& labels, int64_t start_row,
                  const PixelWriter& out, Device device) {
    for (int64_t r = start_row; r < out.height; ++r)
        for (int64_t c = 0; c < out.width; ++c)
            for (int64_t ch = 0; ch < out.colours; ++ch)
                out.write(net.forward(canvas.to(device), labels).select(3, c).select(2, r), r, c, ch);
}

// The rows sampler: windows of rows for the vertical stack, of columns for the horizontal one.
void sample_rows(GatedPixelCnnNet& net, const Tensor& canvas, const Tensor& labels, int64_t start_row,
                 const PixelWriter& out, Device device) {
    const int64_t radius = net.receptive_radius();
    for (int64_t r = start_row; r < out.height; ++r) {
        // Row r of every link from the input rows that can reach it (row r's own values do not).
        const int64_t row0 = std::max<int64_t>(0, r - 1 - radius);
        std::vector<Tensor> links = net.links(canvas.slice(2, row0, r + 1).to(device), labels);
        for (Tensor& l : links) l = l.slice(2, r - row0, r - row0 + 1);
        for (int64_t c = 0; c < out.width; ++c) {
            // At least two columns, to stay off the GEMM's matrix-vector path.
            const int64_t col0 = std::max<int64_t>(0, c - radius), col1 = std::max(c + 1, col0 + 2);
            std::vector<Tensor> window;
            for (const Tensor& l : links) window.push_back(l.slice(3, col0, col1));
            for (int64_t ch = 0; ch < out.colours; ++ch) {
                Tensor x = canvas.slice(2, r, r + 1).slice(3, col0, col1).to(device);
                out.write(net.horizontal(x, window, labels).select(3, c - col0).select(2, 0), r, c, ch);
            }
        }
    }
}

// The cached sampler. v[l]: layer l's vertical input, rows filled in as they are known
// (v[0] is the canvas); h[l]: layer l's horizontal input along the current row.
void sample_cached(GatedPixelCnnNet& net, const Tensor& canvas, const Tensor& labels, int64_t start_row,
                   const PixelWriter& out, Device device) {
    const size_t depth = net.layers.size();
    const int64_t n = out.n, height = out.height, width = out.width, channels = net.options().channels;
    std::vector<Tensor> v(depth), h(depth), links(depth);
    for (size_t l = 1; l < depth; ++l) {
        v[l] = zeros({n, channels, height, width}, {DType::Float32, device});
        h[l] = zeros({n, channels, 1, width}, {DType::Float32, device});
    }
    for (int64_t r = 0; r < height; ++r) {
        // Rows r-1-k/2 .. r-1 of each layer's vertical input give vp's row r: the link of row r,
        // and, gated, row r-1 of the next layer's vertical input. Rows above start_row are kept
        // as they are, but their vertical rows still have to be computed.
        Tensor x_rows = canvas.slice(2, 0, std::max<int64_t>(r, 1)).to(device);
        for (size_t l = 0; l < depth; ++l) {
            GatedLayer& layer = *net.layers[l];
            const Tensor& source = l == 0 ? x_rows : v[l];
            Tensor vp = layer.vertical_conv_unpadded(window_with_zeros(source, 2, r - 1 - layer.kernel / 2, r));
            links[l] = layer.link(vp);
            if (l + 1 < depth && r >= 1) v[l + 1].slice(2, r - 1, r).copy_(layer.vertical_gate(vp, labels));
        }
        if (r < start_row) continue;
        for (int64_t c = 0; c < width; ++c) {
            // Columns p, p+1 (at least two, to stay off the GEMM's matrix-vector path); c is one of them.
            const int64_t p = std::max<int64_t>(0, c - 1);
            for (int64_t ch = 0; ch < out.colours; ++ch) {  // the last pass leaves column c's final values
                Tensor x_row = canvas.slice(2, r, r + 1).slice(3, 0, p + 2).to(device);
                Tensor pair;
                for (size_t l = 0; l < depth; ++l) {
                    GatedLayer& layer = *net.layers[l];
                    const Tensor& source = l == 0 ? x_row : h[l];
                    pair = layer.horizontal_pair(window_with_zeros(source, 3, p - layer.kernel / 2, p + 2),
                                                 links[l].slice(3, p, p + 2), labels);
                    if (l + 1 < depth) h[l + 1].slice(3, c, c + 1).copy_(pair.slice(3, c - p, c - p + 1));
                }
                out.write(net.head(pair).select(3, c - p).select(2, 0), r, c, ch);
            }
        }
    }
}

}  // namespace

Tensor sample_gated(GatedPixelCnnNet& net, Tensor canvas, const Tensor& labels, int64_t start_row,
                    const Tensor& uniforms, GatedSampler sampler, Device device) {
    const int64_t colours = net.options().colours;
    MG_CHECK(canvas.dim() == 4 && canvas.size(1) == colours && canvas.dtype() == DType::Float32 &&
                 canvas.device() == Device::CPU && canvas.is_contiguous(),
             "gated-pixelcnn sampler: canvas must be a contiguous CPU float32 [N, {}, H, W], got {} {}", colours,
             canvas.dtype(), canvas.shape());
    const int64_t n = canvas.size(0), height = canvas.size(2), width = canvas.size(3);
    MG_CHECK(width >= 2, "gated-pixelcnn sampler: images must be at least 2 pixels wide, got {}", width);
    MG_CHECK(uniforms.dtype() == DType::Float64 && (uniforms.shape() == Shape({n, colours, height, width}) ||
                                                    (colours == 1 && uniforms.shape() == Shape({n, height, width}))),
             "gated-pixelcnn sampler: uniforms must be float64 [{}, {}, {}, {}], got {} {}", n, colours, height, width,
             uniforms.dtype(), uniforms.shape());
    MG_CHECK(start_row >= 0 && start_row <= height, "gated-pixelcnn sampler: start row {} outside 0..{}", start_row,
             height);
    autograd::NoGradGuard no_grad;
    const std::vector<double> u = uniforms.to(Device::CPU).to_vector<double>();
    const PixelWriter out{canvas.data<float>(), u.data(), n, colours, height, width, net.options().levels, start_row};
    const Tensor lab = labels.defined() ? labels.to(device) : Tensor();
    switch (sampler) {
        case GatedSampler::Naive: sample_naive(net, canvas, lab, start_row, out, device); break;
        case GatedSampler::Rows: sample_rows(net, canvas, lab, start_row, out, device); break;
        case GatedSampler::Cached: sample_cached(net, canvas, lab, start_row, out, device); break;
    }
    return canvas;
}

}  // namespace mg::models
