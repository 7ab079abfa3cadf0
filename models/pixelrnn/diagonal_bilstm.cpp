#include "models/pixelrnn/diagonal_bilstm.h"

#include "models/options.h"
#include "models/pixelrnn/pixel_canvas.h"

namespace mg::models::pixelrnn {

DiagonalBiLstmOptions::DiagonalBiLstmOptions() {
    net.hidden = 16;  // per direction: two LSTMs per layer
    net.layers = 1;   // one layer already sees every earlier pixel
}

template <class Self, class F>
void DiagonalBiLstmOptions::fields(Self& o, F&& f) {
    net_fields(o, f);
    training_fields(o, f);
}

nlohmann::json DiagonalBiLstmOptions::to_json() const { return options_to_json(*this); }

void DiagonalBiLstmOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("diagonal-bilstm options", j, to_json()));
    check_training("diagonal-bilstm options");
}

Tensor DiagonalBiLstmModel::draw(const Tensor& images, int64_t first_pixel, const Tensor& uniforms) {
    return sample_naive(*net_, "diagonal-bilstm sampler", images, first_pixel, uniforms);
}

}  // namespace mg::models::pixelrnn
