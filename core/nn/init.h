// Parameter initializers, as torch.nn.init: each fills a tensor in place (under
// NoGradGuard, so parameters can be filled) from the default Philox generator
// (core/random.h: manual_seed makes them reproducible) and returns it.
//
// Fans follow PyTorch's _calculate_fan_in_and_fan_out: for a weight of shape
// [d0, d1, k...], fan_in = d1 * prod(k) and fan_out = d0 * prod(k). That is the
// right fan for Linear [out, in] and Conv2d [out, in/groups, kh, kw]; for
// ConvTranspose2d's [in, out/groups, kh, kw] it is PyTorch's choice too, kept
// so that both frameworks draw from the same distributions.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "core/tensor.h"

namespace mg::nn::init {

enum class FanMode { FanIn, FanOut };
// Linear stands for every layer with gain 1 (linear, conv, conv_transpose, identity).
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };

// The recommended gain: 1, 1, 5/3, sqrt(2), sqrt(2 / (1 + slope^2)), 3/4.
// For LeakyReLU, param is the negative slope (0.01 when not given).
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);
// {fan_in, fan_out} of a tensor with at least 2 dimensions.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor uniform_(const Tensor& tensor, double low = 0.0, double high = 1.0);  // U(low, high)
Tensor normal_(const Tensor& tensor, double mean = 0.0, double std = 1.0);   // N(mean, std^2)
Tensor constant_(const Tensor& tensor, double value);
Tensor zeros_(const Tensor& tensor);
Tensor ones_(const Tensor& tensor);
// U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(const Tensor& tensor, double gain = 1.0);
// N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(const Tensor& tensor, double gain = 1.0);
// U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
// N(0, std^2), std = gain / sqrt(fan).
Tensor kaiming_normal_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);

// The default of Linear and the conv layers (their reset_parameters in PyTorch):
// weight ~ kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in. bias may be undefined.
void layer_default_(const Tensor& weight, const Tensor& bias);

}  // namespace mg::nn::init
