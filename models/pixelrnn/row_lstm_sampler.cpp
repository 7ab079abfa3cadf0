#include "models/pixelrnn/row_lstm_sampler.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/options.h"
#include "models/pixelcnn/pixelcnn_sampler.h"
#include "models/progress.h"

namespace mg::models::pixelrnn {

constexpr NameTable<RowSampler, 2> kSamplerNames{
    "row-lstm: unknown sampler", {{{"naive", RowSampler::Naive}, {"rows", RowSampler::Rows}}}};
RowSampler parse_row_sampler(const std::string& name) { return kSamplerNames.parse(name); }
std::string row_sampler_name(RowSampler kind) { return kSamplerNames.name(kind); }

namespace {

// The images as the sampler fills them: float [N, 1, H, W] on the CPU, row-major.
struct Canvas {
    int64_t n, h, w;
    std::vector<float> values;

    // Rows r0 .. r1-1 as a tensor [N, 1, r1-r0, W] on `device`.
    Tensor rows(int64_t r0, int64_t r1, Device device) const {
        std::vector<float> out;
        out.reserve(size_t(n * (r1 - r0) * w));
        for (int64_t i = 0; i < n; ++i)
            out.insert(out.end(), values.begin() + (i * h + r0) * w, values.begin() + (i * h + r1) * w);
        return from_vector(out, {n, 1, r1 - r0, w}).to(device);
    }
};

// Row r of every layer from the states after row r-1: the logits of row r [N, levels, 1, W];
// `states` becomes the states after row r.
Tensor row_pass(RowLstmNet& net, const Canvas& canvas, int64_t r, std::vector<RowState>& states, Device device) {
    const int64_t reach = net.input_conv->kernel_size.h / 2, r0 = std::max<int64_t>(0, r - reach);
    Tensor x = (*net.input_conv)(canvas.rows(r0, r + 1, device)).slice(2, r - r0, r - r0 + 1);  // [N, C, 1, W]
    for (size_t l = 0; l < net.layers.size(); ++l) {
        RowLstmLayer& layer = *net.layers[l];
        states[l] = layer.step(layer.input_gates(x), states[l]);
        x = layer.residual(x, states[l].h);
    }
    return net.head(x);
}

// Draws pixel (r, c) of every image from its logits [N, levels, rows, W] at row `row`.
void draw(Canvas& canvas, const Tensor& logits, int64_t row, int64_t r, int64_t c, const std::vector<double>& u) {
    const int64_t levels = logits.size(1);
    const std::vector<float> l = logits.select(2, row).select(2, c).contiguous().to(Device::CPU).to_vector<float>();
    for (int64_t i = 0; i < canvas.n; ++i) {
        const int64_t at = (i * canvas.h + r) * canvas.w + c;
        const int64_t level = pixelcnn::draw_level(l.data() + i * levels, levels, u[size_t(at)]);
        canvas.values[size_t(at)] = float(level) / float(levels - 1);
    }
}

}  // namespace

Tensor sample_row_lstm(RowLstmNet& net, const Tensor& images, int64_t first_pixel, const Tensor& uniforms,
                       RowSampler kind) {
    MG_CHECK(images.dim() == 4 && images.size(1) == 1, "row-lstm sampler: expected images [N, 1, H, W], got {}",
             images.shape());
    const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
    MG_CHECK(uniforms.dim() == 2 && uniforms.size(0) == n && uniforms.size(1) == h * w,
             "row-lstm sampler: uniforms {} do not match images {}", uniforms.shape(), images.shape());
    MG_CHECK(first_pixel >= 0 && first_pixel <= h * w, "row-lstm sampler: first_pixel {} not in [0, {}]",
             first_pixel, h * w);
    autograd::NoGradGuard no_grad;
    const Device device = net.input_conv->weight.device();
    Canvas canvas{n, h, w, images.to(Device::CPU).to(DType::Float32).contiguous().to_vector<float>()};
    const std::vector<double> u = uniforms.to(Device::CPU).to(DType::Float64).contiguous().to_vector<double>();
    const int64_t total = h * w - first_pixel;

    if (kind == RowSampler::Naive) {
        for (int64_t p = first_pixel; p < h * w; ++p) {
            draw(canvas, net(canvas.rows(0, h, device)), p / w, p / w, p % w, u);
            report_work(p - first_pixel + 1, total);
        }
    } else {
        std::vector<RowState> states;
        for (auto& layer : net.layers) states.push_back(layer->initial_state(n, w));
        const int64_t first_row = first_pixel / w;
        for (int64_t r = 0; r < first_row; ++r) row_pass(net, canvas, r, states, device);  // the context's rows
        for (int64_t r = first_row; r < h; ++r) {
            const std::vector<RowState> before = states;
            for (int64_t c = r == first_row ? first_pixel % w : 0; c < w; ++c) {
                states = before;
                draw(canvas, row_pass(net, canvas, r, states, device), 0, r, c, u);
                report_work(r * w + c - first_pixel + 1, total);
            }
        }
    }
    return from_vector(canvas.values, {n, 1, h, w});
}

}  // namespace mg::models::pixelrnn
