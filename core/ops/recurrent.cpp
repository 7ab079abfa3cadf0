// PixelRNN's ops (core/ops/recurrent.h).
//   lstm_cell: one kernel for the forward and one for the backward (kernels/lstm.h), which
//              recomputes the activations from the saved gates and c_prev. A backward that must
//              itself be differentiable (create_graph) is the same formulas in tensor ops.
//   skew / unskew: copies; each is the other's backward, so both are differentiable to any order.
// On a device without these kernels (CUDA, for now) both are composed of ops instead.
#include "core/ops/dispatch.h"
#include "kernels/lstm.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// ---- lstm_cell -------------------------------------------------------------------------------

// The cell's gradients in differentiable ops: the formulas of kernels/lstm.h.
static Grads lstm_cell_backward_composite(const Tensor& grad_out, const Tensor& gates, const Tensor& c_prev) {
    std::vector<Tensor> ch = chunk(gates, 4, 1);
    Tensor i = sigmoid(ch[0]), f = sigmoid(ch[1]), g = tanh(ch[2]), o = sigmoid(ch[3]);
    Tensor tc = tanh(f * c_prev + i * g);
    Tensor grad_h = grad_out.select(0, 0), grad_c = grad_out.select(0, 1);
    Tensor dc = grad_c + grad_h * o * (1.0 - tc * tc);
    Tensor d_gates = cat({dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g),
                          grad_h * tc * o * (1.0 - o)},
                         1);
    return {d_gates, dc * f};
}

// The forward in ops, where no kernel serves the device (CUDA): the same node structure as ops.
static Tensor lstm_cell_composite(const Tensor& gates, const Tensor& c_prev) {
    std::vector<Tensor> ch = chunk(gates, 4, 1);
    Tensor c = sigmoid(ch[1]) * c_prev + sigmoid(ch[0]) * tanh(ch[2]);
    return stack({sigmoid(ch[3]) * tanh(c), c}, 0);
}

Tensor lstm_cell(const Tensor& gates, const Tensor& c_prev) {
    check_floating("lstm_cell", gates);
    check_same_kind("lstm_cell", gates, c_prev);
    MG_CHECK(gates.dim() == 2 && gates.shape()[1] % 4 == 0, "lstm_cell: gates must be [N, 4H], got {}",
             gates.shape());
    K::LstmCellShape s{gates.shape()[0], gates.shape()[1] / 4};
    MG_CHECK(c_prev.shape() == Shape({s.n, s.hidden}),
             "lstm_cell: the state c_prev must be [N, H] = [{}, {}] for gates {}, got {}", s.n, s.hidden,
             gates.shape(), c_prev.shape());
    if (!K::lstm_cell_forward_table().has_kernel(gates.device(), gates.dtype())) return lstm_cell_composite(gates, c_prev);
    Tensor gc = gates.contiguous(), cc = c_prev.contiguous();
    Tensor out = empty(Shape{2, s.n, s.hidden}, {gates.dtype(), gates.device()});
    if (out.numel() > 0)
        K::lstm_cell_forward_table().get(gates.device(), gates.dtype())(s, gc.raw_data(), cc.raw_data(),
                                                                         out.raw_data());
    autograd::check_forward_anomaly("lstm_cell", out);
    return autograd::record("lstm_cell", out, {gates, c_prev}, [s](const Tensor& g, const Saved& saved) -> Grads {
        Tensor gates_ = saved.input(0), c_prev_ = saved.input(1);
        if (autograd::grad_enabled()) return lstm_cell_backward_composite(g, gates_, c_prev_);
        Tensor gc_ = gates_.contiguous(), cc_ = c_prev_.contiguous(), goc = g.contiguous();
        TensorOptions o{gates_.dtype(), gates_.device()};
        Tensor d_gates = empty(gates_.shape(), o), d_c_prev = empty(c_prev_.shape(), o);
        if (d_gates.numel() > 0)
            K::lstm_cell_backward_table().get(gates_.device(), gates_.dtype())(
                s, gc_.raw_data(), cc_.raw_data(), goc.raw_data(), d_gates.raw_data(), d_c_prev.raw_data());
        return {d_gates, d_c_prev};
    });
}

