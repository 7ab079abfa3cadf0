#include "core/dist/grad_sync.h"

#include <cstring>

namespace mg::dist {
Tensor pack_gradients(const std::vector<Tensor>& grads) {
    int64_t elements = 0;
    for (const Tensor& g : grads) elements += g.numel();
    const DType dtype = grads.front().dtype();
    const int64_t width = dtype_size(dtype);
    Tensor flat = empty(Shape{elements}, {dtype});
    auto* p = static_cast<char*>(flat.raw_data());
    int64_t at = 0;
    for (const Tensor& grad : grads) {
        Tensor g = grad.contiguous();
        std::memcpy(p + at * width, g.raw_data(), size_t(g.numel() * width));
        at += g.numel();
    }
    return flat;
}

void unpack_gradients(const Tensor& flat, const std::vector<Tensor>& grads) {
    const int64_t width = flat.element_size();
    int64_t at = 0;
    for (const Tensor& grad : grads) {
        Tensor g = grad;
        Tensor part = flat.slice(0, at, at + g.numel()).view(g.shape());
        if (g.is_contiguous()) std::memcpy(g.raw_data(), part.raw_data(), size_t(g.numel() * width));
        else g.copy_(part);
        g.bump_version();
        at += g.numel();
    }
}

namespace {

// Reduces one bucket: grads[first, last) of one dtype.
void reduce_bucket(Collective& world, const std::vector<Tensor>& grads, size_t first, size_t last) {
    const std::vector<Tensor> mine(grads.begin() + std::ptrdiff_t(first), grads.begin() + std::ptrdiff_t(last));
    Tensor flat = pack_gradients(mine);
    world.all_reduce(flat, ReduceOp::Avg);
    unpack_gradients(flat, mine);
}

}  // namespace

void average_gradients(Collective& world, const std::vector<Tensor>& grads, int64_t bucket_bytes) {
    if (world.size() == 1) return;
    // The defined gradients, grouped by dtype in order (a bucket holds one dtype).
    for (DType dtype : {DType::Float32, DType::Float64}) {
        std::vector<Tensor> mine;
        for (const Tensor& g : grads)
            if (g.defined() && g.dtype() == dtype) mine.push_back(g);
        size_t first = 0;
        int64_t elements = 0;
        for (size_t i = 0; i < mine.size(); ++i) {
            MG_CHECK(mine[i].device() == Device::CPU, "average_gradients: backend '{}' takes CPU gradients, got {}",
                     world.backend(), mine[i].device());
            const int64_t n = mine[i].numel();
            if (elements > 0 && (elements + n) * dtype_size(dtype) > bucket_bytes) {
                reduce_bucket(world, mine, first, i);
                first = i;
                elements = 0;
            }
            elements += n;
        }
        if (elements > 0) reduce_bucket(world, mine, first, mine.size());
    }
}

}  // namespace mg::dist
