// pix2pix's networks (Isola et al. 2017), following the authors' PyTorch code
// (pytorch-CycleGAN-and-pix2pix: UnetGenerator, NLayerDiscriminator, BatchNorm, init normal 0.02).
//
// U-Net generator, for an S x S image (S in 16..256) padded to P, the next power of two
// (28 -> 32, with -1, the images' background, then cropped back), depth n = log2 P down to 1x1.
// Level k (0 .. n-1) has c_k = w * min(2^k, 8) channels at P / 2^(k+1):
//
//   e0      = Conv4x4s2(Ci -> c0)(x)                                  no norm at the outside
//   e_k     = BN(Conv4x4s2(c_{k-1} -> c_k)(LReLU0.2(e_{k-1})))        k = 1 .. n-2
//   e_{n-1} = Conv4x4s2(c_{n-2} -> c_{n-1})(LReLU0.2(e_{n-2}))        the 1x1 bottleneck, no norm
//   d_{n-2} = BN(ConvT4x4s2(c_{n-1} -> c_{n-2})(ReLU(e_{n-1})))
//   d_{k-1} = BN(ConvT4x4s2(2 c_k -> c_{k-1})(ReLU(cat(e_k, d_k))))   k = n-2 .. 1, then dropout
//             in the first min(3, n-3) of them (the paper's noise: active in training and testing)
//   y       = Tanh(ConvT4x4s2(2 c0 -> Co)(ReLU(cat(e0, d0))))
//
// The skips cat(e_k, d_k) hand every decoder level the encoder's map of the same size, so
// the low-level structure an input and its output share (edges, positions) need not squeeze
// through the 1x1 bottleneck. Convolutions followed by BatchNorm have no bias.
//
// PatchGAN discriminator on cat(input, image) [B, Ci + Co, S, S] with L stride-2 layers:
//
//   Conv4x4s2(Ci+Co -> w) LReLU, L-1 x [Conv4x4s2 BN LReLU], Conv4x4s1 BN LReLU, Conv4x4s1(-> 1)
//   channels w * min(2^i, 8); output: logits [B, 1, S/2^L - 2, S/2^L - 2], one per patch.
//
// Receptive field of one logit: 16, 34, 70, 142 pixels for L = 1, 2, 3, 4 (r = 2 r + 2 from
// 7 = the two stride-1 layers). The paper's 70x70 PatchGAN is L = 3 on 256 x 256 images;
// patch_layers(S) picks the largest L <= 3 whose field fits in the image: 28, 32 -> 1 (16x16
// patches), 64 -> 2 (34x34), 128 and up -> 3 (70x70).
#pragma once

#include <vector>

#include "core/nn/nn.h"

namespace mg::models {

class UNetGenerator : public nn::Module {
public:
    UNetGenerator(int64_t in_channels, int64_t out_channels, int64_t size, int64_t width = 64, double dropout = 0.5);
    Tensor forward(const Tensor& x) override;  // [B, Ci, S, S] in [-1, 1] -> [B, Co, S, S] in (-1, 1)

    int64_t size, padded, depth;
    double dropout;
    int64_t dropout_blocks;  // decoder blocks with dropout, right after the bottleneck
    // Registered as down.K, down_norm.K, up.K, up_norm.K (K counting from 0 in each list).
    std::vector<std::shared_ptr<nn::Conv2d>> down;            // n
    std::vector<std::shared_ptr<nn::BatchNorm2d>> down_norm;  // n-2: down_norm[i] after down[i + 1]
    std::vector<std::shared_ptr<nn::ConvTranspose2d>> up;     // n: up[k] makes level k-1's map (up[0]: the image)
    std::vector<std::shared_ptr<nn::BatchNorm2d>> up_norm;    // n-1: up_norm[i] after up[i + 1]
};

// The number of stride-2 layers of the PatchGAN for S x S images (see above).
int64_t patch_layers(int64_t size);
// The receptive field of one logit of an L-layer PatchGAN, in pixels.
int64_t patch_receptive_field(int64_t layers);

class PatchDiscriminator : public nn::Module {
public:
    PatchDiscriminator(int64_t in_channels, int64_t layers, int64_t width = 64);
    Tensor forward(const Tensor& x) override;  // [B, Ci + Co, S, S] -> logits [B, 1, h, w]
    std::shared_ptr<nn::Sequential> net;
};

// The authors' init: conv weights N(0, 0.02) and biases 0, BatchNorm scale N(1, 0.02) and shift 0.
void pix2pix_init(nn::Module& net);

}  // namespace mg::models
