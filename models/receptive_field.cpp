#include "models/receptive_field.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "core/autograd.h"
#include "core/io/image.h"
#include "core/ops.h"
#include "kernels/base.h"
#include "models/capabilities.h"

namespace mg::models {

namespace {

// Puts every network of the model in eval mode, and back as it was.
class EvalModules {
public:
    explicit EvalModules(Model& model) {
        for (auto& [name, module] : model.modules()) {
            saved_.emplace_back(module, module->is_training());
            module->eval();
        }
    }
    ~EvalModules() {
        for (auto& [module, training] : saved_) module->train(training);
    }
    EvalModules(const EvalModules&) = delete;
    EvalModules& operator=(const EvalModules&) = delete;

private:
    std::vector<std::pair<nn::Module*, bool>> saved_;
};

// w: L values in [-1, 1) from a fixed seed, drawn on the host (the model's random stream is left alone).
Tensor projection(int64_t levels, Device device) {
    std::mt19937 gen(20161231);
    std::vector<float> w(static_cast<size_t>(levels));
    for (float& v : w) v = float(double(gen()) / 2147483648.0 - 1.0);
    return from_vector(w, Shape{levels}).to(device);
}

}  // namespace

std::vector<Tensor> receptive_fields(Model& model, const Tensor& image, const std::vector<PixelValue>& values,
                                     const Tensor& label) {
    auto& net = require<PixelLogits>(model, "receptive_field");
    MG_CHECK(image.dim() == 3, "receptive_field: the image must be [C, H, W], got {}", image.shape());
    const int64_t c = image.size(0), h = image.size(1), w = image.size(2);
    for (const PixelValue& v : values)
        MG_CHECK(v.channel >= 0 && v.channel < c && v.row >= 0 && v.row < h && v.col >= 0 && v.col < w,
                 "receptive_field: value (channel {}, row {}, col {}) is outside the image [{}, {}, {}]", v.channel,
                 v.row, v.col, c, h, w);
    EvalModules eval(model);
    Tensor x = image.to(Device::CPU).to(DType::Float32).reshape({1, c, h, w}).contiguous().detach();
    x.requires_grad_(true);
    Tensor logits = net.pixel_logits(x, label);  // [1, C*L, H, W]
    MG_CHECK(logits.dim() == 4 && logits.size(1) % c == 0 && logits.size(2) == h && logits.size(3) == w,
             "receptive_field: logits {} do not fit the image [{}, {}, {}]", logits.shape(), c, h, w);
    const int64_t levels = logits.size(1) / c;
    const Tensor weights = projection(levels, logits.device());
    std::vector<Tensor> fields;
    for (size_t k = 0; k < values.size(); ++k) {
        const PixelValue& v = values[k];
        Tensor value_logits = logits.select(0, 0).slice(0, v.channel * levels, (v.channel + 1) * levels);
        Tensor objective = sum(value_logits.select(1, v.row).select(1, v.col) * weights);
        Tensor g = autograd::grad({objective}, {x}, {}, /*retain_graph=*/k + 1 < values.size(),
                                  /*create_graph=*/false, /*allow_unused=*/true)[0];
        fields.push_back(g.defined() ? abs(g.detach()).reshape({c, h, w}).to(Device::CPU).contiguous()
                                     : zeros({c, h, w}));
    }
    return fields;
}

Tensor receptive_field(Model& model, const Tensor& image, const PixelValue& value, const Tensor& label) {
    return receptive_fields(model, image, {value}, label)[0];
}

bool is_future(const PixelValue& input, const PixelValue& value, int64_t width) {
    const int64_t in = input.row * width + input.col, at = value.row * width + value.col;
    return in > at || (in == at && input.channel >= value.channel);
}

void write_receptive_field_png(const std::string& path, const Tensor& field, const PixelValue& value,
                               int64_t scale) {
    MG_CHECK(field.dim() == 3 && scale >= 1 && scale <= 64, "receptive field picture: field must be [C, H, W], got {}",
             field.shape());
    const Tensor f = field.to(Device::CPU).to(DType::Float32).contiguous();
    const int64_t c = f.size(0), h = f.size(1), w = f.size(2);
    const float* p = f.data<float>();
    const float top = std::max(*std::max_element(p, p + f.numel()), 1e-30f);
    // The channels side by side, a grey column of `scale` pixels between them.
    const int64_t pw = c * w * scale + (c - 1) * scale, ph = h * scale;
    std::vector<uint8_t> rgb(size_t(3 * ph * pw), 96);
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < w; ++j) {
                const float g = p[(ch * h + i) * w + j];
                const auto level = uint8_t(std::lround(255.0 * std::sqrt(double(g) / double(top))));
                std::array<uint8_t, 3> colour = {level, level, level};
                const PixelValue input{ch, i, j};
                const bool self = ch == value.channel && i == value.row && j == value.col;
                if (is_future(input, value, w) && g > 0) colour = {255, 0, 0};  // a leak
                else if (self) colour = {40, 90, 255};
                for (int64_t y = i * scale; y < (i + 1) * scale; ++y)
                    for (int64_t x = (ch * (w + 1) + j) * scale; x < (ch * (w + 1) + j + 1) * scale; ++x)
                        for (int k = 0; k < 3; ++k) rgb[size_t((k * ph + y) * pw + x)] = colour[size_t(k)];
            }
    io::write_png(path, from_vector(rgb, Shape{3, ph, pw}, TensorOptions{DType::UInt8}));
}

}  // namespace mg::models
