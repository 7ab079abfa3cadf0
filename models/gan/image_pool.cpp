#include "models/gan/image_pool.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace mg::models {

ImagePool::ImagePool(int64_t capacity, int64_t channels, int64_t size) : capacity_(capacity) {
    MG_CHECK(capacity >= 0 && channels > 0 && size > 0, "image pool: capacity {} must be >= 0, channels {} and size {} "
             "positive", capacity, channels, size);
    images_ = register_buffer("images", zeros({std::max<int64_t>(capacity, 1), channels, size, size}));
    count_ = register_buffer("count", zeros({1}, {DType::Int64}));
}

int64_t ImagePool::stored() const { return static_cast<int64_t>(count_.to(Device::CPU).data<int64_t>()[0]); }

Tensor ImagePool::query(const Tensor& fakes, data::RandomStream& rng) {
    MG_CHECK(fakes.dim() == 4 && fakes.size(1) == images_.size(1) && fakes.size(2) == images_.size(2) &&
                 fakes.size(3) == images_.size(3),
             "image pool: fakes {} do not fit images of [{}, {}, {}]", fakes.shape(), images_.size(1), images_.size(2),
             images_.size(3));
    autograd::NoGradGuard no_grad;
    Tensor out = fakes.detach().clone();
    if (capacity_ == 0) return out;
    int64_t count = stored();
    MG_CHECK(count >= 0 && count <= capacity_, "image pool: its count {} is not in 0..{} (a damaged checkpoint?)",
             count, capacity_);
    for (int64_t i = 0; i < fakes.size(0); ++i) {
        const Tensor fake = fakes.slice(0, i, i + 1);
        if (count < capacity_) {
            images_.slice(0, count, count + 1).copy_(fake);
            ++count;
        } else if (rng.uniform() < 0.5) {
            const int64_t j = static_cast<int64_t>(rng.below(uint64_t(capacity_)));
            Tensor stored_image = images_.slice(0, j, j + 1);
            out.slice(0, i, i + 1).copy_(stored_image);
            stored_image.copy_(fake);
        }
    }
    count_.copy_(full({1}, double(count), {DType::Int64, count_.device()}));
    return out;
}

}  // namespace mg::models
