// Activations. Each gradient is written with differentiable ops, so second
// derivatives exist (piecewise-linear ones have a zero second derivative):
//   relu             g * [y > 0]                        (y > 0 exactly where x > 0)
//   leaky_relu       where(x > 0, g, g * slope)
//   bias_leaky_relu  where(y > 0, g, g * slope), and its sum over all dims but 1 for the bias
//   elu              where(x > 0, g, g * (y + alpha))   (y + alpha = alpha e^x there)
//   tanh             g * (1 - y^2)
//   sigmoid          g * (y * (1 - y))
//   softplus         g * sigmoid(x)
//   erf              g * (2/sqrt(pi) e^(-x^2))
//   gelu             g * (Phi(x) + x phi(x))
//   silu             g * (s * (1 + x * (1 - s))),       s = sigmoid(x)
//   mish             g * (t + x * sigmoid(x) * (1 - t^2)), t = tanh(softplus(x))
// relu, leaky_relu, tanh and sigmoid compute their gradient with one fused kernel pass
// (kernels/elementwise.h's backward helpers) when it need not be differentiable, i.e. when
// grad mode is off inside the backward (no create_graph); the formulas above otherwise.
#include <cmath>

#include "core/ops/activation.h"
#include "core/ops/dispatch.h"
#include "kernels/bias_act.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// The fused backward kernels serve a gradient that records no graph (create_graph composes
// differentiable ops instead), on a device that has them.
static bool fused_backward(const K::OpTableBase& table, const Tensor& g) {
    return !autograd::grad_enabled() && table.has_kernel(g.device(), g.dtype());
}

// out = f(a, b; s) for a and b of one shape (a: the forward's input or output, b: the gradient).
static Tensor backward_kernel(K::OpTable<K::BinaryScalarFn>& table, const Tensor& a, const Tensor& b, K::Scalars s) {
    Tensor out = empty(b.shape(), {b.dtype(), b.device()});
    if (out.numel() > 0)
        table.get(b.device(), b.dtype())(make_iter(out, {&a, &b}), out.raw_data(), a.raw_data(), b.raw_data(), s);
    return out;
}

Tensor relu(const Tensor& x) {
    check_floating("relu", x);
    Tensor y = unary_kernel(K::relu_table(), "relu", x);
    return autograd::record("relu", y, {x}, [](const Tensor& g, const Saved& s) {
        Tensor y = s.output();
        if (fused_backward(K::leaky_relu_backward_table(), g))
            return Grads{backward_kernel(K::leaky_relu_backward_table(), y, g, {0.0, 0.0})};
        return Grads{g * mask_as(y > 0.0, g.dtype())};
    }, Keep::Output);
}

Tensor leaky_relu(const Tensor& x, double slope) {
    check_floating("leaky_relu", x);
    Tensor y = unary_kernel(K::leaky_relu_table(), "leaky_relu", x, {slope, 0.0});
    return autograd::record("leaky_relu", y, {x}, [slope](const Tensor& g, const Saved& s) {
        Tensor x = s.input(0);
        if (fused_backward(K::leaky_relu_backward_table(), g))
            return Grads{backward_kernel(K::leaky_relu_backward_table(), x, g, {slope, 0.0})};
        return Grads{where(x > 0.0, g, g * slope)};
    });
}

// A layer's bias and the leaky_relu after it as one node (nn::Sequential fuses Linear or Conv2d
// followed by ReLU or LeakyReLU into it): the kernels of kernels/bias_act.h on the CPU, one pass
// each way; the composition add + leaky_relu elsewhere. The backward reads only out (slope >= 0:
// out > 0 exactly where y + bias > 0); with create_graph it is the composition's formula.
Tensor bias_leaky_relu(const Tensor& y, const Tensor& bias, double slope) {
    check_floating("bias_leaky_relu", y);
    check_defined("bias_leaky_relu", bias, "bias");
    check_same_kind("bias_leaky_relu", y, bias);
    MG_CHECK(y.dim() >= 2 && bias.dim() == 1 && bias.shape()[0] == y.shape()[1],
             "bias_leaky_relu: bias {} must be [C] for input {} with C channels in dim 1", bias.shape(), y.shape());
    MG_CHECK(slope >= 0.0, "bias_leaky_relu: slope {} must be >= 0", slope);
    const int64_t channels = y.shape()[1];
    if (!K::bias_act_forward_table().has_kernel(y.device(), y.dtype())) {
        std::vector<int64_t> per_channel(size_t(y.dim()), 1);
        per_channel[1] = channels;
        Tensor v = add(y, bias.view(Shape(per_channel)));
        return slope == 0.0 ? relu(v) : leaky_relu(v, slope);
    }
    K::BiasActShape s;
    s.outer = y.shape()[0];
    s.channels = channels;
    s.inner = s.outer * channels == 0 ? 1 : y.numel() / (s.outer * channels);
    s.slope = slope;
    Tensor yc = y.contiguous(), bc = bias.contiguous();
    Tensor out = empty(y.shape(), {y.dtype(), y.device()});
    if (out.numel() > 0)
        K::bias_act_forward_table().get(y.device(), y.dtype())(s, yc.raw_data(), bc.raw_data(), out.raw_data());
    autograd::check_forward_anomaly("bias_leaky_relu", out);
    return autograd::record("bias_leaky_relu", out, {y, bias}, [s](const Tensor& g, const Saved& saved) {
        Tensor out_ = saved.output();
        if (fused_backward(K::bias_act_backward_table(), g)) {
            Tensor gc = g.contiguous();
            Tensor gy = empty(gc.shape(), {gc.dtype(), gc.device()});
            Tensor gb = empty(Shape{s.channels}, {gc.dtype(), gc.device()});
            // With no rows the kernel reads nothing and writes gb = 0.
            K::bias_act_backward_table().get(gc.device(), gc.dtype())(s, out_.raw_data(), gc.raw_data(),
                                                                      gy.raw_data(), gb.raw_data());
            return Grads{gy, gb};
        }
        Tensor gy = where(out_ > 0.0, g, g * s.slope);
        std::vector<int64_t> others;
        for (int64_t d = 0; d < gy.dim(); ++d)
            if (d != 1) others.push_back(d);
        return Grads{gy, sum(gy, others)};
    }, Keep::Output);
}

