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
    // A plain holder, so that parameters are named "layers.<i>.conv_v.weight" (PyTorch's ModuleList).
    auto list = register_module("layers", std::make_shared<nn::Module>());
    for (int64_t l = 0; l < o.layers; ++l) {
        const bool first = l == 0;
        layers.push_back(list->register_module(
            std::to_string(l),
            std::make_shared<GatedLayer>(first ? 1 : o.channels, o.channels, first ? o.first_kernel : o.kernel, first,
                                         o.classes)));
    }
    head_hidden = register_module("head_hidden", std::make_shared<nn::Conv2d>(o.channels, o.head_channels, 1));
    head_out = register_module("head_out", std::make_shared<nn::Conv2d>(o.head_channels, o.levels, 1));
}

int64_t GatedPixelCnnNet::receptive_radius() const {
    return options_.first_kernel / 2 + (options_.layers - 1) * (options_.kernel / 2);
}

std::vector<Tensor> GatedPixelCnnNet::links(const Tensor& x, const Tensor& labels) {
    MG_CHECK(x.dim() == 4 && x.size(1) == 1, "gated-pixelcnn: input must be [N, 1, H, W], got {}", x.shape());
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
    MG_CHECK(x.dim() == 4 && x.size(1) == 1, "gated-pixelcnn: input must be [N, 1, H, W], got {}", x.shape());
    // Layer by layer (the same values as horizontal(x, links(x))), so each link dies young.
    Tensor v = x, h = x;
    for (auto& layer : layers) std::tie(v, h) = layer->forward(v, h, labels);
    return head(h);
}

}  // namespace mg::models
