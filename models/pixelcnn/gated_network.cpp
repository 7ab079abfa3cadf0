#include "models/pixelcnn/gated_network.h"

#include <string>
#include <tuple>

#include "core/ops.h"

namespace mg::models {

GatedPixelCnnNet::GatedPixelCnnNet(const GatedNetOptions& o) : options_(o) {
    MG_CHECK(o.layers >= 1, "gated-pixelcnn: layers must be >= 1, got {}", o.layers);
    MG_CHECK(o.channels > 0 && o.head_channels > 0 && o.levels >= 2,
             "gated-pixelcnn: channels {}, head_channels {} and levels {} must be positive (levels >= 2)", o.channels,
             o.head_channels, o.levels);
    MG_CHECK(o.colours == 1 || o.colours == 3, "gated-pixelcnn: images must have 1 or 3 channels, got {}", o.colours);
    MG_CHECK(o.channels % o.colours == 0 && o.head_channels % o.colours == 0,
             "gated-pixelcnn: channels {} and head_channels {} must be multiples of 3 for colour images", o.channels,
             o.head_channels);
    // A plain holder, so that parameters are named "layers.<i>.conv_v.weight" (PyTorch's ModuleList).
    auto list = register_module("layers", std::make_shared<nn::Module>());
    for (int64_t l = 0; l < o.layers; ++l) {
        const bool first = l == 0;
        layers.push_back(list->register_module(
            std::to_string(l),
            std::make_shared<GatedLayer>(first ? o.colours : o.channels, o.channels, first ? o.first_kernel : o.kernel,
                                         first, o.classes, o.colours)));
    }
    auto head_conv = [&](int64_t in, int64_t out) -> std::shared_ptr<nn::Conv2d> {
        if (o.colours == 1) return std::make_shared<nn::Conv2d>(in, out, 1);
        return std::make_shared<pixelcnn::MaskedConv2d>(in, out, 1, 'B', /*bias=*/true, o.colours);
    };
    head_hidden = register_module("head_hidden", head_conv(o.channels, o.head_channels));
    head_out = register_module("head_out", head_conv(o.head_channels, o.colours * o.levels));
}

int64_t GatedPixelCnnNet::receptive_radius() const {
    return options_.first_kernel / 2 + (options_.layers - 1) * (options_.kernel / 2);
}

void GatedPixelCnnNet::check_input(const Tensor& x) const {
    MG_CHECK(x.dim() == 4 && x.size(1) == options_.colours, "gated-pixelcnn: input must be [N, {}, H, W], got {}",
             options_.colours, x.shape());
}

std::vector<Tensor> GatedPixelCnnNet::links(const Tensor& x, const Tensor& labels) {
    check_input(x);
    std::vector<Tensor> out;
    Tensor v = x;
    for (size_t l = 0; l < layers.size(); ++l) {
        Tensor vp = layers[l]->vertical_conv(v);
        out.push_back(layers[l]->link(vp.slice(2, 0, x.size(2))));
        // vp's rows 1..H are the stack's own rows; the last layer's v would feed nothing.
        if (l + 1 < layers.size()) v = layers[l]->vertical_gate(vp.slice(2, 1, x.size(2) + 1), labels);
    }
    return out;
}

Tensor GatedPixelCnnNet::horizontal(const Tensor& x, const std::vector<Tensor>& ls, const Tensor& labels) {
    MG_CHECK(ls.size() == layers.size(), "gated-pixelcnn: {} links for {} layers", ls.size(), layers.size());
    Tensor h = x;
    for (size_t l = 0; l < layers.size(); ++l) h = layers[l]->horizontal(h, ls[l], labels);
    return head(h);
}

Tensor GatedPixelCnnNet::head(const Tensor& h) { return (*head_out)(relu((*head_hidden)(relu(h)))); }

Tensor GatedPixelCnnNet::forward(const Tensor& x, const Tensor& labels) {
    check_input(x);
    // Layer by layer (the same values as horizontal(x, links(x))), so each link dies young.
    Tensor v = x, h = x;
    for (auto& layer : layers) std::tie(v, h) = layer->forward(v, h, labels);
    return head(h);
}

}  // namespace mg::models
