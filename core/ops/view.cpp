// Views (share storage), copies and conversions, and the in-place methods.
//
//   view op        backward
//   view/reshape   reshape back
//   transpose      the same transpose
//   permute        the inverse permutation
//   slice          scatter into zeros (slice_backward), whose own backward is the slice
//   expand         sum_to the original shape
//   to(dtype)      to the original dtype;  to(device): back to the original device
#include <cstring>
#include <numeric>

#include "core/ops/dispatch.h"
#include "kernels/device.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

static Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.impl()->storage;
    impl->offset = offset;
    impl->shape = shape;
    impl->strides = strides;
    impl->dtype = base.dtype();
    return Tensor(std::move(impl));
}

// Replaces one -1 by the size that makes numel match; checks the total.
static Shape infer_shape(const char* op, const Shape& in, Shape shape) {
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            MG_CHECK(infer < 0, "{}: only one dimension can be -1 in {}", op, shape);
            infer = i;
        } else {
            MG_CHECK(shape[i] >= 0, "{}: invalid size {} in {}", op, shape[i], shape);
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        MG_CHECK(known > 0 && in.numel() % known == 0, "{}: cannot reshape {} ({} elements) into {}", op, in,
                 in.numel(), shape);
        shape[infer] = in.numel() / known;
    }
    MG_CHECK(shape.numel() == in.numel(), "{}: cannot reshape {} ({} elements) into {} ({} elements)", op, in,
             in.numel(), shape, shape.numel());
    return shape;
}

