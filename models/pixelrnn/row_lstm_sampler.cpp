#include "models/pixelrnn/row_lstm_sampler.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/options.h"
#include "models/pixelrnn/pixel_canvas.h"
#include "models/progress.h"

namespace mg::models::pixelrnn {

constexpr NameTable<RowSampler, 2> kSamplerNames{
    "row-lstm: unknown sampler", {{{"naive", RowSampler::Naive}, {"rows", RowSampler::Rows}}}};
RowSampler parse_row_sampler(const std::string& name) { return kSamplerNames.parse(name); }
std::string row_sampler_name(RowSampler kind) { return kSamplerNames.name(kind); }

namespace {

// Row r of every layer from the states after row r-1: the logits of row r [N, levels, 1, W];
// `states` becomes the states after row r.
Tensor row_pass(RowLstmNet& net, const PixelCanvas& canvas, int64_t r, std::vector<RowState>& states,
                Device device) {
    const int64_t reach = net.input_conv->kernel_size.h / 2, r0 = std::max<int64_t>(0, r - reach);
    Tensor x = (*net.input_conv)(canvas.rows(r0, r + 1, device)).slice(2, r - r0, r - r0 + 1);  // [N, C, 1, W]
    for (size_t l = 0; l < net.layers.size(); ++l) {
        RowLstmLayer& layer = *net.layers[l];
        states[l] = layer.step(layer.input_gates(x), states[l]);
        x = layer.residual(x, states[l].h);
    }
    return net.head(x);
}

}  // namespace

Tensor sample_row_lstm(RowLstmNet& net, const Tensor& images, int64_t first_pixel, const Tensor& uniforms,
                       RowSampler kind) {
    if (kind == RowSampler::Naive) return sample_naive(net, "row-lstm sampler", images, first_pixel, uniforms);
    PixelCanvas canvas("row-lstm sampler", images, first_pixel, uniforms);
    autograd::NoGradGuard no_grad;
    const Device device = net.input_conv->weight.device();
    const int64_t n = canvas.n, h = canvas.h, w = canvas.w, total = h * w - first_pixel;
    std::vector<RowState> states;
    for (auto& layer : net.layers) states.push_back(layer->initial_state(n, w));
    const int64_t first_row = first_pixel / w;
    for (int64_t r = 0; r < first_row; ++r) row_pass(net, canvas, r, states, device);  // the context's rows
    for (int64_t r = first_row; r < h; ++r) {
        const std::vector<RowState> before = states;
        for (int64_t c = r == first_row ? first_pixel % w : 0; c < w; ++c) {
            states = before;
            canvas.draw(row_pass(net, canvas, r, states, device), 0, r, c);
            report_work(r * w + c - first_pixel + 1, total);
        }
    }
    return canvas.images();
}

}  // namespace mg::models::pixelrnn
