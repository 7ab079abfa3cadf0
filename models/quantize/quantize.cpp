#include "models/quantize/quantize.h"

#include <algorithm>

#include <fmt/ranges.h>

namespace mg::models::quantize {

const std::vector<std::string>& quantizable_models() {
    static const std::vector<std::string> names = {"dcgan", "cgan", "wgan-gp", "vae", "cvae", "convvae"};
    return names;
}

std::vector<LayerQuant> quantize_model(Model& model, const CalibOptions& options) {
    const auto& names = quantizable_models();
    MG_CHECK(std::find(names.begin(), names.end(), model.name()) != names.end(),
             "quantize: model '{}' has no int8 form yet (its layers are not all Linear / Conv2d / ConvTranspose2d; "
             "quantizable: {})",
             model.name(), fmt::join(names, ", "));
    MG_CHECK(options.batches >= 1 && options.batch_size >= 1, "quantize: calibration needs at least one batch");
    const auto networks = model.modules();
    const std::map<std::string, Range> ranges = calibrate(model, networks, options);
    std::vector<LayerQuant> out;
    for (const QuantizableLayer& layer : quantizable_layers(networks)) {
        auto r = ranges.find(layer.name);
        if (r == ranges.end()) continue;  // not on the sampling path (a discriminator, an encoder)
        LayerQuant q;
        q.name = layer.name, q.op = layer.op;
        q.input = activation_quant(r->second.lo, r->second.hi);
        q.weight_scale = weight_scales(layer.op, layer_weight(layer));
        out.push_back(std::move(q));
    }
    MG_CHECK(!out.empty(), "quantize: sampling model '{}' ran no Linear or convolution layer", model.name());
    return out;
}

}  // namespace mg::models::quantize
