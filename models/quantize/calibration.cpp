#include "models/quantize/calibration.h"

#include <algorithm>
#include <cmath>

#include "models/capabilities.h"
#include "models/quantize/layer_quant.h"

namespace mg::models::quantize {

namespace {

// Records the input of one layer and lets the layer run its float forward.
class Observer : public nn::ForwardHook {
public:
    Observer(std::string name, const CalibOptions& options) : name_(std::move(name)), recorder(options) {}
    std::optional<Tensor> before_forward(const Tensor& x) override {
        const Tensor xc = x.to(Device::CPU).contiguous();
        MG_CHECK(xc.dtype() == DType::Float32, "calibration: layer '{}' got a {} input, not float32", name_,
                 xc.dtype());
        try {
            recorder.add(xc.data<float>(), xc.numel());
        } catch (const Error& e) {
            MG_FAIL("calibration: the input of layer '{}': {}", name_, e.what());
        }
        return std::nullopt;
    }
    std::string name_;
    RangeRecorder recorder;
};

}  // namespace

void RangeRecorder::add(const float* x, int64_t n) {
    if (n == 0) return;
    float lo = x[0], hi = x[0];
    for (int64_t i = 0; i < n; ++i) {
        MG_CHECK(std::isfinite(x[i]), "value {} at element {} is not finite", x[i], i);
        lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    }
    if (options_.method == CalibMethod::Percentile) {
        std::vector<float> magnitude(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) magnitude[size_t(i)] = std::abs(x[i]);
        const int64_t rank = std::clamp<int64_t>(int64_t(std::ceil(options_.percentile / 100.0 * double(n))), 1, n);
        std::nth_element(magnitude.begin(), magnitude.begin() + (rank - 1), magnitude.end());
        const float a = magnitude[size_t(rank - 1)];
        lo_sum_ += std::max(lo, -a), hi_sum_ += std::min(hi, a);
    }
    lo_ = batches_ == 0 ? lo : std::min(lo_, lo);
    hi_ = batches_ == 0 ? hi : std::max(hi_, hi);
    ++batches_;
}

Range RangeRecorder::range() const {
    MG_CHECK(batches_ > 0, "calibration: no batch recorded");
    if (options_.method == CalibMethod::MinMax) return {lo_, hi_};
    return {float(lo_sum_ / double(batches_)), float(hi_sum_ / double(batches_))};
}

std::map<std::string, Range> calibrate(Model& model, const std::vector<std::pair<std::string, nn::Module*>>& networks,
                                       const CalibOptions& options) {
    Sampler& sampler = require<Sampler>(model, "calibrate for quantization");
    std::vector<QuantizableLayer> layers = quantizable_layers(networks);
    // The hooks come off whatever happens: the model must not keep recording.
    struct Unhook {
        std::vector<QuantizableLayer>& layers;
        ~Unhook() {
            for (QuantizableLayer& layer : layers) layer_hook(layer).reset();
        }
    } unhook{layers};
    std::vector<std::shared_ptr<Observer>> observers;
    for (const QuantizableLayer& layer : layers) {
        observers.push_back(std::make_shared<Observer>(layer.name, options));
        layer_hook(layer) = observers.back();
    }
    for (int64_t b = 0; b < options.batches; ++b) sampler.sample(options.batch_size);
    std::map<std::string, Range> ranges;
    for (const auto& o : observers)
        if (o->recorder.batches() > 0) ranges[o->name_] = o->recorder.range();
    return ranges;
}

}  // namespace mg::models::quantize
