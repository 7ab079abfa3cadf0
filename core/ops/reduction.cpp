// Reductions. mean, var and logsumexp are built from sum, so their gradients follow:
//   sum        g broadcast back to x's shape (reshape + expand)
//   amax/amin  g broadcast back * hit / count(hit), hit = [x == y]: shared evenly among the
//              tied extremes (as PyTorch)
#include "core/ops/dispatch.h"
#include "kernels/reduce.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// Runs a reduce kernel; the result keeps reduced dims as size 1.
static Tensor reduce_keepdim(K::OpTable<K::ReduceFn>& table, const char* op, const Tensor& x,
                             const std::vector<int>& axes) {
    Shape keep = reduced_shape(x.shape(), axes, true);
    Tensor y = empty(keep, {x.dtype(), x.device()});
    K::ReduceArgs r;
    for (int d = 0; d < x.dim(); ++d) {
        bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
        if (reduced) {
            r.red_sizes[r.red_ndim] = x.shape()[d];
            r.red_strides[r.red_ndim] = x.strides()[d];
            r.red_numel *= x.shape()[d];
            ++r.red_ndim;
        } else {
            r.out_sizes[r.out_ndim] = x.shape()[d];
            r.out_strides[r.out_ndim] = y.strides()[d];
            r.in_strides[r.out_ndim] = x.strides()[d];
            r.out_numel *= x.shape()[d];
            ++r.out_ndim;
        }
    }
    if (r.red_ndim == 0) {  // nothing to reduce (a 0-d tensor): a copy
        r.red_ndim = 1;
        r.red_sizes[0] = 1;
        r.red_strides[0] = 0;
    }
    if (y.numel() > 0) {
        MG_CHECK(r.red_numel > 0 || &table == &K::sum_table(), "{}: cannot reduce over an empty dimension of {}", op,
                 x.shape());
        table.get(x.device(), x.dtype())(r, y.raw_data(), x.raw_data());
    }
    autograd::check_forward_anomaly(op, y);
    return y;
}

static Tensor drop_dims(const Tensor& y_keep, const Shape& x_shape, const std::vector<int>& axes, bool keepdim) {
    if (keepdim) return y_keep;
    return y_keep.view(reduced_shape(x_shape, axes, false));
}

// The gradient of a reduction, broadcast back to the input's shape.
static Tensor expand_back(const Tensor& g, const Shape& in, const std::vector<int>& axes) {
    return g.reshape(reduced_shape(in, axes, true)).expand(in);
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    check_defined("sum", x);
    std::vector<int> axes = reduce_axes("sum", x, dims);
    Tensor y = drop_dims(reduce_keepdim(K::sum_table(), "sum", x.detach(), axes), x.shape(), axes, keepdim);
    return autograd::record("sum", y.detach(), {x}, [axes](const Tensor& g, const Saved& s) {
        return Grads{expand_back(g, s.shape(0), axes)};
    }, Keep::Shapes);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    check_floating("mean", x);
    std::vector<int> axes = reduce_axes("mean", x, dims);
    int64_t n = 1;
    for (int a : axes) n *= x.shape()[a];
    MG_CHECK(n > 0, "mean: reducing over an empty dimension of {}", x.shape());
    return sum(x, dims, keepdim) / double(n);
}

static Tensor extreme(K::OpTable<K::ReduceFn>& table, const char* op, const Tensor& x,
                      const std::vector<int64_t>& dims, bool keepdim) {
    check_defined(op, x);
    std::vector<int> axes = reduce_axes(op, x, dims);
    Tensor y_keep = reduce_keepdim(table, op, x.detach(), axes);
    Tensor y = drop_dims(y_keep, x.shape(), axes, keepdim);
    return autograd::record(op, y.detach(), {x}, [y_keep, axes](const Tensor& g, const Saved& s) {
        Tensor x = s.input(0);
        Tensor hit = mask_as(eq(x, y_keep.expand(x.shape())), g.dtype());
        Tensor count = sum(hit, std::vector<int64_t>(axes.begin(), axes.end()), true);
        return Grads{expand_back(g, x.shape(), axes) * (hit / count)};
    });
}
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return extreme(K::max_table(), "amax", x, dims, keepdim);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return extreme(K::min_table(), "amin", x, dims, keepdim);
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
    check_floating("var", x);
    std::vector<int> axes = reduce_axes("var", x, dims);
    int64_t n = 1;
    for (int a : axes) n *= x.shape()[a];
    MG_CHECK(n - correction > 0, "var: {} elements with correction {} (shape {})", n, correction, x.shape());
    return sum(square(x - mean(x, dims, true)), dims, keepdim) / double(n - correction);
}

Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim) {
    check_floating("logsumexp", x);
    // Shifting by the (constant) max keeps exp() in range; the shift cancels in the gradient.
    Tensor m = amax(x.detach(), {dim}, true);
    Tensor y = log(sum(exp(x - m), {dim}, true)) + m;
    return keepdim ? y : y.squeeze(dim);
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
    check_defined("argmax", x);
    autograd::NoGradGuard no_grad;
    int d = wrap_dim(dim, x.dim(), "argmax");
    MG_CHECK(x.dim() > 0 && x.shape()[d] > 0, "argmax: empty dimension {} of {}", dim, x.shape());
    Tensor xf = x.to(DType::Float64);
    Tensor m = amax(xf, {d}, true);
    // The first index that attains the max: min over (index where hit, else n).
    Shape idx_shape = Shape::filled(x.dim(), 1);
    idx_shape[d] = x.shape()[d];
    Tensor idx = arange(0, double(x.shape()[d]), 1, {DType::Float64, x.device()}).reshape(idx_shape);
    Tensor candidates = where(eq(xf, m), idx.expand(x.shape()), full(Shape{}, double(x.shape()[d]), {DType::Float64, x.device()}));
    return amin(candidates, {d}, keepdim).to(DType::Int64);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    int lead = x.dim() - shape.size();
    MG_CHECK(lead >= 0, "sum_to: cannot sum {} down to the larger rank {}", x.shape(), shape);
    std::vector<int64_t> dims;
    for (int d = 0; d < x.dim(); ++d) {
        if (d < lead) dims.push_back(d);
        else if (shape[d - lead] == 1 && x.shape()[d] != 1) dims.push_back(d);
        else MG_CHECK(shape[d - lead] == x.shape()[d], "sum_to: {} is not a broadcast of {}", x.shape(), shape);
    }
    Tensor s = dims.empty() ? x : sum(x, dims, true);
    return s.reshape(shape);
}

Tensor norm(const Tensor& x) { return sqrt(sum(square(x))); }

}  // namespace mg
