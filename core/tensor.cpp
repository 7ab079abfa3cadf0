#include "core/tensor.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "core/allocator.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "kernels/device.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"

namespace mg {

// ---- storage ---------------------------------------------------------------------
Storage::Storage(size_t bytes_, Device device_) : bytes(bytes_), device(device_) {
    if (device == Device::CUDA)
        MG_CHECK(kernels::cuda::available(), "cuda: no GPU available ({})", kernels::cuda::unavailable_reason());
    data = allocator_for(device).allocate(bytes);
}
Storage::~Storage() { allocator_for(device).deallocate(data, bytes); }

// ---- metadata --------------------------------------------------------------------
static const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
    MG_CHECK(impl != nullptr, "tensor: use of an undefined tensor");
    return *impl;
}
const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
int64_t Tensor::numel() const { return shape().numel(); }
int64_t Tensor::offset() const { return checked(impl_).offset; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device; }

bool Tensor::is_contiguous() const {
    const TensorImpl& t = checked(impl_);
    if (t.shape.numel() == 0) return true;  // no element to misplace (as PyTorch)
    int64_t expected = 1;
    for (int i = t.shape.size() - 1; i >= 0; --i) {
        if (t.shape[i] == 1) continue;
        if (t.strides[i] != expected) return false;
        expected *= t.shape[i];
    }
    return true;
}

void* Tensor::raw_data() const {
    const TensorImpl& t = checked(impl_);
    return static_cast<char*>(t.storage->data) + t.offset * dtype_size(t.dtype);
}

double Tensor::item() const {
    MG_CHECK(numel() == 1, "item: tensor has {} elements {}, expected exactly one", numel(), shape());
    Tensor t = device() == Device::CPU ? *this : to(Device::CPU);
    switch (t.dtype()) {
        case DType::Float32: return *t.data<float>();
        case DType::Float64: return *t.data<double>();
        case DType::Int64: return double(*t.data<int64_t>());
        case DType::UInt8: return *t.data<uint8_t>();
    }
    return 0.0;
}

template <class T> std::vector<T> Tensor::to_vector() const {
    autograd::NoGradGuard no_grad;
    Tensor t = (device() == Device::CPU ? *this : to(Device::CPU));
    if (t.dtype() != dtype_of<T>::value) t = t.to(dtype_of<T>::value);
    t = t.contiguous();
    const T* p = t.data<T>();
    return std::vector<T>(p, p + t.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

// ---- factories -------------------------------------------------------------------
Tensor empty(const Shape& shape, TensorOptions opt) {
    for (int64_t d : shape) MG_CHECK(d >= 0, "empty: negative dimension in shape {}", shape);
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(size_t(shape.numel() * dtype_size(opt.dtype)), opt.device);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = opt.dtype;
    impl->requires_grad = opt.requires_grad;
    if (opt.requires_grad)
        MG_CHECK(is_floating(opt.dtype), "requires_grad: only floating tensors can require gradients, not {}",
                 opt.dtype);
    return Tensor(std::move(impl));
}

Tensor full(const Shape& shape, double value, TensorOptions opt) {
    bool rg = opt.requires_grad;
    opt.requires_grad = false;
    Tensor t = empty(shape, opt);
    t.fill_(value);
    if (rg) t.requires_grad_();
    return t;
}
Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor scalar_tensor(double value, TensorOptions opt) { return full(Shape{}, value, opt); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {t.dtype(), t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {t.dtype(), t.device()}); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), {t.dtype(), t.device()}); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, {t.dtype(), t.device()}); }

Tensor arange(double start, double end, double step, TensorOptions opt) {
    MG_CHECK(step != 0.0, "arange: step must be non-zero");
    int64_t n = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = start + double(i) * step;
    Tensor t = from_vector(v, Shape{n}, {DType::Float64}).to(opt.dtype).to(opt.device);
    if (opt.requires_grad) t.requires_grad_();
    return t;
}

