// Elementwise arithmetic: forward through the kernel tables, backward in ops.
// Gradients of broadcast inputs are summed back to the input's shape (sum_to).
//
//   op             d/da                   d/db
//   a + b          g                      g
//   a - b          g                      -g
//   a * b          g * b                  g * a
//   a / b          g / b                  -g * a / (b * b)
//   a ^ b          g * (b * a^(b - 1))    g * (y * ln a)
//   max(a, b)      g * [a >= b]           g * [a < b]       (min: [a <= b], [a > b])
//   scale*x+shift  g * scale
//   -x             -g
//   x ^ p          g * (p * x^(p - 1))    (p = 0: 0;  p = 1: g * 1;  p = 2: g * (2 * x))
//   e^x            g * y
//   ln x           g / x
//   sin x          g * cos x
//   cos x          g * -sin x
//   sqrt x         g / (2 * y)
//   |x|            g * sign(x)
//   clamp(x)       g * ([x >= low] * [x <= high])
//   where(c, a, b) g * [c]                g * [!c]
#include <cmath>

#include "core/ops/dispatch.h"
#include "kernels/elementwise.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// ---- binary ---------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::add_table(), "add", a, b, a.dtype());
    return autograd::record("add", y, {a, b}, [](const Tensor& g, const Saved& s) {
        return Grads{sum_to(g, s.shape(0)), sum_to(g, s.shape(1))};
    }, Keep::Shapes);
}

Tensor sub(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::sub_table(), "sub", a, b, a.dtype());
    return autograd::record("sub", y, {a, b}, [](const Tensor& g, const Saved& s) {
        return Grads{sum_to(g, s.shape(0)), sum_to(-g, s.shape(1))};
    }, Keep::Shapes);
}

Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::mul_table(), "mul", a, b, a.dtype());
    return autograd::record("mul", y, {a, b}, [](const Tensor& g, const Saved& s) {
        Tensor a = s.input(0), b = s.input(1);
        return Grads{s.needs_grad(0) ? sum_to(g * b, a.shape()) : Tensor(),
                     s.needs_grad(1) ? sum_to(g * a, b.shape()) : Tensor()};
    });
}

Tensor div(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::div_table(), "div", a, b, a.dtype());
    return autograd::record("div", y, {a, b}, [](const Tensor& g, const Saved& s) {
        Tensor a = s.input(0), b = s.input(1);
        return Grads{s.needs_grad(0) ? sum_to(g / b, a.shape()) : Tensor(),
                     s.needs_grad(1) ? sum_to(-g * a / (b * b), b.shape()) : Tensor()};
    });
}

Tensor pow(const Tensor& a, const Tensor& b) {
    check_floating("pow", a);
    Tensor y = binary_kernel(K::pow_table(), "pow", a, b, a.dtype());
    return autograd::record("pow", y, {a, b}, [](const Tensor& g, const Saved& s) {
        Tensor a = s.input(0), b = s.input(1);
        return Grads{s.needs_grad(0) ? sum_to(g * (b * pow(a, b - 1.0)), a.shape()) : Tensor(),
                     s.needs_grad(1) ? sum_to(g * (s.output() * log(a)), b.shape()) : Tensor()};
    }, Keep::InputsAndOutput);
}

