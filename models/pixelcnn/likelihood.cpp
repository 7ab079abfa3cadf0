#include "models/pixelcnn/likelihood.h"

#include <algorithm>
#include <numbers>

namespace mg::models::pixelcnn {

Metrics chunked_likelihood(const Tensor& images, int64_t eval_batch, const Likelihood::Options& options,
                           const std::function<double(const Tensor& x)>& nats_of) {
    const int64_t n = images.size(0);
    double total = 0.0;  // nats, summed over every value of every image
    for (int64_t start = 0; start < n; start += eval_batch) {
        const int64_t end = std::min(n, start + eval_batch);
        total += nats_of(images.slice(0, start, end));
        if (options.progress) options.progress(end, n);
    }
    const double per_image = total / double(n), dims = double(images.size(1) * images.size(2) * images.size(3));
    return {{"nll_nats", per_image},
            {"nll_bits_per_dim", per_image / (dims * std::numbers::ln2)},
            {"nll_nats_per_dim", per_image / dims}};
}

}  // namespace mg::models::pixelcnn
