// Joining and splitting. cat's backward slices the gradient; split is slices.
#include "core/ops/dispatch.h"

namespace mg {

using namespace ops_detail;

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim_) {
    MG_CHECK(!tensors.empty(), "cat: no tensors given");
    const Tensor& first = tensors[0];
    check_defined("cat", first);
    int d = wrap_dim(dim_, first.dim(), "cat");
    Shape out = first.shape();
    int64_t total = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        check_same_kind("cat", first, t);
        MG_CHECK(t.dim() == first.dim(), "cat: tensor {} has shape {}, tensor 0 has {}", i, t.shape(), first.shape());
        for (int k = 0; k < t.dim(); ++k)
            MG_CHECK(k == d || t.shape()[k] == first.shape()[k],
                     "cat: tensor {} has shape {}, tensor 0 has {} (only dimension {} may differ)", i, t.shape(),
                     first.shape(), d);
        total += t.shape()[d];
    }
    out[d] = total;
    Tensor y = empty(out, {first.dtype(), first.device()});
    {
        autograd::NoGradGuard no_grad;
        int64_t at = 0;
        for (const Tensor& t : tensors) {
            y.slice(d, at, at + t.shape()[d]).copy_(t);
            at += t.shape()[d];
        }
    }
    return autograd::record("cat", y, tensors, [d, count = tensors.size()](const Tensor& g, const Saved& s) {
        Grads grads;
        int64_t at = 0;
        for (size_t i = 0; i < count; ++i) {
            grads.push_back(g.slice(d, at, at + s.shape(i)[d]));
            at += s.shape(i)[d];
        }
        return grads;
    }, Keep::Shapes);
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
    MG_CHECK(!tensors.empty(), "stack: no tensors given");
    int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> expanded;
    for (size_t i = 0; i < tensors.size(); ++i) {
        MG_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor {} has shape {}, tensor 0 has {}", i,
                 tensors[i].shape(), tensors[0].shape());
        expanded.push_back(tensors[i].unsqueeze(d));
    }
    return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
    check_defined("split", x);
    MG_CHECK(split_size > 0, "split: split_size must be positive, got {}", split_size);
    int d = wrap_dim(dim, x.dim(), "split");
    std::vector<Tensor> parts;
    for (int64_t at = 0; at < x.shape()[d]; at += split_size)
        parts.push_back(x.slice(d, at, std::min(at + split_size, x.shape()[d])));
    return parts;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    check_defined("chunk", x);
    MG_CHECK(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
    int d = wrap_dim(dim, x.dim(), "chunk");
    int64_t size = (x.shape()[d] + chunks - 1) / chunks;
    return split(x, std::max<int64_t>(size, 1), d);
}

}  // namespace mg
