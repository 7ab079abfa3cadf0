#include "models/pixelrnn/pixel_canvas.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "models/pixelcnn/pixelcnn_sampler.h"
#include "models/progress.h"

namespace mg::models::pixelrnn {

PixelCanvas::PixelCanvas(const std::string& what, const Tensor& images, int64_t first_pixel, const Tensor& u) {
    MG_CHECK(images.dim() == 4 && images.size(1) == 1, "{}: expected images [N, 1, H, W], got {}", what,
             images.shape());
    n = images.size(0), h = images.size(2), w = images.size(3);
    MG_CHECK(u.dim() == 2 && u.size(0) == n && u.size(1) == h * w, "{}: uniforms {} do not match images {}", what,
             u.shape(), images.shape());
    MG_CHECK(first_pixel >= 0 && first_pixel <= h * w, "{}: first_pixel {} not in [0, {}]", what, first_pixel,
             h * w);
    values = images.to(Device::CPU).to(DType::Float32).contiguous().to_vector<float>();
    uniforms = u.to(Device::CPU).to(DType::Float64).contiguous().to_vector<double>();
}

Tensor PixelCanvas::rows(int64_t r0, int64_t r1, Device device) const {
    std::vector<float> out;
    out.reserve(size_t(n * (r1 - r0) * w));
    for (int64_t i = 0; i < n; ++i)
        out.insert(out.end(), values.begin() + (i * h + r0) * w, values.begin() + (i * h + r1) * w);
    return from_vector(out, {n, 1, r1 - r0, w}).to(device);
}

void PixelCanvas::draw(const Tensor& logits, int64_t row, int64_t r, int64_t c) {
    const int64_t levels = logits.size(1);
    const std::vector<float> l = logits.select(2, row).select(2, c).contiguous().to(Device::CPU).to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t at = (i * h + r) * w + c;
        const int64_t level = pixelcnn::draw_level(l.data() + i * levels, levels, uniforms[size_t(at)]);
        values[size_t(at)] = float(level) / float(levels - 1);
    }
}

Tensor PixelCanvas::images() const { return from_vector(values, {n, 1, h, w}); }

Tensor sample_naive(nn::Module& net, const std::string& what, const Tensor& images, int64_t first_pixel,
                    const Tensor& uniforms) {
    PixelCanvas canvas(what, images, first_pixel, uniforms);
    autograd::NoGradGuard no_grad;
    const Device device = net.parameters().front().device();
    const int64_t pixels = canvas.h * canvas.w;
    for (int64_t p = first_pixel; p < pixels; ++p) {
        canvas.draw(net(canvas.rows(0, canvas.h, device)), p / canvas.w, p / canvas.w, p % canvas.w);
        report_work(p - first_pixel + 1, pixels - first_pixel);
    }
    return canvas.images();
}

}  // namespace mg::models::pixelrnn
