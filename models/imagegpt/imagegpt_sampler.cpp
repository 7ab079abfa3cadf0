#include "models/imagegpt/imagegpt_sampler.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "models/progress.h"

namespace mg::models::imagegpt {

namespace {

// Draws token p of every sequence from logits [N, vocab].
void draw(std::vector<int64_t>& tokens, int64_t t, int64_t p, const Tensor& logits, const std::vector<double>& u) {
    const int64_t n = logits.size(0), vocab = logits.size(1);
    const std::vector<float> l = logits.contiguous().to(Device::CPU).to_vector<float>();
    for (int64_t i = 0; i < n; ++i)
        tokens[size_t(i * t + p)] = pixelcnn::draw_level(l.data() + i * vocab, vocab, u[size_t(i * t + p)]);
}

}  // namespace

Tensor sample_tokens(ImageGptNet& net, const Tensor& tokens, int64_t first, const Tensor& uniforms,
                     TokenSampler kind) {
    MG_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == DType::Int64,
             "imagegpt sampler: expected int64 tokens [N, T], got {}", tokens.defined() ? tokens.shape() : Shape{});
    const int64_t n = tokens.size(0), t = tokens.size(1);
    MG_CHECK(uniforms.shape() == tokens.shape(), "imagegpt sampler: uniforms {} do not match tokens {}",
             uniforms.shape(), tokens.shape());
    MG_CHECK(first >= 0 && first <= t, "imagegpt sampler: first {} not in [0, {}]", first, t);
    MG_CHECK(t <= net.shape.max_len,
             "imagegpt position embedding: a sequence of {} tokens (tokens {}) is longer than the position table {}",
             t, tokens.shape(), net.position_embedding.shape());
    autograd::NoGradGuard no_grad;
    const Device device = net.position_embedding.device();
    std::vector<int64_t> out = tokens.to(Device::CPU).contiguous().to_vector<int64_t>();
    const std::vector<double> u = uniforms.to(Device::CPU).to(DType::Float64).contiguous().to_vector<double>();
    const int64_t total = t - first;
    if (kind == TokenSampler::Naive) {
        for (int64_t p = first; p < t; ++p) {
            Tensor input = net.shift_right(from_vector(out, {n, t})).slice(1, 0, p + 1).to(device);  // [N, p + 1]
            draw(out, t, p, net(input).select(1, p), u);
            report_work(p - first + 1, total);
        }
    } else {
        std::vector<KvCache> caches = net.empty_caches(n);
        Tensor input = full({n}, double(net.shape.vocab), {DType::Int64, device});  // the start token
        for (int64_t p = 0; p < t; ++p) {
            Tensor logits = net.step(input, p, caches);
            if (p >= first) {
                draw(out, t, p, logits, u);
                report_work(p - first + 1, total);
            }
            std::vector<int64_t> column(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) column[size_t(i)] = out[size_t(i * t + p)];
            input = from_vector(column, {n}).to(device);
        }
    }
    return from_vector(out, {n, t});
}

}  // namespace mg::models::imagegpt
