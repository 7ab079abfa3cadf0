#include "core/ops/dispatch.h"

namespace mg::ops_detail {

kernels::Iter make_iter(const Tensor& out, std::initializer_list<const Tensor*> inputs) {
    const Shape& shape = out.shape();
    const int nd = shape.size();
    const int nops = 1 + int(inputs.size());
    int64_t strides[4][Shape::kMaxDims] = {};
    for (int d = 0; d < nd; ++d) strides[0][d] = out.strides()[d];
    int k = 1;
    for (const Tensor* t : inputs) {
        const int lead = nd - t->dim();
        for (int d = 0; d < nd; ++d) {
            int td = d - lead;
            strides[k][d] = (td < 0 || t->shape()[td] == 1) ? 0 : t->strides()[td];
        }
        ++k;
    }
    kernels::Iter it;
    it.numel = shape.numel();
    // Drop size-1 dims, then merge dim d into d+1 when every operand steps evenly across both.
    int m = 0;
    for (int d = 0; d < nd; ++d) {
        if (shape[d] == 1) continue;
        if (m > 0) {
            bool mergeable = true;
            for (int op = 0; op < nops; ++op)
                if (it.strides[op][m - 1] != strides[op][d] * shape[d]) mergeable = false;
            if (mergeable) {
                it.sizes[m - 1] *= shape[d];
                for (int op = 0; op < nops; ++op) it.strides[op][m - 1] = strides[op][d];
                continue;
            }
        }
        it.sizes[m] = shape[d];
        for (int op = 0; op < nops; ++op) it.strides[op][m] = strides[op][d];
        ++m;
    }
    it.ndim = m;
    it.contiguous = true;
    if (m > 1) it.contiguous = false;
    for (int op = 0; op < nops && m == 1; ++op)
        if (it.strides[op][0] != 1) it.contiguous = false;
    return it;
}

Tensor unary_kernel(kernels::OpTable<kernels::UnaryFn>& table, const char* op, const Tensor& x, kernels::Scalars s) {
    check_defined(op, x);
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    if (y.numel() > 0) table.get(x.device(), x.dtype())(make_iter(y, {&x}), y.raw_data(), x.raw_data(), s);
    autograd::check_forward_anomaly(op, y);
    return y;
}

Tensor binary_kernel(kernels::OpTable<kernels::BinaryFn>& table, const char* op, const Tensor& a, const Tensor& b,
                     DType out_dtype) {
    check_same_kind(op, a, b);
    Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor y = empty(shape, {out_dtype, a.device()});
    if (y.numel() > 0)
        table.get(a.device(), a.dtype())(make_iter(y, {&a, &b}), y.raw_data(), a.raw_data(), b.raw_data());
    autograd::check_forward_anomaly(op, y);
    return y;
}

std::vector<int> reduce_axes(const char* op, const Tensor& x, const std::vector<int64_t>& dims) {
    std::vector<int> axes;
    if (dims.empty()) {
        for (int d = 0; d < x.dim(); ++d) axes.push_back(d);
        return axes;
    }
    for (int64_t d : dims) {
        int w = wrap_dim(d, x.dim(), op);
        if (x.dim() == 0) continue;  // a 0-d tensor reduces to itself
        MG_CHECK(std::find(axes.begin(), axes.end(), w) == axes.end(), "{}: dimension {} repeated", op, d);
        axes.push_back(w);
    }
    std::sort(axes.begin(), axes.end());
    return axes;
}

Shape reduced_shape(const Shape& in, const std::vector<int>& axes, bool keepdim) {
    Shape out;
    for (int d = 0; d < in.size(); ++d) {
        bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
        if (!reduced) out.push_back(in[d]);
        else if (keepdim) out.push_back(1);
    }
    return out;
}

}  // namespace mg::ops_detail
