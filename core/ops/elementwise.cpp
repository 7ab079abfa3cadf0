// Elementwise arithmetic: forward through the kernel tables, backward in ops.
//
//   op           d/da                     d/db
//   a + b        g                        g
//   a - b        g                        -g
//   a * b        g*b                      g*a
//   a / b        g/b                      -g*a/b^2
//   a ^ b        g*b*a^(b-1)              g*a^b*ln a
//   max(a, b)    g*[a>=b]                 g*[a<b]
// Gradients of broadcast inputs are summed back to the input's shape (sum_to).
#include <cmath>

#include "core/ops/dispatch.h"
#include "kernels/elementwise.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// ---- binary ---------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::add_table(), "add", a, b, a.dtype());
    if (!autograd::needs_grad({&a, &b})) return y;
    return autograd::record("add", y, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const Tensor&) {
        return Grads{sum_to(g, sa), sum_to(g, sb)};
    });
}

Tensor sub(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::sub_table(), "sub", a, b, a.dtype());
    if (!autograd::needs_grad({&a, &b})) return y;
    return autograd::record("sub", y, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g, const Tensor&) {
        return Grads{sum_to(g, sa), sum_to(neg(g), sb)};
    });
}

Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::mul_table(), "mul", a, b, a.dtype());
    if (!autograd::needs_grad({&a, &b})) return y;
    bool ga = a.requires_grad(), gb = b.requires_grad();
    return autograd::record("mul", y, {a, b}, [sa = SavedTensor(a), sb = SavedTensor(b), ga, gb](const Tensor& g, const Tensor&) {
        Tensor a_ = sa.get(), b_ = sb.get();
        return Grads{ga ? sum_to(mul(g, b_), a_.shape()) : Tensor(), gb ? sum_to(mul(g, a_), b_.shape()) : Tensor()};
    });
}

Tensor div(const Tensor& a, const Tensor& b) {
    Tensor y = binary_kernel(K::div_table(), "div", a, b, a.dtype());
    if (!autograd::needs_grad({&a, &b})) return y;
    bool ga = a.requires_grad(), gb = b.requires_grad();
    return autograd::record("div", y, {a, b}, [sa = SavedTensor(a), sb = SavedTensor(b), ga, gb](const Tensor& g, const Tensor&) {
        Tensor a_ = sa.get(), b_ = sb.get();
        Tensor gb_out;
        if (gb) gb_out = sum_to(neg(div(mul(g, a_), mul(b_, b_))), b_.shape());
        return Grads{ga ? sum_to(div(g, b_), a_.shape()) : Tensor(), gb_out};
    });
}

Tensor pow(const Tensor& a, const Tensor& b) {
    check_floating("pow", a);
    Tensor y = binary_kernel(K::pow_table(), "pow", a, b, a.dtype());
    if (!autograd::needs_grad({&a, &b})) return y;
    bool ga = a.requires_grad(), gb = b.requires_grad();
    return autograd::record("pow", y, {a, b},
        [sa = SavedTensor(a), sb = SavedTensor(b), ga, gb](const Tensor& g, const Tensor& y_) {
            Tensor a_ = sa.get(), b_ = sb.get();
            Tensor da, db;
            if (ga) da = sum_to(mul(g, mul(b_, pow(a_, sub(b_, ones_like(b_))))), a_.shape());
            if (gb) db = sum_to(mul(g, mul(y_, log(a_))), b_.shape());
            return Grads{da, db};
        },
        /*save_output=*/true);
}