Tensor elu(const Tensor& x, double alpha) {
    check_floating("elu", x);
    Tensor y = unary_kernel(K::elu_table(), "elu", x, {alpha, 0.0});
    return autograd::record("elu", y, {x}, [alpha](const Tensor& g, const Saved& s) {
        return Grads{where(s.input(0) > 0.0, g, g * (s.output() + alpha))};
    }, Keep::InputsAndOutput);
}

// An activation whose derivative is a function of its output y (tanh, sigmoid): the gradient is
// g * derivative(y), or the fused kernel `backward` of (y, g) when it need not be differentiable.
template <class Derivative>
static Tensor activation_of_output(const char* name, K::OpTable<K::UnaryFn>& forward,
                                   K::OpTable<K::BinaryFn>& backward, const Tensor& x, Derivative derivative) {
    check_floating(name, x);
    Tensor y = unary_kernel(forward, name, x);
    return autograd::record(name, y, {x}, [name, &backward, derivative](const Tensor& g, const Saved& s) {
        Tensor y = s.output();
        if (fused_backward(backward, g)) return Grads{binary_kernel(backward, name, y, g, g.dtype())};
        return Grads{g * derivative(y)};
    }, Keep::Output);
}

Tensor tanh(const Tensor& x) {
    return activation_of_output("tanh", K::tanh_table(), K::tanh_backward_table(), x,
                                [](const Tensor& y) { return 1 - square(y); });
}

Tensor sigmoid(const Tensor& x) {
    return activation_of_output("sigmoid", K::sigmoid_table(), K::sigmoid_backward_table(), x,
                                [](const Tensor& y) { return y * (1 - y); });
}

Tensor softplus(const Tensor& x) {
    check_floating("softplus", x);
    Tensor y = unary_kernel(K::softplus_table(), "softplus", x);
    return autograd::record("softplus", y, {x}, [](const Tensor& g, const Saved& s) {
        return Grads{g * sigmoid(s.input(0))};
    });
}

Tensor erf(const Tensor& x) {
    check_floating("erf", x);
    Tensor y = unary_kernel(K::erf_table(), "erf", x);
    return autograd::record("erf", y, {x}, [](const Tensor& g, const Saved& s) {
        constexpr double k2OverSqrtPi = 1.12837916709551257390;
        return Grads{g * (k2OverSqrtPi * exp(-square(s.input(0))))};
    });
}

Tensor gelu(const Tensor& x) {
    check_floating("gelu", x);
    Tensor y = unary_kernel(K::gelu_table(), "gelu", x);
    return autograd::record("gelu", y, {x}, [](const Tensor& g, const Saved& s) {
        constexpr double kInvSqrt2 = 0.70710678118654752440, kInvSqrt2Pi = 0.39894228040143267794;
        Tensor x = s.input(0);
        Tensor cdf = affine(erf(x * kInvSqrt2), 0.5, 0.5);  // Phi(x) = (1 + erf(x / sqrt 2)) / 2, one pass
        Tensor pdf = kInvSqrt2Pi * exp(-0.5 * square(x));   // phi(x)
        return Grads{g * (cdf + x * pdf)};
    });
}

Tensor silu(const Tensor& x) {
    check_floating("silu", x);
    Tensor y = unary_kernel(K::silu_table(), "silu", x);
    return autograd::record("silu", y, {x}, [](const Tensor& g, const Saved& saved) {
        Tensor x = saved.input(0), s = sigmoid(x);
        return Grads{g * (s * (1 + x * (1 - s)))};
    });
}

Tensor mish(const Tensor& x) {
    check_floating("mish", x);
    Tensor y = unary_kernel(K::mish_table(), "mish", x);
    return autograd::record("mish", y, {x}, [](const Tensor& g, const Saved& s) {
        Tensor x = s.input(0), t = tanh(softplus(x));
        return Grads{g * (t + x * sigmoid(x) * (1 - square(t)))};
    });
}

// Every activation above that maps a tensor to one of its shape (core/ops/activation.h).
static constexpr UnaryActivation kUnaryActivations[] = {
    {"relu", [](const Tensor& x) { return relu(x); }, -1, 1, true},
    {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, -1, 1, true},
    {"elu", [](const Tensor& x) { return elu(x, 1.3); }, -1, 1, true},
    {"tanh", [](const Tensor& x) { return tanh(x); }, -1, 1, false},
    {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -1, 1, false},
    {"softplus", [](const Tensor& x) { return softplus(x); }, -3, 3, false},
    {"gelu", [](const Tensor& x) { return gelu(x); }, -3, 3, false},
    {"erf", [](const Tensor& x) { return erf(x); }, -1, 1, false},
    {"silu", [](const Tensor& x) { return silu(x); }, -4, 4, false},
    {"mish", [](const Tensor& x) { return mish(x); }, -4, 4, false},
};

std::span<const UnaryActivation> unary_activations() { return kUnaryActivations; }

}  // namespace mg
