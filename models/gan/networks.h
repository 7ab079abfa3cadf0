// The GAN networks of workloads.md, shared by dcgan, cgan and wgan-gp.
// Member names follow tools/reference/torch_ref.py, so state_dict names match PyTorch's:
//   generator:      fc.weight, net.0.weight (BatchNorm2d), net.2.weight (ConvTranspose2d), ...
//   discriminator:  trunk.0.weight (Conv2d), ..., fc.weight
// With spectral normalization, D's conv and linear layers are nn::SpectralNorm wrappers and
// their weights read trunk.0.weight_orig, trunk.0.weight_u, ... as torch.nn.utils.spectral_norm
// names them. `width` (64 in workloads.md) scales every hidden layer: w and 2w channels.
//
// Any square size S = base * 2^k, k >= 2 (models/image_shape.h): base 7 when S / 7 is a power of two
// (28: Fashion-MNIST's workloads.md networks exactly, 56), else base 4 (16, 32, 64, 128).
// G starts at base x base with w * 2^(k-1) channels and has k up-blocks, each halving the
// channels (the last one to the image's C); D mirrors it: k down-blocks from C to
// w * 2^(k-1) channels at base x base. 28: 2w at 7x7, 2 blocks; 32: 4w at 4x4, 3 blocks;
// 64: 8w at 4x4, 4 blocks (the DCGAN paper's 64x64 networks).
#pragma once

#include "core/nn/nn.h"
#include "core/nn/spectral_norm.h"
#include "models/bugs.h"
#include "models/image_shape.h"

namespace mg::models {

// z (+ one-hot label) [B, z_dim + classes] -> Linear -> (2w,7,7) -> BN ReLU
//   -> ConvT(2w,w,4,2,1) BN ReLU -> ConvT(w,1,4,2,1) Tanh -> [B, 1, 28, 28]
//
// Two classic mistakes can be built in (models/bugs.h): no BatchNorm (g-no-batchnorm), and
// up-convolutions ConvT(k=3, s=2, p=1, output_padding 1) whose kernel does not divide by the
// stride (checkerboard): output pixels alternate between 1 and 2 taps per axis.
class DcGenerator : public nn::Module {
public:
    DcGenerator(int64_t z_dim, int64_t classes, int64_t width = 64, int64_t channels = 1, int64_t size = 28,
                Bug bug = Bug::None);
    Tensor forward(const Tensor& z) override;
    // forward(z), appending to `stds` the standard deviation of each ReLU's output (the
    // hidden activations, first to last) and then of the last layer's pre-activation (what
    // Tanh squashes): the scales BatchNorm holds near 1, read by the health monitors. The
    // pre-activation itself goes to *pre_tanh when given.
    Tensor forward_measured(const Tensor& z, std::vector<double>& stds, Tensor* pre_tanh = nullptr);
    int64_t width;
    ImageShape shape;
    std::shared_ptr<nn::Linear> fc;
    std::shared_ptr<nn::Sequential> net;
};

// [B, 1, 28, 28] -> Conv(1,w,4,2,1) LReLU(0.2) -> Conv(w,2w,4,2,1) [BN] LReLU(0.2) -> Flatten
//   = features h [B, 2w*49]  (+ one-hot label) -> Linear(2w*49 + classes, 1) -> logit
//
// Conditional, workloads.md's form: logit = w·h + v_y + b. The label adds a per-class
// constant that does not depend on the image, so D cannot tell a shirt labelled "shirt"
// from a shirt labelled "boot", and G is never pushed to follow its label. `projection`
// adds the projection term of Miyato & Koyama (2018), <embed(y), h>: an image-label
// interaction, which is what makes the labels mean something.
class DcDiscriminator : public nn::Module {
public:
    DcDiscriminator(bool batchnorm, int64_t classes, int64_t in_channels = 1, int64_t width = 64,
                    bool spectral_norm = false, bool projection = false, int64_t size = 28);
    Tensor forward(const Tensor& x) override;             // unconditional
    Tensor forward(const Tensor& x, const Tensor& onehot);  // conditional
    std::shared_ptr<nn::Sequential> trunk;
    std::shared_ptr<nn::Module> fc;     // a Linear, or a SpectralNorm around one
    std::shared_ptr<nn::Module> embed;  // projection only: Linear(classes, features, no bias) on one-hot(y)
};

// workloads.md's init: N(0, 0.02) conv/linear weights (spectral_norm's weight_orig too),
// N(1, 0.02) BatchNorm scale, shift 0.
void dcgan_init(nn::Module& net);

}  // namespace mg::models
