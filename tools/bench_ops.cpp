// The op-layer group of `minigen bench`: the kernel workloads as a model runs them, through
// core/ops.h with autograd recording, exactly as tools/reference/torch_ref.py times PyTorch
// (same names and shape labels, so the two line up):
//   conv2d / conv_transpose2d / masked_conv7x7   "fwd" and "fwd+bwd" (grads of input,
//       weight and bias; FLOPs: backward = 2 x forward; the masked conv counted dense)
//   softmax_xent   cross_entropy over 64*784 rows x 256 classes, fwd and fwd+bwd, checked
//       against a float64 evaluation of the same formula; also over NCHW logits
//       [64, 256, 28, 28] and over [128, 10] (timing only)
//   batch_norm     training mode at 64x64x28x28, 64x128x7x7, 64x64x14x14, 512x64, fwd and
//       fwd+bwd (grads of input, weight and bias; timing only)
//   batch_norm_act batch norm + relu / leaky_relu at dcgan's shapes, fused and composed (the two
//       ops), fwd and fwd+bwd (timing only)
//   lstm_cell      Row LSTM's step at N = 448, H = 64: the fused cell alone ("pointwise") and with
//       its two matmuls ("cell", as nn.LSTMCell), fwd and fwd+bwd (timing only)
//   overhead       a + b on 16 elements (per-op cost), and a 3-layer 128-wide MLP
//       forward + backward at batch 256
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "tools/bench.h"
#include "tools/bench_kernels.h"