template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opt) {
    MG_CHECK(int64_t(values.size()) == shape.numel(), "from_vector: {} values for shape {} ({} elements)",
             values.size(), shape, shape.numel());
    Tensor t = empty(shape, {dtype_of<T>::value, Device::CPU});
    if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
    if (opt.dtype != dtype_of<T>::value) t = t.to(opt.dtype);
    if (opt.device != Device::CPU) t = t.to(opt.device);
    if (opt.requires_grad) t.requires_grad_();
    return t;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, TensorOptions);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&, TensorOptions);

static Tensor random_tensor(kernels::OpTable<kernels::RandomFn>& table, const Shape& shape, TensorOptions opt,
                            double a, double b) {
    MG_CHECK(is_floating(opt.dtype), "random: dtype must be floating, got {}", opt.dtype);
    bool rg = opt.requires_grad;
    opt.requires_grad = false;
    Tensor t = empty(shape, opt);
    kernels::RandomArgs args;
    args.n = t.numel();
    args.a = a;
    args.b = b;
    std::tie(args.seed, args.offset) = default_generator().reserve(args.n);
    table.get(opt.device, opt.dtype)(args, t.raw_data());
    if (rg) t.requires_grad_();
    return t;
}
Tensor rand(const Shape& shape, TensorOptions opt, double low, double high) {
    MG_CHECK(low < high, "rand: empty range [{}, {})", low, high);
    return random_tensor(kernels::random_uniform_table(), shape, opt, low, high);
}
Tensor randn(const Shape& shape, TensorOptions opt, double mean, double std) {
    MG_CHECK(std >= 0, "randn: negative standard deviation {}", std);
    return random_tensor(kernels::random_normal_table(), shape, opt, mean, std);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt) {
    MG_CHECK(low < high, "randint: empty range [{}, {})", low, high);
    // Uniform doubles in [0, 1) carry 53 random bits: floor(low + u*(high-low)) is exact
    // and unbiased to 2^-53 for any range an index can have.
    Tensor u = random_tensor(kernels::random_uniform_table(), shape, {DType::Float64, Device::CPU}, 0.0, 1.0);
    Tensor out = empty(shape, {DType::Int64, Device::CPU});
    const double* pu = u.data<double>();
    int64_t* po = out.data<int64_t>();
    for (int64_t i = 0; i < out.numel(); ++i)
        po[i] = std::min(high - 1, low + int64_t(std::floor(pu[i] * double(high - low))));
    if (opt.dtype != DType::Int64) out = out.to(opt.dtype);
    return out.to(opt.device);
}

// ---- autograd-facing methods ---------------------------------------------------
bool Tensor::requires_grad() const { return checked(impl_).requires_grad; }

const Tensor& Tensor::requires_grad_(bool on) const {
    TensorImpl& t = const_cast<TensorImpl&>(checked(impl_));
    MG_CHECK(t.grad_fn == nullptr || on,
             "requires_grad_: cannot turn off gradients of a non-leaf tensor (use detach())");
    if (on) MG_CHECK(is_floating(t.dtype), "requires_grad_: only floating tensors can require gradients, not {}",
                     t.dtype);
    t.requires_grad = on;
    return *this;
}
Tensor Tensor::grad() const { return checked(impl_).grad; }
void Tensor::set_grad(const Tensor& g) const {
    if (g.defined())
        MG_CHECK(g.shape() == shape() && g.dtype() == dtype(), "set_grad: gradient {} {} does not match tensor {} {}",
                 g.shape(), g.dtype(), shape(), dtype());
    impl_->grad = g;
}
void Tensor::zero_grad() const {
    checked(impl_);
    impl_->grad = Tensor();
}
std::shared_ptr<autograd::Node> Tensor::grad_fn() const { return checked(impl_).grad_fn; }
bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
void Tensor::retain_grad() const {
    MG_CHECK(requires_grad(), "retain_grad: tensor does not require grad");
    impl_->retains_grad = true;
}
void Tensor::register_hook(GradHook hook) const {
    MG_CHECK(requires_grad(), "register_hook: tensor does not require grad");
    impl_->hooks.push_back(std::move(hook));
    if (is_leaf()) autograd::grad_accumulator(*this);  // make sure the leaf has a node to run hooks from
}
const Tensor& Tensor::set_name(const std::string& n) const {
    const_cast<TensorImpl&>(checked(impl_)).name = n;
    return *this;
}
const std::string& Tensor::name() const { return checked(impl_).name; }

