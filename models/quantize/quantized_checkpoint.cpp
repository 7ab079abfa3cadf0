#include "models/quantize/quantized_checkpoint.h"

#include <cmath>

#include "core/io/input.h"
#include "models/quantize/int8_layers.h"

namespace mg::models::quantize {

namespace {

std::string scale_key(const std::string& layer) { return "quant." + layer + ".weight_scale"; }

LayerOp parse_op(const std::string& op, const std::string& where) {
    for (LayerOp o : {LayerOp::Linear, LayerOp::Conv2d, LayerOp::ConvTranspose2d})
        if (op == layer_op_name(o)) return o;
    MG_FAIL("{}: op {} is not Linear, Conv2d or ConvTranspose2d", where, io::quote_short(op));
}

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where) {
    MG_CHECK(j.is_object() && j.contains(key), "{}: no field '{}'", where, key);
    return j.at(key);
}

nlohmann::json quantization_json(const io::Checkpoint& ck, const std::string& path) {
    const std::string& text = ck.metadata.at(kQuantizationKey);
    const std::string what = fmt::format("{}: metadata '{}'", path, kQuantizationKey);
    nlohmann::json j = io::parse_json(text, what);
    MG_CHECK(j.is_object(), "{} must be a JSON object, got {}", what, io::quote_short(text));
    const nlohmann::json& dtype = field(j, "dtype", what);
    MG_CHECK(dtype == "int8", "{}: dtype {} (only int8 is known)", what, io::quote_short(dtype.dump()));
    MG_CHECK(field(j, "model", what).is_string(), "{}: 'model' must be a string", what);
    MG_CHECK(field(j, "layers", what).is_array() && !j.at("layers").empty(), "{}: 'layers' must be a non-empty array",
             what);
    return j;
}

}  // namespace

void record_quantization(io::Checkpoint& ck, const std::string& model_name, const std::vector<LayerQuant>& layers,
                         const nlohmann::json& calibration) {
    nlohmann::json j = calibration;
    j["dtype"] = "int8";
    j["model"] = model_name;
    j["layers"] = nlohmann::json::array();
    for (const LayerQuant& l : layers) {
        // float -> double is exact and the JSON keeps a double's 17 digits: the scale reads back bit for bit.
        j["layers"].push_back({{"name", l.name},
                               {"op", layer_op_name(l.op)},
                               {"input_scale", double(l.input.scale)},
                               {"input_zero_point", l.input.zero_point}});
        ck.extra[scale_key(l.name)] = from_vector(l.weight_scale);
    }
    ck.metadata[kQuantizationKey] = j.dump();
}

std::vector<LayerQuant> read_quantization(const io::Checkpoint& ck, const std::string& path) {
    if (!ck.metadata.count(kQuantizationKey)) return {};
    const nlohmann::json j = quantization_json(ck, path);
    std::vector<LayerQuant> layers;
    for (const nlohmann::json& e : j.at("layers")) {
        const std::string where = fmt::format("{}: quantized layer {}", path, io::quote_short(e.dump()));
        LayerQuant l;
        MG_CHECK(field(e, "name", where).is_string(), "{}: 'name' must be a string", where);
        l.name = e.at("name").get<std::string>();
        MG_CHECK(field(e, "op", where).is_string(), "{}: 'op' must be a string", where);
        l.op = parse_op(e.at("op").get<std::string>(), where);
        const nlohmann::json& scale = field(e, "input_scale", where);
        const nlohmann::json& zero_point = field(e, "input_zero_point", where);
        MG_CHECK(scale.is_number() && std::isfinite(scale.get<double>()) && float(scale.get<double>()) > 0,
                 "{}: input_scale must be a finite number > 0", where);
        MG_CHECK(zero_point.is_number_integer() && zero_point.get<int64_t>() >= 0 && zero_point.get<int64_t>() <= 255,
                 "{}: input_zero_point must be an integer in 0..255", where);
        l.input.scale = float(scale.get<double>());
        l.input.zero_point = int32_t(zero_point.get<int64_t>());
        auto t = ck.extra.find(scale_key(l.name));
        MG_CHECK(t != ck.extra.end(), "{}: no tensor 'extra.{}'", where, scale_key(l.name));
        MG_CHECK(t->second.dtype() == DType::Float32 && t->second.dim() == 1,
                 "{}: 'extra.{}' must be 1-D float32, got {} {}", where, scale_key(l.name), t->second.dtype(),
                 t->second.shape());
        l.weight_scale = t->second.to_vector<float>();
        for (float s : l.weight_scale)
            MG_CHECK(std::isfinite(s) && s > 0, "{}: weight scale {} is not finite and > 0", where, s);
        layers.push_back(std::move(l));
    }
    return layers;
}

MatchedLayers match_quantized_layers(Model& model, const io::Checkpoint& ck, const std::string& path) {
    const std::vector<LayerQuant> recorded = read_quantization(ck, path);
    if (recorded.empty()) return {};
    const std::string quantized_for = quantization_json(ck, path).at("model").get<std::string>();
    MG_CHECK(quantized_for == model.name(), "{}: quantized for model '{}', not '{}'", path, quantized_for,
             model.name());
    const std::vector<QuantizableLayer> layers = quantizable_layers(model.modules());
    MatchedLayers matched;
    for (const LayerQuant& q : recorded) {
        auto it = std::find_if(layers.begin(), layers.end(), [&](const QuantizableLayer& l) { return l.name == q.name; });
        MG_CHECK(it != layers.end(), "{}: quantized layer '{}' is not a Linear or convolution of model '{}'", path,
                 q.name, model.name());
        MG_CHECK(it->op == q.op, "{}: quantized layer '{}' is a {}, the model's is a {}", path, q.name,
                 layer_op_name(q.op), layer_op_name(it->op));
        const Tensor& w = layer_weight(*it);
        MG_CHECK(output_channels(it->op, w) == int64_t(q.weight_scale.size()),
                 "{}: quantized layer '{}' has {} weight scales, the model's has {} output channels", path, q.name,
                 q.weight_scale.size(), output_channels(it->op, w));
        MG_CHECK(w.device() == Device::CPU, "{}: the int8 kernels run on the CPU only; load it with --device cpu",
                 path);
        matched.emplace_back(*it, q);
    }
    return matched;
}

void install_int8(const MatchedLayers& matched) {
    for (const auto& [layer, quant] : matched) layer_hook(layer) = make_int8_forward(layer, quant);
}

}  // namespace mg::models::quantize