namespace mg::tools::bench {

namespace {

struct OpsEntry {
    std::string name, shape;
    double flop = 0;
    double min_sample_s = 0.002;
    std::function<void()> fn;
    std::function<CheckResult()> check;  // empty: not checked at this level
    std::string check_note;              // why not, when not
};

Tensor param(const Shape& shape, double scale) { return randn(shape, {}, 0.0, scale).requires_grad_(); }

void zero_grads(const std::vector<Tensor>& ts) {
    for (const Tensor& t : ts) t.zero_grad();
}

// fwd and fwd+bwd of y = f(); the grad leaves are reset before each backward.
void add_fwd_bwd(std::vector<OpsEntry>& out, const std::string& name, const std::string& shape, double fwd_flop,
                 std::function<Tensor()> f, std::vector<Tensor> leaves) {
    Tensor grad_out;
    {
        autograd::NoGradGuard no_grad;
        grad_out = randn(f().shape());
    }
    const char* why = "op layer: its kernels are checked in the kernel rows";
    out.push_back({name, shape + " fwd", fwd_flop, 0.002, [f] { f(); }, {}, why});
    out.push_back({name, shape + " fwd+bwd", 3 * fwd_flop, 0.002,
                   [f, leaves, grad_out] {
                       zero_grads(leaves);
                       f().backward(grad_out);
                   },
                   {}, why});
}

// ---- softmax + cross-entropy, checked in float64 -----------------------------------------------
struct XentData {
    Tensor logits, target;  // [R, C] requiring grad, int64 [R]
    int64_t rows = 0, classes = 0;
};

// loss = mean over rows of logsumexp(row) - row[target]; grad = (softmax - onehot) / R.
std::pair<double, std::vector<float>> xent_reference(const XentData& d, bool want_grad) {
    const float* x = d.logits.data<float>();
    const int64_t* t = d.target.data<int64_t>();
    double loss = 0;
    std::vector<float> grad(want_grad ? size_t(d.rows * d.classes) : 0);
    for (int64_t r = 0; r < d.rows; ++r) {
        const float* row = x + r * d.classes;
        double m = row[0];
        for (int64_t c = 1; c < d.classes; ++c) m = std::max(m, double(row[c]));
        double s = 0;
        for (int64_t c = 0; c < d.classes; ++c) s += std::exp(double(row[c]) - m);
        loss += m + std::log(s) - double(row[t[r]]);
        if (want_grad)
            for (int64_t c = 0; c < d.classes; ++c)
                grad[size_t(r * d.classes + c)] =
                    float((std::exp(double(row[c]) - m) / s - (c == t[r] ? 1.0 : 0.0)) / double(d.rows));
    }
    return {loss / double(d.rows), grad};
}

CheckResult xent_check(const XentData& d, bool with_grad) {
    CheckResult c;
    auto [ref_loss, ref_grad] = xent_reference(d, with_grad);
    d.logits.zero_grad();
    Tensor loss = cross_entropy(d.logits, d.target);
    c.max_rel_error = std::abs(loss.item() - ref_loss) / std::abs(ref_loss);
    if (!std::isfinite(loss.item())) c.max_rel_error = INFINITY;
    c.tolerance = 1e-5;
    if (with_grad) {
        loss.backward();
        std::vector<float> g = d.logits.grad().contiguous().to_vector<float>();
        c.max_rel_error = std::max(c.max_rel_error, max_rel_error(g.data(), ref_grad.data(), int64_t(g.size())));
        c.tolerance = 1e-4;
        c.note = "loss and gradient vs float64";
    } else {
        c.note = "loss vs float64";
    }
    c.status = c.max_rel_error <= c.tolerance ? "pass" : "fail";
    return c;
}

// wanted(name, shapes): whether any of the group's rows is selected (built only then: the
// big tensors cost memory and time).
using Wanted = std::function<bool(const std::string&, const std::vector<std::string>&)>;

std::vector<OpsEntry> make_entries(const Wanted& wanted) {
    std::vector<OpsEntry> out;
    manual_seed(0);
    Conv2dOptions s2p1;
    s2p1.stride = 2;
    s2p1.padding = 1;
    // flop of a conv's forward: 2 * N * C_out * OH * OW * C_in * KH * KW
    auto fwd_bwd = [](const std::string& base) { return std::vector<std::string>{base + " fwd", base + " fwd+bwd"}; };
    const std::string xent_shape = fmt::format("{}x{}", 64 * 784, 256);
    if (wanted("conv2d", fwd_bwd("64x64x14x14->128 k4s2p1"))) {
        Tensor x = randn({64, 64, 14, 14}).requires_grad_();
        Tensor w = param({128, 64, 4, 4}, 0.02), b = param({128}, 0.02);
        add_fwd_bwd(out, "conv2d", "64x64x14x14->128 k4s2p1", 2.0 * 64 * 128 * 7 * 7 * 64 * 16,
                    [=] { return conv2d(x, w, b, s2p1); }, {x, w, b});
    }
    if (wanted("conv_transpose2d", fwd_bwd("64x128x7x7->64 k4s2p1"))) {
        Tensor x = randn({64, 128, 7, 7}).requires_grad_();
        Tensor w = param({128, 64, 4, 4}, 0.02), b = param({64}, 0.02);  // [C_in, C_out, KH, KW]
        add_fwd_bwd(out, "conv_transpose2d", "64x128x7x7->64 k4s2p1", 2.0 * 64 * 128 * 7 * 7 * 64 * 16,
                    [=] { return conv_transpose2d(x, w, b, s2p1); }, {x, w, b});
    }
    if (wanted("masked_conv7x7", fwd_bwd("64x64x28x28->64 k7p3"))) {
        // PixelCNN type B: the centre row keeps taps up to the centre, rows below are hidden.
        Tensor x = randn({64, 64, 28, 28}).requires_grad_();
        Tensor w = param({64, 64, 7, 7}, 0.02);
        std::vector<float> m(64 * 64 * 49, 1.0f);
        for (int64_t i = 0; i < 64 * 64; ++i)
            for (int64_t kh = 0; kh < 7; ++kh)
                for (int64_t kw = 0; kw < 7; ++kw)
                    if (kh > 3 || (kh == 3 && kw > 3)) m[size_t(i * 49 + kh * 7 + kw)] = 0.0f;
        Tensor mask = from_vector(m, {64, 64, 7, 7});
        Conv2dOptions p3;
        p3.padding = 3;
        add_fwd_bwd(out, "masked_conv7x7", "64x64x28x28->64 k7p3", 2.0 * 64 * 64 * 28 * 28 * 64 * 49,
                    [=] { return conv2d(x, mul(w, mask), {}, p3); }, {x, w});
    }
    if (wanted("softmax_xent", fwd_bwd(xent_shape))) {
        auto d = std::make_shared<XentData>();
        d->rows = 64 * 784;
        d->classes = 256;
        d->logits = randn({d->rows, d->classes}).requires_grad_();
        d->target = randint(0, d->classes, {d->rows});
        const std::string& shape = xent_shape;
        out.push_back({"softmax_xent", shape + " fwd", 0, 0.002, [d] { cross_entropy(d->logits, d->target); },
                       [d] { return xent_check(*d, false); }, ""});
        out.push_back({"softmax_xent", shape + " fwd+bwd", 0, 0.002,
                       [d] {
                           d->logits.zero_grad();
                           cross_entropy(d->logits, d->target).backward();
                       },
                       [d] { return xent_check(*d, true); }, ""});
    }
    // Other layouts of the loss: the NCHW logits pixelcnn produces, the classifier's 10 classes.
    struct XentLayout {
        std::string label;
        Shape logits, target;
    };
    for (const XentLayout& l : {XentLayout{"64x256x28x28 (NCHW)", {64, 256, 28, 28}, {64, 28, 28}},
                                XentLayout{"128x10", {128, 10}, {128}}}) {
        if (!wanted("softmax_xent", fwd_bwd(l.label))) continue;
        Tensor logits = randn(l.logits).requires_grad_();
        Tensor target = randint(0, l.logits[1], l.target);
        add_fwd_bwd(out, "softmax_xent", l.label, 0, [=] { return cross_entropy(logits, target); }, {logits});
    }
    // batch_norm in training mode (statistics, running update, affine), as BatchNorm2d/1d run it
    const std::pair<std::string, Shape> bn_shapes[] = {{"64x64x28x28", {64, 64, 28, 28}},
                                                       {"64x128x7x7", {64, 128, 7, 7}},
                                                       {"64x64x14x14", {64, 64, 14, 14}},
                                                       {"512x64", {512, 64}}};
    for (const auto& [label, shape] : bn_shapes) {
        if (!wanted("batch_norm", fwd_bwd(label))) continue;
        const int64_t c = shape[1];
        Tensor x = randn(shape).requires_grad_();
        Tensor w = ones({c}).requires_grad_(), b = zeros({c}).requires_grad_();
        Tensor rm = zeros({c}), rv = ones({c});
        add_fwd_bwd(out, "batch_norm", label, 0, [=] { return batch_norm(x, rm, rv, w, b, true); }, {x, w, b});
    }
    // batch_norm + activation as dcgan's D (leaky 0.2) and G (relu) run it: one fused node, and
    // the two ops it replaces
    using Act = BatchNormActivation;
    const std::tuple<std::string, Shape, Act> bn_act_shapes[] = {
        {"64x128x7x7 leaky 0.2", {64, 128, 7, 7}, {Act::LeakyRelu, 0.2}},
        {"64x128x7x7 relu", {64, 128, 7, 7}, {Act::Relu, 0.0}},
        {"64x64x14x14 relu", {64, 64, 14, 14}, {Act::Relu, 0.0}}};
    for (const auto& [shape_label, shape, act] : bn_act_shapes)
        for (bool fused : {true, false}) {
            const std::string label = shape_label + (fused ? " fused" : " composed");
            if (!wanted("batch_norm_act", fwd_bwd(label))) continue;
            const int64_t c = shape[1];
            Tensor x = randn(shape).requires_grad_();
            Tensor w = ones({c}).requires_grad_(), b = zeros({c}).requires_grad_();
            Tensor rm = zeros({c}), rv = ones({c});
            auto op = fused ? &batch_norm_act : &batch_norm_act_composed;
            add_fwd_bwd(out, "batch_norm_act", label, 0,
                        [=, act = act] { return op(x, rm, rv, w, b, true, 0.1, 1e-5, act); }, {x, w, b});
        }
    // A conv's bias over NCHW: a strided (broadcast) elementwise op, rows of H*W with the bias fixed.
    if (wanted("broadcast_add", {"64x128x14x14 + 128x1x1"})) {
        Tensor x = randn({64, 128, 14, 14}), b = randn({128, 1, 1});
        out.push_back({"broadcast_add", "64x128x14x14 + 128x1x1", 0, 0.002, [x, b] { add(x, b); }, {},
                       "timing only"});
    }
    // Row LSTM's step (torch_ref.py's lstm_cell rows): 16 rows of 28 pixels (N = 448), H = 64.
    // "pointwise": lstm_cell on given gates; "cell": with the two matmuls, as nn.LSTMCell(64, 64).
    for (const char* part : {"pointwise", "cell"}) {
        const int64_t n = 16 * 28, hidden = 64;
        const std::string label = fmt::format("{}x{} {}", n, hidden, part);
        if (!wanted("lstm_cell", fwd_bwd(label))) continue;
        const double bound = 1.0 / std::sqrt(double(hidden));  // nn.LSTMCell's init
        Tensor c = randn({n, hidden}).requires_grad_();
        if (std::string(part) == "pointwise") {
            Tensor gates = randn({n, 4 * hidden}).requires_grad_();
            add_fwd_bwd(out, "lstm_cell", label, 0, [=] { return lstm_cell(gates, c); }, {gates, c});
            continue;
        }
        Tensor x = randn({n, hidden}).requires_grad_(), h = randn({n, hidden}).requires_grad_();
        Tensor w_ih = rand({4 * hidden, hidden}, {}, -bound, bound).requires_grad_();
        Tensor w_hh = rand({4 * hidden, hidden}, {}, -bound, bound).requires_grad_();
        Tensor b_ih = rand({4 * hidden}, {}, -bound, bound).requires_grad_();
        Tensor b_hh = rand({4 * hidden}, {}, -bound, bound).requires_grad_();
        add_fwd_bwd(out, "lstm_cell", label, 2.0 * 2 * n * hidden * 4 * hidden,
                    [=] { return lstm_cell(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh), c); },
                    {x, h, c, w_ih, w_hh, b_ih, b_hh});
    }
    if (wanted("overhead", {"tiny add 16 (a+b)", "mlp 3x128 b256 fwd+bwd"})) {
        Tensor a = randn({16}), b = randn({16});
        out.push_back({"overhead", "tiny add 16 (a+b)", 0, 0.005, [a, b] { add(a, b); }, {}, "timing only"});
        // nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
        const double bound = 1.0 / std::sqrt(128.0);
        std::vector<Tensor> ps;
        for (int l = 0; l < 3; ++l) {
            ps.push_back(rand({128, 128}, {}, -bound, bound).requires_grad_());
            ps.push_back(rand({128}, {}, -bound, bound).requires_grad_());
        }
        Tensor x = randn({256, 128}), grad_out = randn({256, 128});
        const double layer = 2.0 * 256 * 128 * 128;
        // fwd 3 layers; bwd: weight grads for 3, input grads for 2 (x needs none)
        out.push_back({"overhead", "mlp 3x128 b256 fwd+bwd", (3 + 3 + 2) * layer, 0.002,
                       [ps, x, grad_out] {
                           zero_grads(ps);
                           Tensor h = relu(linear(x, ps[0], ps[1]));
                           h = relu(linear(h, ps[2], ps[3]));
                           linear(h, ps[4], ps[5]).backward(grad_out);
                       },
                       {}, "timing only"});
    }
    return out;
}

}  // namespace

