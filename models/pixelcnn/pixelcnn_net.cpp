#include "models/pixelcnn/pixelcnn_net.h"

namespace mg::models::pixelcnn {

PixelCnnNet::PixelCnnNet(const NetShape& s) : shape(s) {
    MG_CHECK(s.channels > 0 && s.layers >= 0 && s.levels >= 2,
             "pixelcnn: channels {} must be positive, layers {} non-negative, levels {} at least 2", s.channels,
             s.layers, s.levels);
    for (int64_t i = 0; i <= s.layers; ++i) {
        convs.push_back(push_back(std::make_shared<MaskedConv2d>(i == 0 ? 1 : s.channels, s.channels, s.kernel,
                                                                 i == 0 ? 'A' : 'B', /*bias=*/false)));
        norms.push_back(push_back(std::make_shared<nn::BatchNorm2d>(s.channels)));
        push_back(std::make_shared<nn::ReLU>());
    }
    head = push_back(std::make_shared<nn::Conv2d>(s.channels, s.levels, 1));
}

}  // namespace mg::models::pixelcnn
