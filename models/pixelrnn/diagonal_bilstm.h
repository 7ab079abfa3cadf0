// diagonal-bilstm: PixelRNN's Diagonal BiLSTM (diagonal_bilstm_net.h) on Fashion-MNIST (the
// default) or any grey image data set (--data, --image-size). The loss, likelihood, sampling
// and completion are the PixelRNNs' (pixelrnn_model.h). Adam lr 1e-3, batch 64.
//
// Options (--config JSON):
//   width 32, hidden 16, layers 1, head_channels 32   the network's shape (pixelrnn_net.h;
//                                                     hidden is per direction)
//   batch_size 64, lr 1e-3, eval_batch 128
// Sampling is naive: a forward of the whole image per pixel (pixel_canvas.h).
#pragma once

#include "models/pixelrnn/diagonal_bilstm_net.h"
#include "models/pixelrnn/pixelrnn_model.h"

namespace mg::models::pixelrnn {

struct DiagonalBiLstmOptions : PixelRnnOptions {
    DiagonalBiLstmOptions();  // the small defaults above

    template <class Self, class F>
    static void fields(Self& o, F&& f);
    void update_from(const nlohmann::json& json);  // refuses unknown keys, naming them
    nlohmann::json to_json() const;
};

class DiagonalBiLstmModel : public PixelRnnModel<DiagonalBiLstmNet, DiagonalBiLstmOptions> {
public:
    explicit DiagonalBiLstmModel(const ModelConfig& config) : PixelRnnModel(config, "diagonal-bilstm") {}

    std::string name() const override { return "diagonal-bilstm"; }

protected:
    Tensor draw(const Tensor& images, int64_t first_pixel, const Tensor& uniforms) override;
};

}  // namespace mg::models::pixelrnn