void run_ops_group(const RunOptions& opt, const Peaks& peaks) {
    auto wanted = [&](const std::string& name, const std::vector<std::string>& shapes) {
        for (const std::string& shape : shapes)
            if (opt.selected(name + " " + shape + " ops")) return true;
        return false;
    };
    for (OpsEntry& e : make_entries(wanted)) {
        if (!opt.selected(e.name + " " + e.shape + " ops")) continue;
        Result r;
        r.kind = "ops";
        r.name = e.name;
        r.shape = e.shape;
        r.variant = "ops";
        r.is_default = true;
        r.threads = opt.threads;
        r.flop = e.flop;
        if (e.check) {
            opt.progress(fmt::format("{} {}: checking", e.name, e.shape));
            CheckResult c = e.check();
            r.check = c.status;
            r.max_rel_error = c.max_rel_error;
            r.check_note = c.note;
        } else {
            r.check_note = e.check_note;
        }
        opt.progress(fmt::format("{} {}: timing", e.name, e.shape));
        TimingOptions t;
        t.samples = opt.repeat > 0 ? opt.repeat : 30;
        t.warmup = 3;
        t.min_sample_s = std::max(opt.min_time_s, e.min_sample_s);
        t.cpu_time = opt.cpu_time;
        r.timing = time_calls(e.fn, t);
        r.timed = true;
        finish_rates(r, peaks);
        opt.emit(std::move(r));
    }
}

}  // namespace mg::tools::bench
