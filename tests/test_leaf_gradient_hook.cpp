// The engine's leaf-gradient hook (what data-parallel training starts its buckets from): once
// per leaf per backward, after every path to the leaf has been summed into .grad (a gradient
// penalty's double-backward terms included), and never from grad().
#include <map>

#include "helpers.h"

using namespace mg;

TEST_CASE("the leaf-gradient hook fires once per leaf and backward, with .grad complete") {
    Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
    Tensor w = from_vector<double>({3.0, -1.0}).requires_grad_();
    std::map<const TensorImpl*, int> calls;
    std::vector<double> x_grad_seen;
    autograd::set_leaf_gradient_hook([&](const TensorImpl& leaf) {
        ++calls[&leaf];
        if (&leaf == x.impl()) x_grad_seen = x.grad().to_vector<double>();
    });
    // x reaches the loss by two paths, and through a create_graph gradient (a penalty's shape).
    Tensor y = sum(mul(mul(x, x), w));                                          // dy/dx = 2 x w
    Tensor g = autograd::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    CHECK(calls.empty());  // grad() writes no .grad
    Tensor loss = add(add(y, sum(mul(x, 5.0))), sum(mul(g, g)));  // + 5 x + (2 x w)^2
    loss.backward();
    autograd::set_leaf_gradient_hook({});
    CHECK(calls[x.impl()] == 1);
    CHECK(calls[w.impl()] == 1);
    // d/dx = 2 x w + 5 + 8 x w^2: [6 + 5 + 72, -4 + 5 + 16]
    CHECK(x_grad_seen == std::vector<double>{83.0, 17.0});
    CHECK(x.grad().to_vector<double>() == x_grad_seen);
    sum(x).backward();  // no hook now
    CHECK(calls[x.impl()] == 1);
}
