#include "core/gradcheck.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"

namespace mg {

namespace {

// Random projection weights, fixed by the seed and independent of the global generator.
Tensor projection(const Shape& shape, uint64_t seed) {
    GeneratorState saved = default_generator().state();
    default_generator().manual_seed(seed);
    Tensor v = randn(shape, {DType::Float64});
    default_generator().set_state(saved);
    return v;
}

// <v, f(x)> as a scalar.
Tensor projected(const TensorFn& f, const std::vector<Tensor>& inputs, uint64_t seed) {
    Tensor y = f(inputs);
    MG_CHECK(y.dtype() == DType::Float64, "gradcheck: the function must return float64, got {}", y.dtype());
    return sum(y * projection(y.shape(), seed));
}

GradcheckResult compare(const TensorFn& scalar_fn, const std::vector<Tensor>& inputs,
                        const std::vector<Tensor>& analytic, const GradcheckOptions& opt, const char* what) {
    GradcheckResult res;
    // Evaluations keep grad mode on: gradgradcheck's scalar function differentiates inside.
    autograd::EnableGradGuard grad_on;
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        Tensor x = inputs[i];
        MG_CHECK(x.dtype() == DType::Float64 && x.is_contiguous(), "{}: input {} must be contiguous float64", what, i);
        std::vector<double> a = analytic[i].defined() ? analytic[i].to_vector<double>()
                                                      : std::vector<double>(size_t(x.numel()), 0.0);
        double* p = x.data<double>();
        for (int64_t j = 0; j < x.numel(); ++j) {
            double orig = p[j];
            p[j] = orig + opt.eps;
            double plus = scalar_fn(inputs).item();
            p[j] = orig - opt.eps;
            double minus = scalar_fn(inputs).item();
            p[j] = orig;
            double numeric = (plus - minus) / (2 * opt.eps);
            double err = std::abs(numeric - a[size_t(j)]);
            res.max_abs_error = std::max(res.max_abs_error, err);
            if (err > opt.atol + opt.rtol * std::abs(numeric) && res.ok) {
                res.ok = false;
                res.message = fmt::format("{}: input {} {} element {}: analytic {:.10g}, numeric {:.10g}", what, i,
                                          x.shape(), j, a[size_t(j)], numeric);
            }
        }
    }
    return res;
}

std::vector<Tensor> analytic_grads(const Tensor& scalar, const std::vector<Tensor>& inputs, bool create_graph) {
    std::vector<Tensor> wrt;
    std::vector<size_t> index;
    for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad()) {
            wrt.push_back(inputs[i]);
            index.push_back(i);
        }
    std::vector<Tensor> out(inputs.size());
    if (!scalar.requires_grad()) return out;  // output independent of every input
    std::vector<Tensor> g = autograd::grad({scalar}, wrt, {}, create_graph, create_graph, /*allow_unused=*/true);
    for (size_t k = 0; k < g.size(); ++k) out[index[k]] = g[k];
    return out;
}

}  // namespace

GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
    auto scalar_fn = [&](const std::vector<Tensor>& xs) { return projected(f, xs, opt.seed); };
    std::vector<Tensor> analytic = analytic_grads(scalar_fn(inputs), inputs, false);
    return compare(scalar_fn, inputs, analytic, opt, "gradcheck");
}

GradcheckResult gradgradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
    // h(x) = sum_i <u_i, d<v, f(x)>/dx_i>: its gradient needs the backward's backward.
    auto first_order = [&](const std::vector<Tensor>& xs) {
        std::vector<Tensor> g = analytic_grads(projected(f, xs, opt.seed), xs, true);
        Tensor total = zeros(Shape{}, {DType::Float64});
        for (size_t i = 0; i < g.size(); ++i)
            if (g[i].defined()) total = total + sum(g[i] * projection(g[i].shape(), opt.seed + 1 + i));
        return total;
    };
    std::vector<Tensor> analytic = analytic_grads(first_order(inputs), inputs, false);
    return compare(first_order, inputs, analytic, opt, "gradgradcheck");
}

}  // namespace mg