Tensor Tensor::detach() const {
    const TensorImpl& t = checked(impl_);
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = t.storage;
    impl->offset = t.offset;
    impl->shape = t.shape;
    impl->strides = t.strides;
    impl->dtype = t.dtype;
    return Tensor(std::move(impl));
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
    autograd::backward({*this}, grad.defined() ? std::vector<Tensor>{grad} : std::vector<Tensor>{}, retain_graph,
                       create_graph);
}

// ---- in-place ----------------------------------------------------------------------
static void check_inplace(const Tensor& t, const char* op) {
    MG_CHECK(!(autograd::grad_enabled() && t.requires_grad()),
             "{}: in-place operation on a tensor that requires grad {} (wrap it in NoGradGuard, or use the "
             "out-of-place op)",
             op, t.shape());
}

void Tensor::bump_version() const { ++checked(impl_).storage->version; }

Tensor& Tensor::fill_(double value) {
    check_inplace(*this, "fill_");
    kernels::Iter it;
    it.ndim = dim();
    it.numel = numel();
    it.contiguous = is_contiguous();
    for (int i = 0; i < dim(); ++i) {
        it.sizes[i] = shape()[i];
        it.strides[0][i] = strides()[i];
    }
    if (numel() > 0) kernels::fill_table().get(device(), dtype())(it, raw_data(), value);
    bump_version();
    return *this;
}

// ---- printing ------------------------------------------------------------------------
static std::string format_value(double v, DType t) {
    if (t == DType::Int64 || t == DType::UInt8) return fmt::format("{}", int64_t(v));
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return fmt::format("{:.4f}", v);
}

std::string Tensor::str() const {
    if (!defined()) return "tensor(undefined)";
    std::vector<double> v = to_vector<double>();
    const Shape& s = shape();
    std::string body;
    constexpr int64_t kEdge = 3;  // elements shown at each end of a long dimension
    std::function<void(int, int64_t, int)> rec = [&](int d, int64_t base, int indent) {
        if (d == s.size()) {
            body += format_value(v[size_t(base)], dtype());
            return;
        }
        int64_t n = s[d], inner = 1;
        for (int i = d + 1; i < s.size(); ++i) inner *= s[i];
        body += "[";
        for (int64_t i = 0; i < n; ++i) {
            if (n > 2 * kEdge + 1 && i == kEdge) {
                body += d + 1 == s.size() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' ');
                i = n - kEdge - 1;
                continue;
            }
            rec(d + 1, base + i * inner, indent + 1);
            if (i + 1 < n) body += d + 1 == s.size() ? ", " : ",\n" + std::string(size_t(indent + 1), ' ');
        }
        body += "]";
    };
    rec(0, 0, 7);
    std::string extra = fmt::format("shape={}, dtype={}", s, dtype());
    if (device() != Device::CPU) extra += fmt::format(", device={}", device());
    if (impl_->grad_fn) extra += fmt::format(", grad_fn={}", impl_->grad_fn->name);
    else if (requires_grad()) extra += ", requires_grad=true";
    return fmt::format("tensor({}, {})", body, extra);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---- short forms ------------------------------------------------------------------------
Tensor Tensor::sum() const { return mg::sum(*this); }
Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const { return mg::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return mg::mean(*this); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const { return mg::mean(*this, dims, keepdim); }
Tensor Tensor::exp() const { return mg::exp(*this); }
Tensor Tensor::log() const { return mg::log(*this); }
Tensor Tensor::sqrt() const { return mg::sqrt(*this); }
Tensor Tensor::abs() const { return mg::abs(*this); }
Tensor Tensor::pow(double e) const { return mg::pow(*this, e); }
Tensor Tensor::relu() const { return mg::relu(*this); }
Tensor Tensor::tanh() const { return mg::tanh(*this); }
Tensor Tensor::sigmoid() const { return mg::sigmoid(*this); }
Tensor Tensor::matmul(const Tensor& other) const { return mg::matmul(*this, other); }

}  // namespace mg
