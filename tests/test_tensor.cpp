// Tensor basics: factories, views that share storage, broadcasting, in-place
// rules, printing, the RNG, and the errors bad calls get.
#include "helpers.h"
#include "kernels/random.h"

using namespace mg;
using mg::test::check_close;
using mg::test::error_of;

TEST_CASE("factories and metadata") {
    Tensor z = zeros({2, 3});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.strides() == Shape{3, 1});
    CHECK(z.dtype() == DType::Float32);
    CHECK(z.numel() == 6);
    CHECK(z.is_contiguous());
    CHECK(sum(ones({4, 5})).item() == 20.0);
    CHECK(full({2}, 2.5, {DType::Float64}).to_vector<double>() == std::vector<double>{2.5, 2.5});
    CHECK(arange(0, 5).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
    CHECK(arange(1, 2, 0.25, {DType::Float64}).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
    Tensor v = from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
    CHECK(v.dtype() == DType::Int64);
    CHECK(v.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4});
    CHECK(scalar_tensor(3.0).dim() == 0);
    CHECK(scalar_tensor(3.0).item() == 3.0);
}

TEST_CASE("views share storage") {
    Tensor x = arange(0, 12).reshape({3, 4});
    Tensor t = x.t();
    CHECK(t.shape() == Shape{4, 3});
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.impl()->storage == x.impl()->storage);
    CHECK(t.contiguous().to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});

    Tensor s = x.slice(1, 1, 4, 2);  // columns 1 and 3
    CHECK(s.shape() == Shape{3, 2});
    CHECK(s.to_vector<float>() == std::vector<float>{1, 3, 5, 7, 9, 11});
    s.fill_(-1.0);  // writes through to x
    CHECK(x.to_vector<float>() == std::vector<float>{0, -1, 2, -1, 4, -1, 6, -1, 8, -1, 10, -1});

    Tensor p = arange(0, 24).reshape({2, 3, 4}).permute({2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.strides() == Shape{1, 12, 4});
    CHECK(p.select(0, 1).to_vector<float>() == std::vector<float>{1, 5, 9, 13, 17, 21});

    Tensor e = from_vector<float>({1, 2, 3}).reshape({3, 1}).expand({3, 4});
    CHECK(e.strides() == Shape{1, 0});
    CHECK(sum(e).item() == 24.0);
    CHECK(x.unsqueeze(0).shape() == Shape{1, 3, 4});
    CHECK(x.unsqueeze(0).squeeze(0).shape() == Shape{3, 4});
    CHECK(x.view({-1}).shape() == Shape{12});
    CHECK(x.flatten().shape() == Shape{12});
    // A transposed tensor cannot be viewed flat, but reshape copies.
    CHECK(error_of([&] { t.view({12}); }).find("view:") != std::string::npos);
    CHECK(t.reshape({12}).to_vector<float>()[1] == 4.0f);
}

TEST_CASE("broadcasting follows NumPy") {
    Tensor a = arange(0, 3).reshape({3, 1});
    Tensor b = arange(0, 4);
    Tensor c = add(a, b);
    CHECK(c.shape() == Shape{3, 4});
    CHECK(c.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5});
    CHECK(mul(ones({2, 1, 3}), ones({4, 1})).shape() == Shape{2, 4, 3});
    std::string err = error_of([] { add(ones({2, 3}), ones({4})); });
    CHECK(err.find("add") != std::string::npos);
    CHECK(err.find("[2, 3]") != std::string::npos);
    CHECK(err.find("[4]") != std::string::npos);
}

