// End to end: a small MLP trained with plain SGD on a fixed random regression
// problem must drive its loss well below where it started.
#include "helpers.h"

using namespace mg;

TEST_CASE("a 2-layer MLP learns a random regression target") {
    manual_seed(0);
    Tensor x = randn({128, 8});
    Tensor w_true = randn({8, 1});
    Tensor y = tanh(matmul(x, w_true));

    Tensor w1 = mul(randn({32, 8}), 0.3).requires_grad_();
    Tensor b1 = zeros({32}).requires_grad_();
    Tensor w2 = mul(randn({1, 32}), 0.3).requires_grad_();
    Tensor b2 = zeros({1}).requires_grad_();
    std::vector<Tensor> params{w1, b1, w2, b2};

    auto loss_fn = [&] { return mse_loss(linear(relu(linear(x, w1, b1)), w2, b2), y); };
    double first = loss_fn().item();
    double last = first;
    for (int step = 0; step < 1000; ++step) {
        for (Tensor& p : params) p.zero_grad();
        Tensor loss = loss_fn();
        loss.backward();
        last = loss.item();
        autograd::NoGradGuard ng;
        for (Tensor& p : params) p.add_(p.grad(), -0.1);
    }
    INFO("loss " << first << " -> " << last);
    CHECK(last < 0.03 * first);
}
