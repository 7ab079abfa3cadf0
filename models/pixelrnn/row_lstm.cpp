#include "models/pixelrnn/row_lstm.h"

#include "models/options.h"

namespace mg::models::pixelrnn {

template <class Self, class F>
void RowLstmOptions::fields(Self& o, F&& f) {
    net_fields(o, f);
    f("sampler", o.sampler, Names<RowSampler>{parse_row_sampler, row_sampler_name});
    training_fields(o, f);
}

nlohmann::json RowLstmOptions::to_json() const { return options_to_json(*this); }

void RowLstmOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("row-lstm options", j, to_json()));
    check_training("row-lstm options");
}

Tensor RowLstmModel::draw(const Tensor& images, int64_t first_pixel, const Tensor& uniforms) {
    return sample_row_lstm(*net_, images, first_pixel, uniforms, options_.sampler);
}

}  // namespace mg::models::pixelrnn
