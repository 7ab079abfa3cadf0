// The ONNX export's module table (models/export/onnx_modules.cpp): every mapped layer kind in one
// network, run in ONNX Runtime against minigen's forward (the models' networks are checked by
// tests/onnx_export_test.sh), and the refusal of a kind without a mapping.
#include <cstdlib>
#include <filesystem>

#include <sys/wait.h>

#include <doctest/doctest.h>

#include "core/autograd.h"
#include "core/io/npy.h"
#include "core/nn/nn.h"
#include "core/nn/spectral_norm.h"
#include "core/random.h"
#include "models/export/onnx_export.h"
#include "tests/helpers.h"

using namespace mg;
using mg::test::error_of;
using mg::test::TempDir;

namespace {

// x [N, 6] -> every layer kind the table maps (but Embedding, which takes indices) -> [N, 2, 6, 6].
std::shared_ptr<nn::Sequential> every_layer_kind() {
    auto bn = std::make_shared<nn::BatchNorm2d>(4);
    auto net = std::make_shared<nn::Sequential>(
        std::make_shared<nn::Linear>(6, 18), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::Unflatten>(1, std::vector<int64_t>{2, 3, 3}), std::make_shared<nn::Conv2d>(2, 4, 3, 1, 1),
        bn, std::make_shared<nn::ELU>(0.7), std::make_shared<nn::Flatten>(), std::make_shared<nn::LayerNorm>(36),
        std::make_shared<nn::GELU>(), std::make_shared<nn::Softplus>(2.0),
        std::make_shared<nn::Linear>(36, 36, /*bias=*/false), std::make_shared<nn::Softplus>(),
        std::make_shared<nn::Unflatten>(1, std::vector<int64_t>{4, 3, 3}),
        std::make_shared<nn::ConvTranspose2d>(4, 2, 3, 2, 1, /*output_padding=*/1), std::make_shared<nn::Sigmoid>(),
        std::make_shared<nn::MaskedConv2d>('B', 2, 2, 3, 1), std::make_shared<nn::LeakyReLU>(0.2),
        std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::Identity>(), std::make_shared<nn::Tanh>());
    // Running statistics and affine parameters away from their defaults, so eval mode shows.
    autograd::NoGradGuard no_grad;
    bn->running_mean.copy_(randn({4}) * 0.3);
    bn->running_var.copy_(rand({4}, {}, 0.5, 2.0));
    bn->weight.copy_(randn({4}));
    bn->bias.copy_(randn({4}));
    return net;
}

models::SamplingNetwork network_of(nn::Module& net, int64_t z_dim, Shape output) {
    models::SamplingNetwork s;
    s.model = "test";
    s.network = &net;
    s.z_dim = z_dim;
    s.output = output;
    s.reference = [&net](const Tensor& z, const Tensor&) {
        autograd::NoGradGuard no_grad;
        net.eval();
        return net(z);
    };
    return s;
}

}  // namespace

TEST_CASE("onnx export: every mapped layer kind gives ONNX Runtime's output within 1e-4") {
    if (!models::onnx_export_available()) {
        MESSAGE("skipped: minigen built without ONNX");
        return;
    }
    manual_seed(7);
    auto net = every_layer_kind();
    const models::SamplingNetwork s = network_of(*net, 6, {2, 6, 6});
    TempDir dir("onnx");
    const models::OnnxExportSummary summary = models::export_onnx(s, dir / "net.onnx");
    CHECK(net->is_training());                                   // the export leaves the mode as it found it
    CHECK(summary.parameters == net->num_parameters() + 4 + 4);  // + the running statistics
    const Tensor z = randn({5, 6});
    io::write_npy(dir / "z.npy", z);
    io::write_npy(dir / "expected.npy", s.reference(z, Tensor()).contiguous());
    const int rc = std::system(fmt::format("node {}/tests/reference/onnx_run.js check {} {} 1e-4", MINIGEN_SOURCE_DIR,
                                           dir / "net.onnx", dir.str())
                                   .c_str());
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) == 77 || WEXITSTATUS(rc) == 127) {
        MESSAGE("skipped: no node or no onnxruntime-node (tools/run installs it)");
        return;
    }
    CHECK(WEXITSTATUS(rc) == 0);
}

TEST_CASE("onnx export: a layer kind without an ONNX form is named, and nothing is written") {
    if (!models::onnx_export_available()) {
        MESSAGE("skipped: minigen built without ONNX");
        return;
    }
    auto net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(),
                                                nn::spectral_norm(std::make_shared<nn::Linear>(8, 4)));
    TempDir dir("onnx");
    CHECK(error_of([&] {
              models::export_onnx(network_of(*net, 4, {1, 2, 2}), dir / "net.onnx");
          }) == "export: model 'test' uses SpectralNorm (at '2') which has no ONNX form yet");
    CHECK(std::filesystem::is_empty(dir.path));
}
