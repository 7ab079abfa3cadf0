// A DCGAN on Fashion-MNIST, written with the library alone: the data API, nn modules, Adam,
// and the two updates of the GAN game as the algorithm reads (Goodfellow et al. 2014,
// Radford et al. 2015). The layers are docs/workloads.md's dcgan; `minigen train dcgan`
// trains the same networks through the models/ trainer, with checkpoints and metrics.
//
//   build/examples/example_dcgan --steps 500 --out dcgan.png    # a few minutes at most on 2 cores
//
// Every --log-every steps it prints the two losses, D(x) (the mean probability D gives the
// real batch) and D(G(z)) (the one it gives the fakes). Both start near 0.5; while D wins,
// D(x) nears 1 and D(G(z)) 0, and a balanced game keeps them away from both. At the end it
// writes 64 samples as a PNG grid: after 500 steps (half an epoch), rough garment shapes.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/data/fashion_mnist.h"
#include "core/data/loader.h"
#include "core/io/image.h"
#include "core/minigen.h"
#include "core/nn/nn.h"
#include "examples/flags.h"
#include "optim/adam.h"

using namespace mg;
using nn::Sequential;
using std::make_shared;

namespace {

constexpr int64_t kZ = 100;      // latent size
constexpr int64_t kBatch = 64;

// z [B, 100] -> images [B, 1, 28, 28] in [-1, 1]
std::shared_ptr<Sequential> make_generator() {
    return make_shared<Sequential>(
        make_shared<nn::Linear>(kZ, 128 * 7 * 7), make_shared<nn::Unflatten>(1, std::vector<int64_t>{128, 7, 7}),
        make_shared<nn::BatchNorm2d>(128), make_shared<nn::ReLU>(),
        make_shared<nn::ConvTranspose2d>(128, 64, 4, /*stride=*/2, /*padding=*/1),  // -> [B, 64, 14, 14]
        make_shared<nn::BatchNorm2d>(64), make_shared<nn::ReLU>(),
        make_shared<nn::ConvTranspose2d>(64, 1, 4, 2, 1), make_shared<nn::Tanh>());  // -> [B, 1, 28, 28]
}

// images [B, 1, 28, 28] -> logits [B, 1]: D(x) = sigmoid(logit), the probability that x is real
std::shared_ptr<Sequential> make_discriminator() {
    return make_shared<Sequential>(
        make_shared<nn::Conv2d>(1, 64, 4, 2, 1), make_shared<nn::LeakyReLU>(0.2),  // -> [B, 64, 14, 14]
        make_shared<nn::Conv2d>(64, 128, 4, 2, 1), make_shared<nn::BatchNorm2d>(128),  // -> [B, 128, 7, 7]
        make_shared<nn::LeakyReLU>(0.2), make_shared<nn::Flatten>(), make_shared<nn::Linear>(128 * 7 * 7, 1));
}

// The DCGAN paper's init: conv and linear weights N(0, 0.02), BatchNorm scale N(1, 0.02), shift 0.
void dcgan_init(nn::Module& net) {
    net.apply([](nn::Module& m) {
        if (auto* conv = m.as<nn::ConvBase>()) nn::init::normal_(conv->weight, 0.0, 0.02);
        if (auto* fc = m.as<nn::Linear>()) nn::init::normal_(fc->weight, 0.0, 0.02);
        if (auto* bn = m.as<nn::BatchNorm>()) {
            nn::init::normal_(bn->weight, 1.0, 0.02);
            nn::init::zeros_(bn->bias);
        }
    });
}

void set_requires_grad(nn::Module& net, bool on) {
    for (const Tensor& p : net.parameters()) p.requires_grad_(on);
}

// -log sigmoid(t) = softplus(-t) and -log(1 - sigmoid(t)) = softplus(t), stable for any logit t.
Tensor neg_log_d(const Tensor& logit) { return softplus(-logit); }
Tensor neg_log_one_minus_d(const Tensor& logit) { return softplus(logit); }

int train(int argc, char** argv) {
    examples::Flags flags(argc, argv,
                          "usage: example_dcgan [--steps N] [--data DIR] [--out PNG] [--log-every N]\n"
                          "  --steps      updates of D and of G (default 500)\n"
                          "  --data       the Fashion-MNIST directory (default: $MINIGEN_DATA, then the Debian package's)\n"
                          "  --out        the sample grid to write (default dcgan_samples.png)\n"
                          "  --log-every  steps between printed lines (default 50)",
                          {"steps", "data", "out", "log-every"});
    if (flags.help()) return 0;
    const int64_t steps = flags.get_int("steps", 500, 1, 10'000'000);
    const int64_t log_every = flags.get_int("log-every", 50, 1, 10'000'000);
    const std::string out = flags.get("out", "dcgan_samples.png");
    const std::filesystem::path out_dir = std::filesystem::path(out).parent_path();  // checked now, not after training
    MG_CHECK(out_dir.empty() || std::filesystem::is_directory(out_dir), "--out '{}': directory '{}' does not exist",
             io::quote_short(out), io::quote_short(out_dir.string()));
    std::optional<std::string> data_dir;
    if (flags.has("data")) data_dir = flags.get("data", "");

    manual_seed(1);
    // uint8 images [60000, 1, 28, 28]; the loader shuffles them and scales each batch to [-1, 1].
    data::Dataset train_set = data::load_fashion_mnist(data::Split::Train, data_dir);
    data::DataLoader loader(train_set.images, train_set.labels,
                            {.batch_size = kBatch, .drop_last = true, .seed = 1,
                             .transform = data::transforms::to_float(data::PixelRange::MinusOneOne)});

    auto G = make_generator(), D = make_discriminator();
    dcgan_init(*G);
    dcgan_init(*D);
    optim::Adam opt_g(G->parameters(), {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999});
    optim::Adam opt_d(D->parameters(), {.lr = 2e-4, .beta1 = 0.5, .beta2 = 0.999});
    fmt::print("G: {} parameters, D: {} parameters, {} training images\n", G->num_parameters(),
               D->num_parameters(), train_set.size());

    const auto start = std::chrono::steady_clock::now();
    for (int64_t step = 1; step <= steps; ++step) {
        std::optional<data::Batch> batch = loader.next();
        if (!batch) batch = loader.next();  // the epoch ended: the next call starts the next one
        const Tensor& x = batch->images;     // real images [64, 1, 28, 28]
        Tensor fake = (*G)(randn({kBatch, kZ}));

        // D step: ascend log D(x) + log(1 - D(G(z))). The fakes are detached: this step moves D only.
        Tensor d_real = (*D)(x), d_fake = (*D)(fake.detach());
        Tensor loss_d = neg_log_d(d_real).mean() + neg_log_one_minus_d(d_fake).mean();
        opt_d.zero_grad();
        loss_d.backward();
        opt_d.step();

        // G step, non-saturating: ascend log D(G(z)) instead of descending log(1 - D(G(z))), whose
        // gradient vanishes while D rejects the fakes confidently (early in training).
        // D is held fixed here: its weights stop requiring grad, so backward skips their gradients.
        set_requires_grad(*D, false);
        Tensor loss_g = neg_log_d((*D)(fake)).mean();
        opt_g.zero_grad();
        loss_g.backward();
        opt_g.step();
        set_requires_grad(*D, true);

        if (step % log_every == 0 || step == steps) {
            autograd::NoGradGuard no_grad;
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            fmt::print("step {:>5}/{}  loss_D {:.4f}  loss_G {:.4f}  D(x) {:.3f}  D(G(z)) {:.3f}  {:.1f} s\n", step,
                       steps, loss_d.item(), loss_g.item(), d_real.sigmoid().mean().item(),
                       d_fake.sigmoid().mean().item(), seconds);
            std::fflush(stdout);  // one line at a time, also through a pipe
        }
    }

    // Samples: BatchNorm in eval mode uses its running statistics, so each image depends on its z alone.
    G->eval();
    autograd::NoGradGuard no_grad;
    Tensor samples = (*G)(randn({64, kZ}));
    io::write_png_grid(out, samples, {.nrow = 8, .scale = 2});
    fmt::print("wrote {} (64 samples, 8 x 8)\n", out);
    return 0;
}

}  // namespace

int main(int argc, char** argv) { return examples::run("example_dcgan", [&] { return train(argc, argv); }); }
