#include "models/pixelcnn/pixelcnn_net.h"

namespace mg::models::pixelcnn {

PixelCnnNet::PixelCnnNet(const NetShape& s) : shape(s) {
    MG_CHECK(s.channels > 0 && s.layers >= 0 && s.levels >= 2,
             "pixelcnn: channels {} must be positive, layers {} non-negative, levels {} at least 2", s.channels,
             s.layers, s.levels);
    MG_CHECK(s.colours == 1 || s.colours == 3, "pixelcnn: images must have 1 or 3 channels, got {}", s.colours);
    MG_CHECK(s.channels % s.colours == 0, "pixelcnn: channels {} must be a multiple of 3 for colour images",
             s.channels);
    for (int64_t i = 0; i <= s.layers; ++i) {
        convs.push_back(push_back(std::make_shared<MaskedConv2d>(i == 0 ? s.colours : s.channels, s.channels, s.kernel,
                                                                 i == 0 ? s.first_mask : 'B', /*bias=*/false, s.colours)));
        norms.push_back(push_back(std::make_shared<nn::BatchNorm2d>(s.channels)));
        push_back(std::make_shared<nn::ReLU>());
    }
    if (s.colours == 1)
        head = push_back(std::make_shared<nn::Conv2d>(s.channels, s.levels, 1));
    else
        head = push_back(std::make_shared<MaskedConv2d>(s.channels, s.colours * s.levels, 1, 'B', /*bias=*/true,
                                                        s.colours));
}

Tensor PixelCnnNet::head_matrix() const {
    auto* masked = dynamic_cast<const MaskedConv2d*>(head.get());
    const Tensor w = masked ? masked->masked_weight() : head->weight;
    return w.reshape({shape.colours * shape.levels, shape.channels});
}

}  // namespace mg::models::pixelcnn