// Strides for viewing (shape, strides) as new_shape without a copy, if possible
// (the algorithm of NumPy/PyTorch: group dims that are contiguous among themselves).
static bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, Shape& out) {
    out = Shape::filled(new_shape.size(), 1);
    if (shape.numel() <= 1) {  // empty or one element: any strides will do
        out = contiguous_strides(new_shape);
        return true;
    }
    int view_d = new_shape.size() - 1;
    int64_t chunk_base_stride = strides.size() ? strides.back() : 1;
    int64_t tensor_numel = 1, view_numel = 1;
    for (int d = shape.size() - 1; d >= 0; --d) {
        tensor_numel *= shape[d];
        if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
                out[view_d] = view_numel * chunk_base_stride;
                view_numel *= new_shape[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

Tensor Tensor::view(const Shape& new_shape_in) const {
    Shape new_shape = infer_shape("view", shape(), new_shape_in);
    Shape st;
    MG_CHECK(view_strides(shape(), strides(), new_shape, st),
             "view: a tensor of shape {} and strides {} cannot be viewed as {}; use reshape() (which copies)", shape(),
             strides(), new_shape);
    Tensor y = make_view(*this, new_shape, st, offset());
    return autograd::record("view", y, {*this}, [](const Tensor& g, const Saved& s) {
        return Grads{g.reshape(s.shape(0))};
    }, Keep::Shapes);
}

Tensor Tensor::reshape(const Shape& new_shape_in) const {
    Shape new_shape = infer_shape("reshape", shape(), new_shape_in);
    Shape st;
    if (view_strides(shape(), strides(), new_shape, st)) return view(new_shape);
    return contiguous().view(new_shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
    if (dim() == 0) return reshape(Shape{1});
    int s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
    MG_CHECK(s <= e, "flatten: start_dim {} is after end_dim {}", start_dim, end_dim);
    Shape out;
    for (int d = 0; d < s; ++d) out.push_back(shape()[d]);
    int64_t prod = 1;
    for (int d = s; d <= e; ++d) prod *= shape()[d];
    out.push_back(prod);
    for (int d = e + 1; d < dim(); ++d) out.push_back(shape()[d]);
    return reshape(out);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
    MG_CHECK(int(dims.size()) == dim(), "permute: {} dims given for a tensor of shape {}", dims.size(), shape());
    Shape sh, st;
    std::vector<int64_t> inverse(dims.size(), -1);
    for (size_t i = 0; i < dims.size(); ++i) {
        int d = wrap_dim(dims[i], dim(), "permute");
        MG_CHECK(inverse[size_t(d)] < 0, "permute: dimension {} repeated", d);
        inverse[size_t(d)] = int64_t(i);
        sh.push_back(shape()[d]);
        st.push_back(strides()[d]);
    }
    Tensor y = make_view(*this, sh, st, offset());
    return autograd::record("permute", y, {*this}, [inverse](const Tensor& g, const Saved&) {
        return Grads{g.permute(inverse)};
    }, Keep::Shapes);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
    MG_CHECK(dim() >= 2 || (dim() <= 1), "transpose: tensor {}", shape());
    if (dim() < 2) return *this;
    int a = wrap_dim(d0, dim(), "transpose"), b = wrap_dim(d1, dim(), "transpose");
    std::vector<int64_t> order(static_cast<size_t>(dim()));
    std::iota(order.begin(), order.end(), 0);
    std::swap(order[size_t(a)], order[size_t(b)]);
    return permute(order);
}

// The gradient of a slice: zeros of the input's shape with g written into the slice.
static Tensor slice_backward(const Tensor& g, const Shape& in_shape, int dim, int64_t start, int64_t end,
                             int64_t step) {
    Tensor out = zeros(in_shape, {g.dtype(), g.device()});
    {
        autograd::NoGradGuard no_grad;
        out.slice(dim, start, end, step).copy_(g);
    }
    return autograd::record("slice_backward", out, {g}, [dim, start, end, step](const Tensor& gg, const Saved&) {
        return Grads{gg.slice(dim, start, end, step)};
    }, Keep::Shapes);
}

Tensor Tensor::slice(int64_t dim_, int64_t start, int64_t end, int64_t step) const {
    int d = wrap_dim(dim_, dim(), "slice");
    MG_CHECK(step > 0, "slice: step must be positive, got {}", step);
    int64_t n = shape()[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape sh = shape(), st = strides();
    sh[d] = (end - start + step - 1) / step;
    st[d] = strides()[d] * step;
    Tensor y = make_view(*this, sh, st, offset() + start * strides()[d]);
    return autograd::record("slice", y, {*this}, [d, start, end, step](const Tensor& g, const Saved& s) {
        return Grads{slice_backward(g, s.shape(0), d, start, end, step)};
    }, Keep::Shapes);
}

Tensor Tensor::select(int64_t dim_, int64_t index) const {
    int d = wrap_dim(dim_, dim(), "select");
    int64_t n = shape()[d];
    MG_CHECK(index >= -n && index < n, "select: index {} out of range for dimension {} of size {}", index, d, n);
    if (index < 0) index += n;
    return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& target) const {
    MG_CHECK(target.size() >= dim(), "expand: cannot expand {} to fewer dimensions {}", shape(), target);
    int lead = target.size() - dim();
    Shape sh = target, st = Shape::filled(target.size(), 0);
    for (int d = 0; d < target.size(); ++d) {
        int sd = d - lead;
        if (sd < 0) {
            MG_CHECK(target[d] >= 0, "expand: size -1 not allowed for a new leading dimension in {}", target);
            continue;
        }
        int64_t have = shape()[sd];
        if (target[d] == -1 || target[d] == have) {
            sh[d] = have;
            st[d] = strides()[sd];
        } else {
            MG_CHECK(have == 1, "expand: dimension {} has size {}, cannot expand it to {} (shape {} -> {})", sd, have,
                     target[d], shape(), target);
        }
    }
    Tensor y = make_view(*this, sh, st, offset());
    return autograd::record("expand", y, {*this}, [](const Tensor& g, const Saved& s) {
        return Grads{sum_to(g, s.shape(0))};
    }, Keep::Shapes);
}

Tensor Tensor::squeeze(int64_t dim_) const {
    if (dim() == 0) return *this;
    int d = wrap_dim(dim_, dim(), "squeeze");
    if (shape()[d] != 1) return *this;
    Shape sh = shape();
    sh.erase(d);
    return view(sh);
}

Tensor Tensor::unsqueeze(int64_t dim_) const {
    int d = wrap_dim(dim_, dim() + 1, "unsqueeze");
    Shape sh = shape();
    sh.insert(d, 1);
    return view(sh);
}

// ---- copies and conversions --------------------------------------------------------
Tensor Tensor::contiguous() const {
    if (is_contiguous()) return *this;
    return clone();
}

Tensor Tensor::clone() const {
    Tensor y = empty(shape(), {dtype(), device()});
    {
        autograd::NoGradGuard no_grad;
        y.copy_(*this);
    }
    return autograd::record("clone", y, {*this}, [](const Tensor& g, const Saved&) { return Grads{g}; }, Keep::Shapes);
}

Tensor Tensor::to(DType target) const {
    if (target == dtype()) return *this;
    Tensor y = empty(shape(), {target, device()});
    {
        autograd::NoGradGuard no_grad;
        y.copy_(*this);
    }
    if (!is_floating(target)) return y;
    return autograd::record("to_dtype", y, {*this}, [from = dtype()](const Tensor& g, const Saved&) {
        return Grads{g.to(from)};
    }, Keep::Shapes);
}

Tensor Tensor::to(Device target) const {
    if (target == device()) return *this;
    Tensor src = contiguous();
    Tensor y = empty(shape(), {dtype(), target});
    size_t bytes = size_t(numel() * element_size());
    if (bytes > 0) {
        if (target == Device::CUDA) K::cuda::copy_host_to_device(y.raw_data(), src.raw_data(), bytes, "to(cuda)");
        else K::cuda::copy_device_to_host(y.raw_data(), src.raw_data(), bytes, "to(cpu)");
    }
    return autograd::record("to_device", y, {*this}, [from = device()](const Tensor& g, const Saved&) {
        return Grads{g.to(from)};
    }, Keep::Shapes);
}

static void check_inplace_target(const Tensor& t, const char* op) {
    MG_CHECK(!(autograd::grad_enabled() && t.requires_grad()),
             "{}: in-place operation on a tensor {} that requires grad (do it under NoGradGuard, or use the "
             "out-of-place op)",
             op, t.shape());
}

Tensor& Tensor::copy_(const Tensor& src) {
    check_inplace_target(*this, "copy_");
    check_defined("copy_", src, "source");
    Shape b = broadcast_shapes(shape(), src.shape(), "copy_");
    MG_CHECK(b == shape(), "copy_: source {} does not broadcast to destination {}", src.shape(), shape());
    if (numel() == 0) return *this;
    if (src.device() != device()) {
        Tensor moved = src.detach().to(device());
        return copy_(moved);
    }
    K::copy_table().get(device(), dtype())(make_iter(*this, {&src}), raw_data(), src.raw_data(), src.dtype());
    bump_version();
    return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
    check_inplace_target(*this, "add_");
    check_same_kind("add_", *this, other);
    Shape b = broadcast_shapes(shape(), other.shape(), "add_");
    MG_CHECK(b == shape(), "add_: {} does not broadcast to {}", other.shape(), shape());
    autograd::NoGradGuard no_grad;
    Tensor o = alpha == 1.0 ? other : mul(other, alpha);
    K::add_table().get(device(), dtype())(make_iter(*this, {this, &o}), raw_data(), raw_data(), o.raw_data());
    bump_version();
    return *this;
}

Tensor& Tensor::mul_(double value) {
    check_inplace_target(*this, "mul_");
    K::affine_table().get(device(), dtype())(make_iter(*this, {this}), raw_data(), raw_data(), {value, 0.0});
    bump_version();
    return *this;
}

}  // namespace mg
