// Tensor: a cheap handle (one shared_ptr) to shared state.
//
//   storage (bytes + device + allocator, shared by views) · offset · shape · strides
//   · dtype · autograd fields (requires_grad, grad, grad_fn, hooks)
//
// Copying a Tensor copies the handle, not the data (like PyTorch). Views
// (reshape/view, transpose, permute, slice, expand, squeeze, unsqueeze) share
// storage. The differentiable functions live in core/ops.h; the methods here
// are the short forms of the most used ones.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/shape.h"

namespace mg {

namespace autograd {
struct Node;
}

// Bytes on a device, shared by a tensor and its views. `version` counts in-place
// writes so that autograd can refuse to use a saved tensor that changed.
struct Storage {
    Storage(size_t bytes, Device device);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data = nullptr;
    size_t bytes = 0;
    Device device = Device::CPU;
    uint64_t version = 0;
};

struct TensorImpl;
using GradHook = std::function<std::optional<class Tensor>(const class Tensor& grad)>;

class Tensor {
public:
    Tensor() = default;  // undefined: no storage, used for "no gradient"
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // ---- metadata ------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    const Shape& strides() const;
    int64_t size(int64_t dim) const;
    int64_t stride(int64_t dim) const;
    int dim() const { return shape().size(); }
    int64_t numel() const;
    int64_t offset() const;
    DType dtype() const;
    Device device() const;
    bool is_contiguous() const;
    int64_t element_size() const { return dtype_size(dtype()); }
    std::string str() const;  // readable printing, PyTorch-like

    // ---- data access (CPU) ---------------------------------------------
    // Pointer to element 0 of this view (storage + offset). Checks the dtype.
    template <class T> T* data() const;
    void* raw_data() const;  // element 0 of this view, any dtype
    // The single value of a one-element tensor, as double.
    double item() const;
    // Copies to a std::vector in row-major order (any layout, any device).
    template <class T> std::vector<T> to_vector() const;

    // ---- conversions ---------------------------------------------------
    Tensor to(DType dtype) const;    // differentiable between float dtypes
    Tensor to(Device device) const;  // differentiable
    Tensor contiguous() const;       // itself if already contiguous
    Tensor clone() const;            // a dense copy, differentiable

    // ---- views (differentiable, share storage) -------------------------
    Tensor view(const Shape& shape) const;  // requires compatible strides; -1 infers one dim
    Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
    Tensor transpose(int64_t d0, int64_t d1) const;
    Tensor t() const { return transpose(0, 1); }  // 2-D transpose
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
    Tensor expand(const Shape& shape) const;          // -1 keeps a size
    Tensor squeeze(int64_t dim) const;
    Tensor unsqueeze(int64_t dim) const;

    // ---- autograd ------------------------------------------------------
    bool requires_grad() const;
    // Marks a leaf as needing gradients. Returns *this for chaining.
    const Tensor& requires_grad_(bool on = true) const;
    Tensor grad() const;               // accumulated gradient (undefined if none)
    void set_grad(const Tensor& g) const;
    void zero_grad() const;            // drops .grad (PyTorch's set_to_none)
    std::shared_ptr<autograd::Node> grad_fn() const;
    bool is_leaf() const;
    Tensor detach() const;  // same storage, no history
    // backward() of a scalar (or with an explicit gradient of the same shape).
    void backward(const Tensor& grad = {}, bool retain_graph = false, bool create_graph = false) const;
    void retain_grad() const;  // keep .grad on a non-leaf
    // Hook called with this tensor's gradient during backward; may return a replacement.
    void register_hook(GradHook hook) const;
    // A name for graph exports and anomaly messages (parameters get theirs from nn).
    const Tensor& set_name(const std::string& name) const;
    const std::string& name() const;

    // ---- in-place (not recorded by autograd; refused on tensors that need grad) ----
    Tensor& fill_(double value);
    Tensor& zero_() { return fill_(0.0); }
    Tensor& copy_(const Tensor& src);  // broadcasts src into this
    Tensor& add_(const Tensor& other, double alpha = 1.0);
    Tensor& mul_(double value);
    // Bumps the version counter of this tensor's storage (for kernels writing in place).
    void bump_version() const;

    // ---- short forms of ops (see core/ops.h) ---------------------------
    Tensor sum() const;
    Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
    Tensor mean() const;
    Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
    Tensor exp() const;
    Tensor log() const;
    Tensor sqrt() const;
    Tensor abs() const;
    Tensor pow(double exponent) const;
    Tensor relu() const;
    Tensor tanh() const;
    Tensor sigmoid() const;
    Tensor matmul(const Tensor& other) const;

    TensorImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    // True when both handles share one TensorImpl (not a value comparison).
    bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

private:
    std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    int64_t offset = 0;  // in elements
    Shape shape;
    Shape strides;       // in elements
    DType dtype = DType::Float32;

    // autograd
    bool requires_grad = false;
    bool retains_grad = false;
    Tensor grad;
    std::shared_ptr<autograd::Node> grad_fn;            // null for leaves
    std::weak_ptr<autograd::Node> grad_accumulator;     // leaves: where gradients land
    std::vector<GradHook> hooks;
    std::string name;
};

// ---- construction --------------------------------------------------------
struct TensorOptions {
    DType dtype = DType::Float32;
    Device device = Device::CPU;
    bool requires_grad = false;
};

// Uninitialised dense tensor.
Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions opt = {});
Tensor scalar_tensor(double value, TensorOptions opt = {});
// Uniform in [low, high) and normal(mean, std) from the default generator (core/random.h).
Tensor rand(const Shape& shape, TensorOptions opt = {}, double low = 0.0, double high = 1.0);
Tensor randn(const Shape& shape, TensorOptions opt = {}, double mean = 0.0, double std = 1.0);
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt = {DType::Int64});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);  // dense, same shape/dtype/device
Tensor full_like(const Tensor& t, double value);

// From host data; `values.size()` must equal the shape's numel.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opt = {dtype_of<T>::value});
// 1-D convenience: from_vector({1.f, 2.f, 3.f})
template <class T> Tensor from_vector(const std::vector<T>& values) {
    return from_vector(values, Shape{int64_t(values.size())}, TensorOptions{dtype_of<T>::value});
}

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- template definitions ---------------------------------------------------
template <class T> T* Tensor::data() const {
    MG_CHECK(defined(), "data: tensor is undefined");
    MG_CHECK(dtype() == dtype_of<T>::value, "data: tensor has dtype {}, asked for {}", dtype(), dtype_of<T>::value);
    return static_cast<T*>(raw_data());
}

}  // namespace mg
