#include "core/nn/init.h"

#include <cmath>

#include "core/autograd.h"

namespace mg::nn::init {

namespace {

void check_floating(const Tensor& t, const char* op) {
    MG_CHECK(t.defined(), "nn::init::{}: tensor is undefined", op);
    MG_CHECK(is_floating(t.dtype()), "nn::init::{}: tensor must be floating, got {}", op, t.dtype());
}

// Writes `values` into `tensor` without recording a graph (parameters require grad).
Tensor assign(const Tensor& tensor, const Tensor& values) {
    autograd::NoGradGuard no_grad;
    Tensor(tensor).copy_(values);
    return tensor;
}

int64_t fan(const Tensor& t, FanMode mode) {
    auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
    return mode == FanMode::FanIn ? fan_in : fan_out;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
    switch (nonlinearity) {
        case Nonlinearity::Linear:
        case Nonlinearity::Sigmoid: return 1.0;
        case Nonlinearity::Tanh: return 5.0 / 3.0;
        case Nonlinearity::ReLU: return std::sqrt(2.0);
        case Nonlinearity::LeakyReLU: {
            double slope = param.value_or(0.01);
            return std::sqrt(2.0 / (1.0 + slope * slope));
        }
        case Nonlinearity::SELU: return 3.0 / 4.0;
    }
    MG_FAIL("calculate_gain: unknown nonlinearity {}", int(nonlinearity));
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
    MG_CHECK(t.defined() && t.dim() >= 2,
             "calculate_fan_in_and_fan_out: fans need a tensor with at least 2 dimensions, got {}",
             t.defined() ? t.shape().str() : "an undefined tensor");
    int64_t receptive_field = 1;
    for (int d = 2; d < t.dim(); ++d) receptive_field *= t.size(d);
    return {t.size(1) * receptive_field, t.size(0) * receptive_field};
}

Tensor uniform_(const Tensor& tensor, double low, double high) {
    check_floating(tensor, "uniform_");
    MG_CHECK(low <= high, "nn::init::uniform_: low {} is above high {}", low, high);
    if (low == high) return constant_(tensor, low);
    return assign(tensor, rand(tensor.shape(), {tensor.dtype(), tensor.device()}, low, high));
}

Tensor normal_(const Tensor& tensor, double mean, double std) {
    check_floating(tensor, "normal_");
    MG_CHECK(std >= 0, "nn::init::normal_: negative standard deviation {}", std);
    return assign(tensor, randn(tensor.shape(), {tensor.dtype(), tensor.device()}, mean, std));
}

Tensor constant_(const Tensor& tensor, double value) {
    check_floating(tensor, "constant_");
    autograd::NoGradGuard no_grad;
    Tensor(tensor).fill_(value);
    return tensor;
}
Tensor zeros_(const Tensor& tensor) { return constant_(tensor, 0.0); }
Tensor ones_(const Tensor& tensor) { return constant_(tensor, 1.0); }

Tensor xavier_uniform_(const Tensor& tensor, double gain) {
    auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
    double a = gain * std::sqrt(6.0 / double(fan_in + fan_out));
    return uniform_(tensor, -a, a);
}

Tensor xavier_normal_(const Tensor& tensor, double gain) {
    auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
    return normal_(tensor, 0.0, gain * std::sqrt(2.0 / double(fan_in + fan_out)));
}

Tensor kaiming_uniform_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
    if (tensor.numel() == 0) return tensor;  // nothing to draw (PyTorch warns and does the same)
    int64_t f = fan(tensor, mode);
    MG_CHECK(f > 0, "nn::init::kaiming_uniform_: zero fan for a tensor of shape {}", tensor.shape());
    double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / double(f));
    return uniform_(tensor, -bound, bound);
}

Tensor kaiming_normal_(const Tensor& tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
    if (tensor.numel() == 0) return tensor;
    int64_t f = fan(tensor, mode);
    MG_CHECK(f > 0, "nn::init::kaiming_normal_: zero fan for a tensor of shape {}", tensor.shape());
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(double(f)));
}

void layer_default_(const Tensor& weight, const Tensor& bias) {
    kaiming_uniform_(weight, std::sqrt(5.0));
    if (!bias.defined()) return;
    int64_t fan_in = calculate_fan_in_and_fan_out(weight).first;
    double bound = fan_in > 0 ? 1.0 / std::sqrt(double(fan_in)) : 0.0;
    uniform_(bias, -bound, bound);
}

}  // namespace mg::nn::init