// ---- skew / unskew ---------------------------------------------------------------------------

static Tensor unskew_impl(const Tensor& x, const K::SkewShape& s);

// Where no kernel serves the device (CUDA), in differentiable views and copies. Rows of width
// P laid end to end put row i's start i columns further right in rows of width P - 1:
//   skew:   pad x's rows with H zeros (width W + H), flatten, keep H (W + H - 1) elements.
//   unskew: flatten, add H zeros, view as rows of width W' + 1, keep the first W columns.
static Tensor skew_composite(const Tensor& x, const K::SkewShape& s) {
    const Shape& xs = x.shape();
    Tensor padded = cat({x, zeros(Shape{xs[0], xs[1], s.h, s.h}, {x.dtype(), x.device()})}, 3);
    Tensor flat = padded.reshape(Shape{xs[0], xs[1], s.h * (s.w + s.h)});
    return flat.slice(2, 0, s.h * s.skewed_w()).reshape(Shape{xs[0], xs[1], s.h, s.skewed_w()});
}
static Tensor unskew_composite(const Tensor& x, const K::SkewShape& s) {
    const Shape& xs = x.shape();
    Tensor flat = x.reshape(Shape{xs[0], xs[1], s.h * s.skewed_w()});
    flat = cat({flat, zeros(Shape{xs[0], xs[1], s.h}, {x.dtype(), x.device()})}, 2);
    return flat.reshape(Shape{xs[0], xs[1], s.h, s.skewed_w() + 1}).slice(3, 0, s.w);
}

static Tensor skew_impl(const Tensor& x, const K::SkewShape& s) {
    const Shape& xs = x.shape();
    Tensor xc = x.contiguous();
    Tensor y = empty(Shape{xs[0], xs[1], s.h, s.skewed_w()}, {x.dtype(), x.device()});
    if (y.numel() > 0) K::skew_table().get(x.device(), x.dtype())(s, xc.raw_data(), y.raw_data());
    return autograd::record("skew", y, {x}, [s](const Tensor& g, const Saved&) {
        return Grads{unskew_impl(g, s)};
    }, Keep::Shapes);
}

static Tensor unskew_impl(const Tensor& x, const K::SkewShape& s) {
    const Shape& xs = x.shape();
    Tensor xc = x.contiguous();
    Tensor y = empty(Shape{xs[0], xs[1], s.h, s.w}, {x.dtype(), x.device()});
    if (y.numel() > 0) K::unskew_table().get(x.device(), x.dtype())(s, xc.raw_data(), y.raw_data());
    return autograd::record("unskew", y, {x}, [s](const Tensor& g, const Saved&) {
        return Grads{skew_impl(g, s)};
    }, Keep::Shapes);
}

static void check_image(const char* op, const Tensor& x) {
    check_floating(op, x);
    MG_CHECK(x.dim() == 4, "{}: input must be [N, C, H, W], got {}", op, x.shape());
}

Tensor skew(const Tensor& x) {
    check_image("skew", x);
    const Shape& xs = x.shape();
    MG_CHECK(xs[2] > 0 && xs[3] > 0, "skew: input {} has no rows or no columns", xs);
    const K::SkewShape s{xs[0] * xs[1], xs[2], xs[3]};
    return K::skew_table().has_kernel(x.device(), x.dtype()) ? skew_impl(x, s) : skew_composite(x, s);
}

Tensor unskew(const Tensor& x) {
    check_image("unskew", x);
    const Shape& xs = x.shape();
    MG_CHECK(xs[2] > 0 && xs[3] >= xs[2],
             "unskew: input {} must be skewed [N, C, H, W + H - 1], at least H = {} wide", xs, xs[2]);
    const K::SkewShape s{xs[0] * xs[1], xs[2], xs[3] - xs[2] + 1};
    return K::unskew_table().has_kernel(x.device(), x.dtype()) ? unskew_impl(x, s) : unskew_composite(x, s);
}

}  // namespace mg