TEST_CASE("elementwise values against the C library") {
    Tensor x = from_vector<double>({-2.0, -0.5, 0.0, 0.7, 3.0});
    auto expect = [&](const Tensor& y, double (*f)(double)) {
        std::vector<double> v = x.to_vector<double>(), out = y.to_vector<double>();
        for (size_t i = 0; i < v.size(); ++i) CHECK(out[i] == doctest::Approx(f(v[i])).epsilon(1e-12));
    };
    expect(exp(x), [](double v) { return std::exp(v); });
    expect(tanh(x), [](double v) { return std::tanh(v); });
    expect(sigmoid(x), [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
    expect(softplus(x), [](double v) { return std::log1p(std::exp(v)); });
    expect(relu(x), [](double v) { return v > 0 ? v : 0.0; });
    expect(leaky_relu(x, 0.2), [](double v) { return v > 0 ? v : 0.2 * v; });
    expect(elu(x), [](double v) { return v > 0 ? v : std::expm1(v); });
    expect(gelu(x), [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); });
    expect(abs(x), [](double v) { return std::abs(v); });
    expect(clamp(x, -1, 1), [](double v) { return std::min(1.0, std::max(-1.0, v)); });
    expect(sin(x), [](double v) { return std::sin(v); });
    expect(cos(x), [](double v) { return std::cos(v); });
    // float32 over many periods, strided (a transposed view) as well as dense.
    Tensor xf = mul(arange(-12, 12), 8.3).reshape({4, 6}).transpose(0, 1);
    for (const Tensor& in : {xf, xf.contiguous()}) {
        std::vector<float> v = in.contiguous().to_vector<float>();
        std::vector<float> s = sin(in).contiguous().to_vector<float>(), c = cos(in).contiguous().to_vector<float>();
        for (size_t i = 0; i < v.size(); ++i) {
            CHECK(s[i] == doctest::Approx(std::sin(v[i])).epsilon(1e-6));
            CHECK(c[i] == doctest::Approx(std::cos(v[i])).epsilon(1e-6));
        }
    }
    // Large inputs stay finite where a naive formula overflows.
    CHECK(softplus(from_vector<float>({1000.f})).item() == 1000.0);
    CHECK(sigmoid(from_vector<float>({-1000.f})).item() == 0.0);
}

TEST_CASE("reductions") {
    Tensor x = arange(0, 24, 1, {DType::Float64}).reshape({2, 3, 4});
    CHECK(sum(x).item() == 276.0);
    CHECK(sum(x, {0, 2}).to_vector<double>() == std::vector<double>{60, 92, 124});
    CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
    CHECK(mean(x, {-1}).to_vector<double>()[0] == 1.5);
    CHECK(amax(x, {2}).to_vector<double>() == std::vector<double>{3, 7, 11, 15, 19, 23});
    CHECK(amin(x).item() == 0.0);
    CHECK(var(from_vector<double>({1, 2, 3, 4})).item() == doctest::Approx(5.0 / 3.0));
    CHECK(var(from_vector<double>({1, 2, 3, 4}), {}, 0).item() == doctest::Approx(1.25));
    CHECK(argmax(from_vector<float>({1, 5, 5, 2}, {2, 2}), 1).to_vector<int64_t>() == std::vector<int64_t>{1, 0});
    // A strided view reduces the same as its contiguous copy.
    Tensor t = x.permute({2, 0, 1});
    check_close(sum(t, {0, 2}), sum(t.contiguous(), {0, 2}));
    CHECK(logsumexp(from_vector<double>({1000, 1000}), 0).item() == doctest::Approx(1000 + std::log(2.0)));
}

TEST_CASE("matmul against a plain loop, all layouts") {
    manual_seed(5);
    Tensor a = randn({2, 5, 7}, {DType::Float64}), b = randn({7, 3}, {DType::Float64});
    Tensor c = matmul(a, b);
    std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c.to_vector<double>();
    for (int n = 0; n < 2; ++n)
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 3; ++j) {
                double s = 0;
                for (int k = 0; k < 7; ++k) s += av[size_t(n * 35 + i * 7 + k)] * bv[size_t(k * 3 + j)];
                CHECK(cv[size_t(n * 15 + i * 3 + j)] == doctest::Approx(s).epsilon(1e-12));
            }
    // Transposed views are read in place and give the same product.
    Tensor at = a.transpose(1, 2).contiguous().transpose(1, 2);
    check_close(matmul(at, b), c, 1e-12, 1e-12);
    check_close(matmul(a, b.t().contiguous().t()), c, 1e-12, 1e-12);
    CHECK(error_of([&] { matmul(a, randn({6, 3}, {DType::Float64})); }).find("inner dimensions") != std::string::npos);
}

TEST_CASE("in-place rules") {
    Tensor w = ones({3}).requires_grad_();
    CHECK(error_of([&] { w.fill_(2.0); }).find("requires grad") != std::string::npos);
    {
        autograd::NoGradGuard no_grad;
        w.mul_(2.0);  // an optimizer update
    }
    CHECK(w.to_vector<float>() == std::vector<float>{2, 2, 2});
    // A tensor saved for backward and then modified in place is caught at backward.
    Tensor x = ones({3}).requires_grad_();
    Tensor y = from_vector<float>({1, 2, 3});
    Tensor loss = sum(mul(x, y));
    y.add_(ones({3}));
    CHECK(error_of([&] { loss.backward(); }).find("modified in place") != std::string::npos);
}

