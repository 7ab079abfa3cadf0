// Each module kind's ONNX form, one entry per kind, keyed by the exact type: a subclass
// (pixelcnn's MaskedConv2d is a Conv2d with another forward) has its own entry or none, so
// it is refused rather than written as its base class.
#ifdef MINIGEN_WITH_ONNX

#include "models/export/onnx_modules.h"

#include <cmath>
#include <functional>
#include <typeindex>
#include <unordered_map>

#include "core/nn/nn.h"
#include "core/ops.h"
#include "models/gan/networks.h"
#include "models/pixelcnn/masked_conv.h"
#include "models/pixelcnn/pixelcnn_net.h"
#include "models/quantize/int8_layers.h"
#include "models/vae/networks.h"

namespace mg::models::onnx_export {

namespace {

// What an entry gets: the graph, and a way to emit its children.
struct Emitter {
    Graph& graph;
    const std::string& model;
    std::string child(nn::Module& m, const std::string& prefix, const std::string& x) {
        return emit_module(graph, m, prefix, x, model);
    }
};

using Emit = std::function<std::string(Emitter&, nn::Module&, const std::string& prefix, const std::string& x)>;

template <class M>
std::pair<std::type_index, Emit> entry(
    std::function<std::string(Emitter&, M&, const std::string&, const std::string&)> f) {
    return {std::type_index(typeid(M)), [f](Emitter& e, nn::Module& m, const std::string& p, const std::string& x) {
                return f(e, static_cast<M&>(m), p, x);
            }};
}

// An int8 layer (models/quantize) as QDQ: x -> QuantizeLinear -> DequantizeLinear (uint8, per
// tensor), the int8 weight -> DequantizeLinear (per output channel: `axis`), then the float op.
std::vector<std::string> qdq_inputs(Graph& g, const std::string& x, const std::string& prefix, const Tensor& weight,
                                    const quantize::Int8Forward& q) {
    const uint8_t zero_point = uint8_t(q.input().zero_point);
    const std::string x_scale = g.initializer(dotted(prefix, "input_scale"), scalar_tensor(q.input().scale));
    const std::string x_zero = g.byte_initializer(dotted(prefix, "input_zero_point"), {}, &zero_point, false);
    const std::string x_q = g.node("QuantizeLinear", {x, x_scale, x_zero}, dotted(prefix, "input_quantized"));
    const std::string x_dq = g.node("DequantizeLinear", {x_q, x_scale, x_zero}, dotted(prefix, "input_dequantized"));
    const std::vector<int8_t> zeros(q.weight_scale().size(), 0);
    const int64_t channels = int64_t(zeros.size());
    const std::string w_q = g.byte_initializer(dotted(prefix, "weight_quantized"), weight.shape().vec(),
                                               q.weight().data(), true);
    const std::string w_dq = g.node(
        "DequantizeLinear",
        {w_q, g.float_constant(dotted(prefix, "weight_scale"), q.weight_scale()),
         g.byte_initializer(dotted(prefix, "weight_zero_point"), {channels}, zeros.data(), true)},
        dotted(prefix, "weight_dequantized"),
        {Attr::integer("axis", q.op() == quantize::LayerOp::ConvTranspose2d ? 1 : 0)});
    return {x_dq, w_dq};
}

// A layer's weight and bias (when it has one) as initializers: the inputs after x. The
// weight of an int8 layer (its hook an Int8Forward) is written quantized, with x, as QDQ.
std::vector<std::string> weight_inputs(Graph& g, const std::string& x, const std::string& prefix, const Tensor& weight,
                                       const Tensor& bias, const nn::ForwardHook* hook = nullptr) {
    const auto* int8 = dynamic_cast<const quantize::Int8Forward*>(hook);
    std::vector<std::string> in =
        int8 ? qdq_inputs(g, x, prefix, weight, *int8)
             : std::vector<std::string>{x, g.initializer(dotted(prefix, "weight"), weight)};
    if (bias.defined()) in.push_back(g.initializer(dotted(prefix, "bias"), bias));
    return in;
}

// Conv and ConvTranspose share their geometry attributes (pads: begin h, w, then end h, w).
std::vector<Attr> conv_attrs(const nn::ConvBase& c) {
    const Conv2dOptions& o = c.options;
    return {Attr::list("kernel_shape", {c.kernel_size.h, c.kernel_size.w}),
            Attr::list("strides", {o.stride.h, o.stride.w}),
            Attr::list("pads", {o.padding.h, o.padding.w, o.padding.h, o.padding.w}),
            Attr::list("dilations", {o.dilation.h, o.dilation.w}), Attr::integer("group", o.groups)};
}

std::string conv(Emitter& e, const nn::ConvBase& c, const std::string& prefix, const std::string& x,
                 const Tensor& weight) {
    return e.graph.node("Conv", weight_inputs(e.graph, x, prefix, weight, c.bias, c.hook.get()), prefix,
                        conv_attrs(c));
}

// Reshape to [-1, dims...].
std::string reshape_rows(Graph& g, const std::string& x, const std::string& prefix, std::vector<int64_t> dims) {
    dims.insert(dims.begin(), -1);
    return g.node("Reshape", {x, g.int64_constant(dotted(prefix, "shape"), dims)}, dotted(prefix, "reshape"));
}

// Eval mode: (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel (dim 1).
std::string batch_norm(Emitter& e, nn::BatchNorm& m, const std::string& p, const std::string& x) {
    MG_CHECK(m.track_running_stats,
             "export: model '{}' uses {} without running statistics (at '{}') which has no ONNX form yet", e.model,
             m.type_name(), p);
    Graph& g = e.graph;
    const std::string scale = m.affine ? g.initializer(dotted(p, "weight"), m.weight)
                                       : g.initializer(dotted(p, "weight_unit"), ones({m.num_features}));
    const std::string shift = m.affine ? g.initializer(dotted(p, "bias"), m.bias)
                                       : g.initializer(dotted(p, "bias_unit"), zeros({m.num_features}));
    return g.node("BatchNormalization",
                  {x, scale, shift, g.initializer(dotted(p, "running_mean"), m.running_mean),
                   g.initializer(dotted(p, "running_var"), m.running_var)},
                  p, {Attr::real("epsilon", m.eps)});
}

// The children in order, named "<prefix>.0", "<prefix>.1", ... as the state_dict names them.
std::string sequential(Emitter& e, nn::Sequential& m, const std::string& p, const std::string& x) {
    std::string h = x;
    size_t i = 0;
    for (const auto& child : m) h = e.child(*child, dotted(p, std::to_string(i++)), h);
    return h;
}

const std::unordered_map<std::type_index, Emit>& table() {
    using S = const std::string&;
    static const std::unordered_map<std::type_index, Emit> t = {
        // ---- layers with weights ----
        entry<nn::Linear>([](Emitter& e, nn::Linear& m, S p, S x) {  // x [N, in] -> x W^T + b
            return e.graph.node("Gemm", weight_inputs(e.graph, x, p, m.weight, m.bias, m.hook.get()), p,
                                {Attr::integer("transB", 1)});
        }),
        entry<nn::Conv2d>([](Emitter& e, nn::Conv2d& m, S p, S x) { return conv(e, m, p, x, m.weight); }),
        // The mask is folded into the weight: the initializer "<prefix>.weight" is weight * mask.
        entry<nn::MaskedConv2d>(
            [](Emitter& e, nn::MaskedConv2d& m, S p, S x) { return conv(e, m, p, x, m.weight * m.mask); }),
        entry<pixelcnn::MaskedConv2d>(
            [](Emitter& e, pixelcnn::MaskedConv2d& m, S p, S x) { return conv(e, m, p, x, m.masked_weight()); }),
        entry<nn::ConvTranspose2d>([](Emitter& e, nn::ConvTranspose2d& m, S p, S x) {
            std::vector<Attr> attrs = conv_attrs(m);
            attrs.push_back(Attr::list("output_padding", {m.options.output_padding.h, m.options.output_padding.w}));
            return e.graph.node("ConvTranspose", weight_inputs(e.graph, x, p, m.weight, m.bias, m.hook.get()), p,
                                attrs);
        }),
        entry<nn::BatchNorm1d>([](Emitter& e, nn::BatchNorm1d& m, S p, S x) { return batch_norm(e, m, p, x); }),
        entry<nn::BatchNorm2d>([](Emitter& e, nn::BatchNorm2d& m, S p, S x) { return batch_norm(e, m, p, x); }),
        entry<nn::LayerNorm>([](Emitter& e, nn::LayerNorm& m, S p, S x) {
            Graph& g = e.graph;
            const Tensor scale = m.elementwise_affine ? m.weight : ones(m.normalized_shape);
            const Tensor shift = m.elementwise_affine ? m.bias : zeros(m.normalized_shape);
            const std::string suffix = m.elementwise_affine ? "" : "_unit";
            return g.node("LayerNormalization",
                          {x, g.initializer(dotted(p, "weight" + suffix), scale),
                           g.initializer(dotted(p, "bias" + suffix), shift)},
                          p,
                          {Attr::integer("axis", -int64_t(m.normalized_shape.size())), Attr::real("epsilon", m.eps)});
        }),
        entry<nn::Embedding>([](Emitter& e, nn::Embedding& m, S p, S x) {  // indices int64 -> rows of the table
            return e.graph.node("Gather", {e.graph.initializer(dotted(p, "weight"), m.weight), x}, p);
        }),
        // ---- activations ----
        entry<nn::ReLU>([](Emitter& e, nn::ReLU&, S p, S x) { return e.graph.node("Relu", {x}, p); }),
        entry<nn::LeakyReLU>([](Emitter& e, nn::LeakyReLU& m, S p, S x) {
            return e.graph.node("LeakyRelu", {x}, p, {Attr::real("alpha", m.negative_slope)});
        }),
        entry<nn::ELU>([](Emitter& e, nn::ELU& m, S p, S x) {
            return e.graph.node("Elu", {x}, p, {Attr::real("alpha", m.alpha)});
        }),
        entry<nn::Tanh>([](Emitter& e, nn::Tanh&, S p, S x) { return e.graph.node("Tanh", {x}, p); }),
        entry<nn::Sigmoid>([](Emitter& e, nn::Sigmoid&, S p, S x) { return e.graph.node("Sigmoid", {x}, p); }),
        entry<nn::Softplus>([](Emitter& e, nn::Softplus& m, S p, S x) {
            // ONNX's Softplus is ln(1 + e^x): with beta, softplus(beta x) / beta. Above the threshold
            // minigen returns x itself; ln(1 + e^y) differs from y by under e^-20 there.
            if (m.beta == 1.0) return e.graph.node("Softplus", {x}, p);
            Graph& g = e.graph;
            const std::string beta = g.float_constant(dotted(p, "beta"), {float(m.beta)});
            return g.node("Div", {g.node("Softplus", {g.node("Mul", {x, beta}, p)}, p), beta}, p);
        }),
        // Exact GELU, x * (1 + erf(x / sqrt 2)) / 2: opset 17 has no Gelu (it came in 20).
        entry<nn::GELU>([](Emitter& e, nn::GELU&, S p, S x) {
            Graph& g = e.graph;
            const std::string sqrt2 = g.float_constant(dotted(p, "sqrt2"), {float(std::sqrt(2.0))});
            const std::string erf = g.node("Erf", {g.node("Div", {x, sqrt2}, p)}, p);
            const std::string one_plus = g.node("Add", {erf, g.float_constant(dotted(p, "one"), {1.0f})}, p);
            return g.node("Mul", {g.node("Mul", {x, one_plus}, p), g.float_constant(dotted(p, "half"), {0.5f})}, p);
        }),
        // ---- no-ops in eval mode, and reshapes ----
        entry<nn::Identity>([](Emitter&, nn::Identity&, S, S x) { return x; }),
        entry<nn::Dropout>([](Emitter&, nn::Dropout&, S, S x) { return x; }),
        entry<nn::Flatten>([](Emitter& e, nn::Flatten& m, S p, S x) {
            // ONNX's Flatten keeps the dims before `axis` as one: [N, ...] -> [N, rest] for (1, -1) only.
            MG_CHECK(
                m.start_dim == 1 && m.end_dim == -1,
                "export: model '{}' uses Flatten({}, {}) (at '{}') which has no ONNX form yet (only Flatten(1, -1))",
                e.model, m.start_dim, m.end_dim, p);
            return e.graph.node("Flatten", {x}, p, {Attr::integer("axis", 1)});
        }),
        entry<nn::Unflatten>([](Emitter& e, nn::Unflatten& m, S p, S x) {  // [N, F] -> [N, sizes...]
            MG_CHECK(m.dim == 1,
                     "export: model '{}' uses Unflatten({}, ...) (at '{}') which has no ONNX form yet "
                     "(only dim 1)",
                     e.model, m.dim, p);
            return reshape_rows(e.graph, x, p, m.sizes);
        }),
        // ---- containers and the networks with their own forward ----
        entry<nn::Sequential>([](Emitter& e, nn::Sequential& m, S p, S x) { return sequential(e, m, p, x); }),
        entry<pixelcnn::PixelCnnNet>(
            [](Emitter& e, pixelcnn::PixelCnnNet& m, S p, S x) { return sequential(e, m, p, x); }),
        entry<DcGenerator>([](Emitter& e, DcGenerator& m, S p, S x) {  // fc -> [-1, C0, base, base] -> net
            const int64_t c0 = m.width << (m.shape.blocks - 1);
            const std::string h =
                reshape_rows(e.graph, e.child(*m.fc, dotted(p, "fc"), x), p, {c0, m.shape.base, m.shape.base});
            return e.child(*m.net, dotted(p, "net"), h);
        }),
        entry<MlpDecoder>([](Emitter& e, MlpDecoder& m, S p, S x) {  // fc1 ReLU fc2 -> [-1, C, H, W]
            const std::string h = e.graph.node("Relu", {e.child(*m.fc1, dotted(p, "fc1"), x)}, dotted(p, "relu"));
            return reshape_rows(e.graph, e.child(*m.fc2, dotted(p, "fc2"), h), p, m.image_shape().vec());
        }),
        entry<ConvDecoder>([](Emitter& e, ConvDecoder& m, S p, S x) {  // fc ReLU -> [-1, top, base, base] -> deconvs
            const int64_t top = m.deconvs.front()->in_channels, base = m.image_shape()[1] >> m.deconvs.size();
            std::string h = e.graph.node("Relu", {e.child(*m.fc, dotted(p, "fc"), x)}, dotted(p, "relu"));
            h = reshape_rows(e.graph, h, p, {top, base, base});
            for (size_t i = 0; i < m.deconvs.size(); ++i) {
                const std::string name = dotted(p, "deconv" + std::to_string(i + 1));
                h = e.child(*m.deconvs[i], name, h);
                if (i + 1 < m.deconvs.size()) h = e.graph.node("Relu", {h}, name + ".relu");
            }
            return h;
        }),
    };
    return t;
}

}  // namespace

std::string emit_module(Graph& graph, nn::Module& module, const std::string& prefix, const std::string& x,
                        const std::string& model) {
    const auto& t = table();
    const auto it = t.find(std::type_index(typeid(module)));
    MG_CHECK(it != t.end(), "export: model '{}' uses {} (at '{}') which has no ONNX form yet", model,
             module.type_name(), prefix.empty() ? "the network" : prefix);
    Emitter e{graph, model};
    return it->second(e, module, prefix, x);
}

}  // namespace mg::models::onnx_export

#endif  // MINIGEN_WITH_ONNX