static Tensor select_max_min(K::OpTable<K::BinaryFn>& table, const char* name, const Tensor& a, const Tensor& b,
                             bool is_max) {
    Tensor y = binary_kernel(table, name, a, b, a.dtype());
    if (!autograd::needs_grad({&a, &b})) return y;
    return autograd::record(name, y, {a, b}, [sa = SavedTensor(a), sb = SavedTensor(b), is_max](const Tensor& g, const Tensor&) {
        Tensor a_ = sa.get(), b_ = sb.get();
        // Ties send the gradient to a, as the forward picks a.
        Tensor a_wins = is_max ? ge(a_, b_) : le(a_, b_);
        Tensor zero = zeros_like(g);
        return Grads{sum_to(where(a_wins, g, zero), a_.shape()), sum_to(where(a_wins, zero, g), b_.shape())};
    });
}
Tensor maximum(const Tensor& a, const Tensor& b) { return select_max_min(K::maximum_table(), "maximum", a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return select_max_min(K::minimum_table(), "minimum", a, b, false); }

// ---- scalar forms -----------------------------------------------------------------
Tensor affine(const Tensor& x, double scale, double shift) {
    Tensor y = unary_kernel(K::affine_table(), "affine", x, {scale, shift});
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("affine", y, {x}, [scale](const Tensor& g, const Tensor&) {
        return Grads{scale == 1.0 ? g : affine(g, scale, 0.0)};
    });
}
Tensor add(const Tensor& a, double b) { return affine(a, 1.0, b); }
Tensor sub(const Tensor& a, double b) { return affine(a, 1.0, -b); }
Tensor mul(const Tensor& a, double b) { return affine(a, b, 0.0); }
Tensor div(const Tensor& a, double b) { return affine(a, 1.0 / b, 0.0); }

Tensor neg(const Tensor& x) {
    Tensor y = unary_kernel(K::neg_table(), "neg", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("neg", y, {x}, [](const Tensor& g, const Tensor&) { return Grads{neg(g)}; });
}

Tensor pow(const Tensor& x, double p) {
    check_floating("pow", x);
    Tensor y = unary_kernel(K::pow_scalar_table(), "pow", x, {p, 0.0});
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("pow", y, {x}, [sx = SavedTensor(x), p](const Tensor& g, const Tensor&) {
        if (p == 0.0) return Grads{zeros_like(g)};
        Tensor x_ = sx.get();
        Tensor d = p == 1.0 ? ones_like(x_) : (p == 2.0 ? mul(x_, 2.0) : mul(pow(x_, p - 1.0), p));
        return Grads{mul(g, d)};
    });
}
Tensor square(const Tensor& x) { return pow(x, 2.0); }
Tensor reciprocal(const Tensor& x) { return pow(x, -1.0); }

Tensor exp(const Tensor& x) {
    check_floating("exp", x);
    Tensor y = unary_kernel(K::exp_table(), "exp", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("exp", y, {x}, [](const Tensor& g, const Tensor& y_) { return Grads{mul(g, y_)}; }, true);
}

Tensor log(const Tensor& x) {
    check_floating("log", x);
    Tensor y = unary_kernel(K::log_table(), "log", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("log", y, {x}, [sx = SavedTensor(x)](const Tensor& g, const Tensor&) {
        return Grads{div(g, sx.get())};
    });
}

Tensor sin(const Tensor& x) {
    check_floating("sin", x);
    Tensor y = unary_kernel(K::sin_table(), "sin", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("sin", y, {x}, [sx = SavedTensor(x)](const Tensor& g, const Tensor&) {
        return Grads{mul(g, cos(sx.get()))};  // d sin = cos
    });
}

Tensor cos(const Tensor& x) {
    check_floating("cos", x);
    Tensor y = unary_kernel(K::cos_table(), "cos", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("cos", y, {x}, [sx = SavedTensor(x)](const Tensor& g, const Tensor&) {
        return Grads{mul(g, neg(sin(sx.get())))};  // d cos = -sin
    });
}

Tensor sqrt(const Tensor& x) {
    check_floating("sqrt", x);
    Tensor y = unary_kernel(K::sqrt_table(), "sqrt", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("sqrt", y, {x}, [](const Tensor& g, const Tensor& y_) {
        return Grads{div(g, mul(y_, 2.0))};  // d sqrt(x) = 1 / (2 sqrt(x))
    }, true);
}

Tensor abs(const Tensor& x) {
    Tensor y = unary_kernel(K::abs_table(), "abs", x);
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("abs", y, {x}, [sx = SavedTensor(x)](const Tensor& g, const Tensor&) {
        return Grads{mul(g, sign(sx.get()))};  // sign(0) = 0, as PyTorch
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
    if (!autograd::needs_grad({&x})) return y;
    return autograd::record("clamp", y, {x}, [sx = SavedTensor(x), low, high](const Tensor& g, const Tensor&) {
        Tensor x_ = sx.get();
        Tensor inside = mul(mask_as(ge(x_, low), g.dtype()), mask_as(le(x_, high), g.dtype()));
        return Grads{mul(g, inside)};
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
    if (!autograd::needs_grad({&a, &b})) return y;
    return autograd::record("where", y, {a, b}, [cond, sa = a.shape(), sb = b.shape()](const Tensor& g, const Tensor&) {
        Tensor zero = zeros_like(g);
        return Grads{sum_to(where(cond, g, zero), sa), sum_to(where(cond, zero, g), sb)};
    });
}
Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, scalar_like(a, b)); }

}  // namespace mg
