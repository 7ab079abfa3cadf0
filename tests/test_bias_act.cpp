// The fused bias + leaky_relu (kernels/bias_act.h, bias_leaky_relu, nn::Sequential's fusion).
//
// Kernels: every variant against "reference" on shapes with odd sizes, inner = 1 (a Linear's
// [B, F]) and sizes above the thread threshold; bitwise equal for 1, 2 and 3 threads. Op: the
// composition add + leaky_relu as the oracle, gradcheck and gradgradcheck in float64. Module
// level: a Sequential with fused pairs gives the numbers and gradients of its modules run one
// by one.
#include <omp.h>

#include <random>
#include <string>
#include <vector>

#include "core/nn/nn.h"
#include "helpers.h"
#include "kernels/bias_act.h"

using namespace mg;
using namespace mg::test;
namespace K = mg::kernels;

namespace {

template <class T>
std::vector<T> random_vector(size_t n, std::mt19937_64& rng) {
    std::normal_distribution<double> d(0.0, 1.0);
    std::vector<T> v(n);
    for (T& x : v) x = T(d(rng));
    return v;
}

template <class T>
void check_variants(DType dt, double tol) {
    K::init();
    std::mt19937_64 rng(11);
    const std::vector<K::BiasActShape> shapes = {
        {1, 1, 1, 0.0},  {3, 5, 7, 0.2},   {2, 3, 1, 0.0},      {7, 129, 1, 0.01},  // inner 1: [B, F]
        {4, 13, 49, 0.2}, {5, 3, 17, 0.0}, {128, 32, 784, 0.0}, {300, 400, 1, 0.0},  // above the threshold
    };
    for (const K::BiasActShape& s : shapes) {
        CAPTURE(s.outer);
        CAPTURE(s.channels);
        CAPTURE(s.inner);
        CAPTURE(s.slope);
        const size_t n = size_t(s.outer * s.channels * s.inner);
        const auto y = random_vector<T>(n, rng), b = random_vector<T>(size_t(s.channels), rng);
        const auto g = random_vector<T>(n, rng);
        std::vector<T> out_ref(n), gy_ref(n), gb_ref(size_t(s.channels));
        K::bias_act_forward_table().get("reference", Device::CPU, dt)(s, y.data(), b.data(), out_ref.data());
        K::bias_act_backward_table().get("reference", Device::CPU, dt)(s, out_ref.data(), g.data(), gy_ref.data(),
                                                                        gb_ref.data());
        for (const std::string& name : cpu_variants(K::bias_act_backward_table(), dt)) {
            CAPTURE(name);
            std::vector<T> gy(n), gb(size_t(s.channels));
            K::bias_act_backward_table().get(name, Device::CPU, dt)(s, out_ref.data(), g.data(), gy.data(), gb.data());
            CHECK(gy == gy_ref);  // a select: exact
            for (size_t c = 0; c < gb.size(); ++c)
                CHECK(std::abs(double(gb[c]) - double(gb_ref[c])) <= tol * (1.0 + std::abs(double(gb_ref[c]))));
            // The same bits whatever the thread count.
            const int saved = omp_get_max_threads();
            for (int threads : {1, 2, 3}) {
                omp_set_num_threads(threads);
                std::vector<T> gy2(n), gb2(size_t(s.channels));
                K::bias_act_backward_table().get(name, Device::CPU, dt)(s, out_ref.data(), g.data(), gy2.data(),
                                                                         gb2.data());
                CHECK(gb2 == gb);
            }
            omp_set_num_threads(saved);
        }
        for (const std::string& name : cpu_variants(K::bias_act_forward_table(), dt)) {
            CAPTURE(name);
            std::vector<T> out(n);
            K::bias_act_forward_table().get(name, Device::CPU, dt)(s, y.data(), b.data(), out.data());
            CHECK(out == out_ref);  // one add and one select: exact
        }
    }
}

}  // namespace

TEST_CASE("bias_act kernels: every variant matches the reference, float32 and float64") {
    check_variants<float>(DType::Float32, 1e-5);
    check_variants<double>(DType::Float64, 1e-12);
}

TEST_CASE("bias_act kernels: a negative slope is refused by name") {
    K::init();
    K::BiasActShape s{1, 1, 1, -0.5};
    float y = 1, b = 0, out = 0;
    for (const std::string& name : cpu_variants(K::bias_act_forward_table(), DType::Float32)) {
        CAPTURE(name);
        CHECK_THROWS_WITH_AS(K::bias_act_forward_table().get(name, Device::CPU, DType::Float32)(s, &y, &b, &out),
                             doctest::Contains("slope -0.5 must be >= 0"), mg::Error);
    }
}

TEST_CASE("bias_leaky_relu: the composition's values, one node, and its gradients in float64") {
    manual_seed(3);
    for (double slope : {0.0, 0.2}) {
        CAPTURE(slope);
        for (Shape shape : {Shape{6, 5}, Shape{3, 4, 5, 2}}) {
            CAPTURE(shape.str());
            Tensor y = randn(shape, {DType::Float64}).requires_grad_();
            Tensor b = randn({shape[1]}, {DType::Float64}).requires_grad_();
            std::vector<int64_t> per_channel(size_t(shape.size()), 1);
            per_channel[1] = shape[1];
            Tensor want = leaky_relu(add(y, b.view(Shape(per_channel))), slope);
            Tensor got = bias_leaky_relu(y, b, slope);
            check_close(got, want, 1e-15, 1e-15);
            CHECK(got.grad_fn()->name == "bias_leaky_relu");
            TensorFn f = [slope](const std::vector<Tensor>& x) { return bias_leaky_relu(x[0], x[1], slope); };
            GradcheckResult r = gradcheck(f, {y, b});
            INFO(r.message);
            CHECK(r.ok);
            GradcheckResult r2 = gradgradcheck(f, {y, b});
            INFO(r2.message);
            CHECK(r2.ok);
        }
    }
    CHECK_THROWS_WITH_AS(bias_leaky_relu(zeros({2, 3}), zeros({4})), doctest::Contains("must be [C]"), mg::Error);
    CHECK_THROWS_WITH_AS(bias_leaky_relu(zeros({2, 3}), zeros({3}), -1.0), doctest::Contains("slope -1"), mg::Error);
}

TEST_CASE("nn::Sequential: fused Linear/Conv2d + ReLU/LeakyReLU give the modules' numbers and gradients") {
    manual_seed(8);
    auto conv = std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1);
    auto lin = std::make_shared<nn::Linear>(4 * 5 * 5, 6);
    auto act1 = std::make_shared<nn::LeakyReLU>(0.2);
    auto act2 = std::make_shared<nn::ReLU>();
    auto flat = std::make_shared<nn::Flatten>();
    nn::Sequential net(conv, act1, flat, lin, act2);
    Tensor x = randn({2, 3, 5, 5});
    Tensor fused = net.forward(x);
    CHECK(fused.grad_fn()->name == "bias_leaky_relu");
    sum(mul(fused, fused)).backward();
    std::vector<Tensor> grads;
    for (Tensor& p : net.parameters()) {
        grads.push_back(p.grad().clone());
        p.zero_grad();
    }
    // The same modules one by one.
    Tensor step = act2->forward(lin->forward(flat->forward(act1->forward(conv->forward(x)))));
    check_close(fused, step, 1e-6, 1e-6);
    sum(mul(step, step)).backward();
    std::vector<Tensor> params = net.parameters();
    for (size_t i = 0; i < params.size(); ++i) check_close(grads[i], params[i].grad(), 1e-5, 1e-6);
}
