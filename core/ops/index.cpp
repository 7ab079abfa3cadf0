// Index ops, in adjoint pairs so that each is the other's backward:
//   gather_last  <->  scatter_add_last        embedding  <->  embedding_backward (index_add)
#include "core/ops/dispatch.h"
#include "kernels/index.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// Every index must lie in [0, n): checked before any kernel reads memory with it.
static void check_index_range(const char* op, const Tensor& idx, int64_t n) {
    MG_CHECK(idx.dtype() == DType::Int64, "{}: indices must be int64, got {} {}", op, idx.dtype(), idx.shape());
    if (idx.numel() == 0) return;
    autograd::NoGradGuard no_grad;
    int64_t lo = int64_t(amin(idx).item()), hi = int64_t(amax(idx).item());
    MG_CHECK(lo >= 0 && hi < n, "{}: index out of range: indices span [{}, {}] but the dimension has size {}", op, lo,
             hi, n);
}

static Tensor scatter_add_last_impl(const Tensor& g, const Tensor& index, int64_t size);

Tensor gather_last(const Tensor& x, const Tensor& index) {
    check_floating("gather_last", x);
    check_defined("gather_last", index, "index");
    MG_CHECK(x.dim() >= 1 && index.dim() == x.dim(), "gather_last: index {} must have the rank of input {}",
             index.shape(), x.shape());
    for (int d = 0; d + 1 < x.dim(); ++d)
        MG_CHECK(index.shape()[d] == x.shape()[d], "gather_last: index {} and input {} differ in dimension {}",
                 index.shape(), x.shape(), d);
    int64_t c = x.shape()[x.dim() - 1];
    check_index_range("gather_last", index, c);
    Tensor xc = x.contiguous(), ic = index.contiguous();
    Tensor y = empty(index.shape(), {x.dtype(), x.device()});
    int64_t k = index.dim() ? index.shape()[index.dim() - 1] : 1;
    int64_t rows = k ? index.numel() / k : 0;
    if (y.numel() > 0)
        K::take_along_table().get(x.device(), x.dtype())(rows, c, k, xc.raw_data(), ic.data<int64_t>(), y.raw_data());
    return autograd::record("gather_last", y, {x}, [index, c](const Tensor& g, const Saved&) {
        return Grads{scatter_add_last(g, index, c)};
    }, Keep::Shapes);
}

Tensor scatter_add_last(const Tensor& g, const Tensor& index, int64_t size) {
    check_floating("scatter_add_last", g);
    MG_CHECK(g.shape() == index.shape(), "scatter_add_last: values {} and index {} must have the same shape",
             g.shape(), index.shape());
    check_index_range("scatter_add_last", index, size);
    Tensor y = scatter_add_last_impl(g, index, size);
    return autograd::record("scatter_add_last", y, {g}, [index](const Tensor& gg, const Saved&) {
        return Grads{gather_last(gg, index)};
    }, Keep::Shapes);
}

static Tensor scatter_add_last_impl(const Tensor& g, const Tensor& index, int64_t size) {
    Shape out_shape = g.shape();
    out_shape[out_shape.size() - 1] = size;
    Tensor out = empty(out_shape, {g.dtype(), g.device()});
    Tensor gc = g.contiguous(), ic = index.contiguous();
    int64_t k = g.shape()[g.dim() - 1];
    int64_t rows = k ? g.numel() / k : out.numel() / std::max<int64_t>(size, 1);
    if (out.numel() > 0)
        K::put_along_table().get(g.device(), g.dtype())(rows, size, k, gc.raw_data(), ic.data<int64_t>(), out.raw_data());
    return out;
}

static Tensor embedding_backward(const Tensor& g, const Tensor& flat_idx, int64_t vocab) {
    int64_t d = g.shape()[g.dim() - 1];
    Tensor gc = g.reshape(Shape{-1, d}).contiguous();
    Tensor out = empty(Shape{vocab, d}, {g.dtype(), g.device()});
    K::index_add_table().get(g.device(), g.dtype())(vocab, d, flat_idx.numel(), gc.raw_data(),
                                                     flat_idx.data<int64_t>(), out.raw_data());
    return autograd::record("embedding_backward", out, {g}, [flat_idx](const Tensor& gg, const Saved& s) {
        return Grads{embedding(flat_idx, gg).reshape(s.shape(0))};
    }, Keep::Shapes);
}

Tensor embedding(const Tensor& indices, const Tensor& weight) {
    check_floating("embedding", weight);
    MG_CHECK(weight.dim() == 2, "embedding: weight must be [num_embeddings, dim], got {}", weight.shape());
    check_defined("embedding", indices, "indices");
    int64_t vocab = weight.shape()[0], d = weight.shape()[1];
    check_index_range("embedding", indices, vocab);
    Tensor flat = indices.contiguous().reshape(Shape{-1});
    Tensor wc = weight.contiguous();
    Tensor y = empty(Shape{flat.numel(), d}, {weight.dtype(), weight.device()});
    if (y.numel() > 0)
        K::index_select_table().get(weight.device(), weight.dtype())(vocab, d, flat.numel(), wc.raw_data(),
                                                                      flat.data<int64_t>(), y.raw_data());
    Shape out = indices.shape();
    out.push_back(d);
    y = y.view(out);
    return autograd::record("embedding", y.detach(), {weight}, [flat, vocab](const Tensor& g, const Saved&) {
        return Grads{embedding_backward(g, flat, vocab)};
    }, Keep::Shapes);
}

Tensor one_hot(const Tensor& indices, int64_t num_classes, DType dtype) {
    MG_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got {}", num_classes);
    check_index_range("one_hot", indices, num_classes);
    autograd::NoGradGuard no_grad;
    Tensor idx = indices.unsqueeze(-1);
    Tensor ones_ = ones(idx.shape(), {DType::Float64, indices.device()});
    return scatter_add_last_impl(ones_, idx, num_classes).to(dtype);
}

}  // namespace mg