static Tensor select_max_min(K::OpTable<K::BinaryFn>& table, const char* name, const Tensor& a, const Tensor& b,
                             bool is_max) {
    Tensor y = binary_kernel(table, name, a, b, a.dtype());
    return autograd::record(name, y, {a, b}, [is_max](const Tensor& g, const Saved& s) {
        Tensor a = s.input(0), b = s.input(1);
        Tensor a_wins = is_max ? a >= b : a <= b;  // ties go to a, as the forward picks a
        Tensor zero = zeros_like(g);
        return Grads{sum_to(where(a_wins, g, zero), a.shape()), sum_to(where(a_wins, zero, g), b.shape())};
    });
}
Tensor maximum(const Tensor& a, const Tensor& b) { return select_max_min(K::maximum_table(), "maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return select_max_min(K::minimum_table(), "minimum", a, b, false); }

// ---- scalar forms -----------------------------------------------------------------
Tensor affine(const Tensor& x, double scale, double shift) {
    Tensor y = unary_kernel(K::affine_table(), "affine", x, {scale, shift});
    return autograd::record("affine", y, {x}, [scale](const Tensor& g, const Saved&) {
        return Grads{scale == 1.0 ? g : g * scale};
    }, Keep::Shapes);
}
Tensor add(const Tensor& a, double b) { return a + b; }
Tensor sub(const Tensor& a, double b) { return a - b; }
Tensor mul(const Tensor& a, double b) { return a * b; }
Tensor div(const Tensor& a, double b) { return a / b; }

Tensor neg(const Tensor& x) {
    Tensor y = unary_kernel(K::neg_table(), "neg", x);
    return autograd::record("neg", y, {x}, [](const Tensor& g, const Saved&) { return Grads{-g}; }, Keep::Shapes);
}

Tensor pow(const Tensor& x, double p) {
    check_floating("pow", x);
    Tensor y = unary_kernel(K::pow_scalar_table(), "pow", x, {p, 0.0});
    return autograd::record("pow", y, {x}, [p](const Tensor& g, const Saved& s) {
        if (p == 0.0) return Grads{zeros_like(g)};
        if (p == 1.0) return Grads{g * ones_like(g)};
        Tensor x = s.input(0);
        return Grads{g * (p == 2.0 ? 2.0 * x : p * pow(x, p - 1.0))};
    });
}
Tensor square(const Tensor& x) { return pow(x, 2.0); }
Tensor reciprocal(const Tensor& x) { return pow(x, -1.0); }

Tensor exp(const Tensor& x) {
    check_floating("exp", x);
    Tensor y = unary_kernel(K::exp_table(), "exp", x);
    return autograd::record("exp", y, {x}, [](const Tensor& g, const Saved& s) {
        return Grads{g * s.output()};
    }, Keep::Output);
}

Tensor log(const Tensor& x) {
    check_floating("log", x);
    Tensor y = unary_kernel(K::log_table(), "log", x);
    return autograd::record("log", y, {x}, [](const Tensor& g, const Saved& s) { return Grads{g / s.input(0)}; });
}

Tensor sin(const Tensor& x) {
    check_floating("sin", x);
    Tensor y = unary_kernel(K::sin_table(), "sin", x);
    return autograd::record("sin", y, {x}, [](const Tensor& g, const Saved& s) { return Grads{g * cos(s.input(0))}; });
}

Tensor cos(const Tensor& x) {
    check_floating("cos", x);
    Tensor y = unary_kernel(K::cos_table(), "cos", x);
    return autograd::record("cos", y, {x}, [](const Tensor& g, const Saved& s) { return Grads{g * -sin(s.input(0))}; });
}

Tensor sqrt(const Tensor& x) {
    check_floating("sqrt", x);
    Tensor y = unary_kernel(K::sqrt_table(), "sqrt", x);
    return autograd::record("sqrt", y, {x}, [](const Tensor& g, const Saved& s) {
        return Grads{g / (2.0 * s.output())};
    }, Keep::Output);
}

Tensor abs(const Tensor& x) {
    Tensor y = unary_kernel(K::abs_table(), "abs", x);
    return autograd::record("abs", y, {x}, [](const Tensor& g, const Saved& s) {
        return Grads{g * sign(s.input(0))};  // sign(0) = 0, as PyTorch
    });
}

Tensor sign(const Tensor& x) {
    check_floating("sign", x);
    return unary_kernel(K::sign_table(), "sign", x);  // piecewise constant: no gradient
}

Tensor clamp(const Tensor& x, double low, double high) {
    check_floating("clamp", x);
    MG_CHECK(low <= high, "clamp: low {} is above high {}", low, high);
    Tensor y = unary_kernel(K::clamp_table(), "clamp", x, {low, high});
    return autograd::record("clamp", y, {x}, [low, high](const Tensor& g, const Saved& s) {
        Tensor x = s.input(0);
        return Grads{g * (mask_as(x >= low, g.dtype()) * mask_as(x <= high, g.dtype()))};
    });
}

// ---- comparisons and where ---------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b) { return binary_kernel(K::eq_table(), "eq", a, b, DType::UInt8); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_kernel(K::ne_table(), "ne", a, b, DType::UInt8); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_kernel(K::gt_table(), "gt", a, b, DType::UInt8); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_kernel(K::ge_table(), "ge", a, b, DType::UInt8); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_kernel(K::lt_table(), "lt", a, b, DType::UInt8); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_kernel(K::le_table(), "le", a, b, DType::UInt8); }
static Tensor scalar_like(const Tensor& a, double v) { return full(Shape{}, v, {a.dtype(), a.device()}); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(a, b)); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    check_defined("where", cond, "condition");
    MG_CHECK(cond.dtype() == DType::UInt8, "where: the condition must be uint8 (a mask), got {} {}", cond.dtype(),
             cond.shape());
    check_same_kind("where", a, b);
    MG_CHECK(cond.device() == a.device(), "where: condition on {}, values on {}", cond.device(), a.device());
    Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
    Tensor y = empty(shape, {a.dtype(), a.device()});
    if (y.numel() > 0)
        K::where_table().get(a.device(), a.dtype())(make_iter(y, {&cond, &a, &b}), y.raw_data(), cond.raw_data(),
                                                     a.raw_data(), b.raw_data());
    return autograd::record("where", y, {a, b}, [cond](const Tensor& g, const Saved& s) {
        Tensor zero = zeros_like(g);
        return Grads{sum_to(where(cond, g, zero), s.shape(0)), sum_to(where(cond, zero, g), s.shape(1))};
    }, Keep::Shapes);
}
Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, scalar_like(a, b)); }

}  // namespace mg
