// WGAN-GP's gradient penalty (Gulrajani et al. 2017): a gradient of a gradient. The penalty
// holds the critic's input gradient, so descending it in the critic's weights needs the
// backward of a backward. It trains a small critic on 2-D points, then checks the second-order
// gradient against central differences (gradcheck of a function that itself differentiates).
//
//   build/examples/example_gradient_penalty --steps 200
#include "core/minigen.h"
#include "core/nn/nn.h"
#include "examples/flags.h"
#include "optim/adam.h"

using namespace mg;
using std::make_shared;

namespace {

// 10 · mean over the batch of (‖∇x̂ D(x̂)‖₂ − 1)², x̂ [B, 2] a leaf that requires grad.
Tensor gradient_penalty(nn::Module& D, const Tensor& xhat) {
    Tensor d = D(xhat);
    // create_graph: the gradient is built from differentiable ops, so the penalty can be differentiated again.
    Tensor g = autograd::grad({d}, {xhat}, {ones_like(d)}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    Tensor grad_norm = (square(g).sum({1}) + 1e-12).sqrt();  // [B]; + 1e-12 keeps sqrt' finite at 0
    return 10.0 * square(grad_norm - 1.0).mean();
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run("example_gradient_penalty", [&] {
        examples::Flags flags(argc, argv, "usage: example_gradient_penalty [--steps N] (default 200)", {"steps"});
        if (flags.help()) return 0;
        const int64_t steps = flags.get_int("steps", 200, 1, 1'000'000), B = 16;
        const TensorOptions f64{DType::Float64};
        manual_seed(0);
        // Float64, so that central differences can check it to 1e-6 at the end.
        auto D = make_shared<nn::Sequential>(make_shared<nn::Linear>(2, 16), make_shared<nn::Tanh>(),
                                             make_shared<nn::Linear>(16, 16), make_shared<nn::Tanh>(),
                                             make_shared<nn::Linear>(16, 1));
        D->to(DType::Float64);
        optim::Adam opt(D->parameters(), {.lr = 1e-3, .beta1 = 0.5, .beta2 = 0.9});

        Tensor xhat;
        for (int64_t step = 1; step <= steps; ++step) {
            Tensor real = randn({B, 2}, f64, 0.0, 0.5) + 2.0, fake = randn({B, 2}, f64);
            Tensor eps = rand({B, 1}, f64);                    // one ε ~ U(0, 1) per sample
            xhat = (eps * real + (1.0 - eps) * fake).detach();  // x̂ = ε·real + (1 − ε)·fake
            xhat.requires_grad_();
            Tensor gp = gradient_penalty(*D, xhat);
            Tensor loss = (*D)(fake).mean() - (*D)(real).mean() + gp;  // the critic's loss
            opt.zero_grad();
            loss.backward();  // through the penalty's gradient into every weight of D
            opt.step();
            if (step == 1 || step % 50 == 0 || step == steps)
                fmt::print("step {:>4}  critic loss {:+.4f}  penalty {:.5f}\n", step, loss.item(), gp.item());
        }

        // The analytic d(penalty)/d(weights), a second-order gradient, against central differences.
        GradcheckResult check = gradcheck([&](const std::vector<Tensor>&) { return gradient_penalty(*D, xhat); },
                                          D->parameters());
        fmt::print("second-order gradient vs central differences over {} weights: max |error| {:.2e}  {}\n",
                   D->num_parameters(), check.max_abs_error, check.ok ? "ok" : "FAILED: " + check.message);
        return check.ok ? 0 : 1;
    });
}
