// Convolutions: Conv2d, ConvTranspose2d, and PixelCNN's MaskedConv2d.
//
//   Conv2d:          x [N, C_in, H, W] -> [N, C_out, OH, OW],
//                    OH = (H + 2p - d*(k-1) - 1) / s + 1
//   ConvTranspose2d: x [N, C_in, H, W] -> [N, C_out, OH, OW],
//                    OH = (H-1)*s - 2p + d*(k-1) + output_padding + 1
//   MaskedConv2d:    Conv2d with weight * mask, the mask hiding the pixels a
//                    PixelCNN may not see (see below).
#pragma once

#include "core/nn/forward_hook.h"
#include "core/nn/module.h"
#include "core/ops.h"

namespace mg::nn {

// What the three share (PyTorch's _ConvNd): argument checks, weight and bias,
// the default init and the printout.
class ConvBase : public Module {
public:
    std::string extra_repr() const override;
    void reset_parameters();  // init::layer_default_ (PyTorch's default)

    int64_t in_channels, out_channels;
    Pair kernel_size;
    Conv2dOptions options;  // stride, padding, dilation, groups; output_padding (transposed only)
    Tensor weight;  // Conv2d [C_out, C_in/groups, KH, KW]; ConvTranspose2d [C_in, C_out/groups, KH, KW]
    Tensor bias;    // [C_out]; undefined when built with bias = false
    // Null but in calibration or a quantized model; Conv2d and ConvTranspose2d consult it
    // (MaskedConv2d does not).
    std::shared_ptr<ForwardHook> hook;

protected:
    ConvBase(const char* op, int64_t in_channels, int64_t out_channels, Pair kernel_size,
             const Conv2dOptions& options, bool bias, bool transposed);
};

class Conv2d : public ConvBase {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride = 1, Pair padding = 0,
           Pair dilation = 1, int64_t groups = 1, bool bias = true);
    Tensor forward(const Tensor& x) override;
};

// PyTorch's argument order (output_padding before groups, dilation last).
class ConvTranspose2d : public ConvBase {
public:
    ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Pair stride = 1, Pair padding = 0,
                    Pair output_padding = 0, int64_t groups = 1, bool bias = true, Pair dilation = 1);
    Tensor forward(const Tensor& x) override;
};

// PixelCNN's masked convolution (odd square kernel k, centre c = k/2): output
// pixel (i, j) may only see input pixels before it in raster order. Both types
// zero the rows below the centre and the pixels right of the centre; type 'A'
// (the first layer) also hides the centre itself, type 'B' shows it.
// The mask [C_out, C_in, k, k] is the buffer "mask"; forward = conv2d(x, weight * mask).
class MaskedConv2d : public Conv2d {
public:
    MaskedConv2d(char mask_type, int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t padding,
                 bool bias = true);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    char mask_type;  // 'A' or 'B'
    Tensor mask;     // [C_out, C_in, k, k] of 0 and 1, the weight's dtype
};

}  // namespace mg::nn