TEST_CASE("dtype conversions and copies") {
    Tensor x = from_vector<float>({1.5f, -2.25f});
    CHECK(x.to(DType::Float64).to_vector<double>() == std::vector<double>{1.5, -2.25});
    CHECK(x.to(DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{1, -2});
    Tensor dst = zeros({2, 2});
    dst.copy_(from_vector<float>({7, 8}));  // broadcast copy
    CHECK(dst.to_vector<float>() == std::vector<float>{7, 8, 7, 8});
    CHECK(one_hot(from_vector<int64_t>({2, 0}), 3).to_vector<float>() == std::vector<float>{0, 0, 1, 1, 0, 0});
}

TEST_CASE("random numbers are reproducible and well distributed") {
    manual_seed(123);
    Tensor a = randn({100000});
    manual_seed(123);
    Tensor b = randn({100000});
    CHECK(a.to_vector<float>() == b.to_vector<float>());
    CHECK(mean(a).item() == doctest::Approx(0.0).epsilon(0.01));
    CHECK(var(a).item() == doctest::Approx(1.0).epsilon(0.02));
    Tensor u = rand({100000}, {DType::Float64});
    CHECK(amin(u).item() >= 0.0);
    CHECK(amax(u).item() < 1.0);
    CHECK(mean(u).item() == doctest::Approx(0.5).epsilon(0.01));
    // The stream is a pure function of (seed, offset): state round-trips.
    GeneratorState st = default_generator().state();
    Tensor c = rand({10});
    default_generator().set_state(st);
    CHECK(rand({10}).to_vector<float>() == c.to_vector<float>());
    // Philox-4x32-10 known-answer test (Random123's kat_vectors: counter 0, key 0).
    auto block = kernels::Philox::block(0, 0);
    CHECK(block[0] == 0x6627e8d5u);
    CHECK(block[1] == 0xe169c58du);
    CHECK(block[2] == 0xbc57ac4cu);
    CHECK(block[3] == 0x9b00dbd8u);
    Tensor r = randint(0, 10, {1000});
    CHECK(amin(r).item() >= 0);
    CHECK(amax(r).item() <= 9);
}

TEST_CASE("printing is readable") {
    std::string s = from_vector<float>({1, 2, 3, 4}, {2, 2}).str();
    CHECK(s.find("[[1.0000, 2.0000],") != std::string::npos);
    CHECK(s.find("shape=[2, 2]") != std::string::npos);
    std::string big = arange(0, 100).str();
    CHECK(big.find("...") != std::string::npos);
    CHECK(ones({2}).requires_grad_().str().find("requires_grad") != std::string::npos);
}

TEST_CASE("bad calls get clear errors") {
    CHECK(error_of([] { add(ones({2}), ones({2}, {DType::Float64})); }).find("dtype mismatch") != std::string::npos);
    CHECK(error_of([] { conv2d(ones({1, 3, 8, 8}), ones({4, 2, 3, 3})); }).find("channels") != std::string::npos);
    CHECK(error_of([] { ones({2, 3}).transpose(0, 5); }).find("out of range") != std::string::npos);
    CHECK(error_of([] { embedding(from_vector<int64_t>({0, 9}), ones({5, 2})); }).find("index out of range") !=
          std::string::npos);
    CHECK(error_of([] { cross_entropy(ones({2, 3}), from_vector<int64_t>({0, 3})); }).find("out of range") !=
          std::string::npos);
    CHECK(error_of([] { ones({2, 3}).reshape({4, 2}); }).find("cannot reshape") != std::string::npos);
    CHECK(error_of([] { ones({2}).item(); }).find("item") != std::string::npos);
    CHECK(error_of([] { ones({2}, {DType::Float32, Device::CUDA}); }).find("cuda") != std::string::npos);
    CHECK(error_of([] { linear(ones({2, 3}), ones({4, 5})); }).find("linear") != std::string::npos);
    CHECK(error_of([] { max_pool2d(ones({1, 1, 2, 2}), 3); }).find("max_pool2d") != std::string::npos);
    CHECK(error_of([] { kernels::select("matmul_nonexistent", "x"); }).find("no op named") != std::string::npos);
    CHECK(error_of([] { kernels::select("add", "nonexistent"); }).find("no variant") != std::string::npos);
}
