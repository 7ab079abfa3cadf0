// One harness, driven by a list of ops (the ggml way): each entry names an op and
// builds its float64 inputs and function. Every entry gets a gradcheck; the entries
// on WGAN-GP's second-order path (OP_CASE2) also a gradgradcheck. The activations come
// from core's list (core/ops/activation.h), each with both checks.
//
// The GPU tests compile this file again with MINIGEN_GRADCHECK_ON_CUDA: every case then
// runs its op on CUDA tensors (the inputs move there and the result comes back through
// the differentiable to(device)), so the same list checks the CUDA kernels' forward and
// backward in float64. A case that makes a tensor inside its function puts it on the
// device of its input for that reason.
#include <deque>
#include <functional>
#include <string>

#include "core/diffaug.h"
#include "core/ops/activation.h"
#include "core/ops/attention.h"
#include "core/ops/color.h"
#include "core/ops/gram.h"
#include "helpers.h"

using namespace mg;

namespace {

using V = std::vector<Tensor>;

struct OpCase {
    std::function<std::vector<Tensor>()> inputs;  // float64, requires_grad where checked
    TensorFn f;
};

Tensor input(const Shape& s, double lo = -1.0, double hi = 1.0) {
    return rand(s, {DType::Float64}, lo, hi).requires_grad_();
}
// Values kept away from the kinks of piecewise ops (|x| >= 0.1), so that central
// differences never straddle one.
Tensor away_from_zero(const Shape& s) {
    std::vector<double> v = rand(s, {DType::Float64}, 0.1, 1.0).to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? -1 : 1) * v[i];
    return from_vector(v, s).requires_grad_();
}
Tensor positive(const Shape& s) { return input(s, 0.5, 2.0); }
Tensor labels(const Shape& s, int64_t classes) { return randint(0, classes, s); }

// Each case becomes its own ctest entry: "gradcheck NAME", and for the ops on the
// second-order path (OP_CASE2) also "gradgradcheck NAME".
void run_case(const std::string& name, OpCase c, bool second_order) {
    manual_seed(42);
    std::vector<Tensor> x = c.inputs();
    GradcheckOptions opt;
    if (name == "to_dtype_roundtrip") {  // float32 rounding inside: looser
        opt.eps = 1e-3;
        opt.atol = 1e-4;
    }
#ifdef MINIGEN_GRADCHECK_ON_CUDA
    c.f = [f = c.f](const V& inputs) {
        V on_gpu;
        for (const Tensor& t : inputs) on_gpu.push_back(t.to(Device::CUDA));
        return f(on_gpu).to(Device::CPU);
    };
#endif
    GradcheckResult r = second_order ? gradgradcheck(c.f, x, opt) : gradcheck(c.f, x, opt);
    INFO(name << ": " << r.message);
    CHECK(r.ok);
}

}  // namespace

#ifdef MINIGEN_GRADCHECK_ON_CUDA
#define MG_GRADCHECK_DEVICE "cuda "
#else
#define MG_GRADCHECK_DEVICE ""
#endif

#define OP_CASE_BODY(NAME)                                                   \
    static void NAME##_fill(OpCase& c);                                      \
    static OpCase NAME##_make() {                                            \
        OpCase c;                                                            \
        NAME##_fill(c);                                                      \
        return c;                                                            \
    }                                                                        \
    TEST_CASE(MG_GRADCHECK_DEVICE "gradcheck " #NAME) { run_case(#NAME, NAME##_make(), false); }
#define OP_CASE(NAME) \
    OP_CASE_BODY(NAME) \
    static void NAME##_fill(OpCase& c)
#define OP_CASE2(NAME)                                                             \
    OP_CASE_BODY(NAME)                                                             \
    TEST_CASE(MG_GRADCHECK_DEVICE "gradgradcheck " #NAME) { run_case(#NAME, NAME##_make(), true); } \
    static void NAME##_fill(OpCase& c)

// The activations of core (unary_activations()): "gradcheck NAME" and "gradgradcheck NAME"
// for each, registered at start-up from the list, so that a new activation needs no edit here.
static void run_activation_case() {
    const std::string test = doctest::getContextOptions()->currentTest->m_name;
    const std::string name = test.substr(test.rfind(' ') + 1);
    const bool second_order = test.find("gradgradcheck ") != std::string::npos;
    for (const UnaryActivation& a : unary_activations()) {
        if (name != a.name) continue;
        OpCase c;
        c.inputs = [a] { return V{a.kink_at_zero ? away_from_zero({3, 4}) : input({3, 4}, a.lo, a.hi)}; };
        c.f = [a](const V& x) { return a.apply(x[0]); };
        return run_case(name, c, second_order);
    }
    FAIL("no activation named ", name);
}

static const bool kActivationCasesRegistered = [] {
    static std::deque<std::string> names;  // doctest keeps the pointers
    for (const UnaryActivation& a : unary_activations())
        for (const char* check : {"gradcheck ", "gradgradcheck "}) {
            names.push_back(std::string(MG_GRADCHECK_DEVICE) + check + a.name);
            doctest::detail::regTest(doctest::detail::TestCase(&run_activation_case, __FILE__, __LINE__,
                                                               doctest_detail_test_suite_ns::getCurrentTestSuite()) *
                                     names.back().c_str());
        }
    return true;
}();

OP_CASE2(add) {
    c.inputs = [] { return V{input({3, 4}), input({4})}; };
    c.f = [](const V& x) { return add(x[0], x[1]); };
}

OP_CASE2(sub) {
    c.inputs = [] { return V{input({3, 1}), input({1, 5})}; };
    c.f = [](const V& x) { return sub(x[0], x[1]); };
}

OP_CASE2(mul) {
    c.inputs = [] { return V{input({2, 3, 4}), input({3, 1})}; };
    c.f = [](const V& x) { return mul(x[0], x[1]); };
}

OP_CASE(div) {
    c.inputs = [] { return V{input({3, 4}), positive({4})}; };
    c.f = [](const V& x) { return div(x[0], x[1]); };
}

OP_CASE(neg) {
    c.inputs = [] { return V{input({5})}; };
    c.f = [](const V& x) { return neg(x[0]); };
}

OP_CASE2(pow_scalar) {
    c.inputs = [] { return V{positive({3, 4})}; };
    c.f = [](const V& x) { return pow(x[0], 3.0); };
}

OP_CASE2(pow_half) {
    c.inputs = [] { return V{positive({6})}; };
    c.f = [](const V& x) { return pow(x[0], 0.5); };
}

OP_CASE(pow_tensor) {
    c.inputs = [] { return V{positive({3, 2}), input({2})}; };
    c.f = [](const V& x) { return pow(x[0], x[1]); };
}

OP_CASE2(affine) {
    c.inputs = [] { return V{input({4})}; };
    c.f = [](const V& x) { return 3.0 - x[0] * 2.0; };
}

OP_CASE(exp) {
    c.inputs = [] { return V{input({3, 3})}; };
    c.f = [](const V& x) { return exp(x[0]); };
}

// Inputs over several periods: the gradient is checked where cos and sin change sign.
OP_CASE2(sin) {
    c.inputs = [] { return V{input({3, 4}, -7.0, 7.0)}; };
    c.f = [](const V& x) { return sin(x[0]); };
}

OP_CASE2(cos) {
    c.inputs = [] { return V{input({3, 4}, -7.0, 7.0)}; };
    c.f = [](const V& x) { return cos(x[0]); };
}

OP_CASE(log) {
    c.inputs = [] { return V{positive({3, 3})}; };
    c.f = [](const V& x) { return log(x[0]); };
}

OP_CASE2(sqrt) {
    c.inputs = [] { return V{positive({7})}; };
    c.f = [](const V& x) { return sqrt(x[0]); };
}

OP_CASE(abs) {
    c.inputs = [] { return V{away_from_zero({6})}; };
    c.f = [](const V& x) { return abs(x[0]); };
}

// Colours away from the piecewise kinks: bright ones take the power branches, dark ones
// (below sRGB's 0.04045, so Y/Yn < 0.008856) the linear parts of the gamma and of f.
OP_CASE2(rgb_to_lab) {
    c.inputs = [] { return V{input({1, 3, 2, 2}, 0.06, 1.0)}; };
    c.f = [](const V& x) { return rgb_to_lab(x[0]); };
}
OP_CASE2(rgb_to_lab_dark) {
    c.inputs = [] { return V{input({1, 3, 2, 2}, 0.001, 0.035)}; };
    c.f = [](const V& x) { return rgb_to_lab(x[0]); };
}
OP_CASE2(lab_to_rgb) {
    c.inputs = [] { return V{rgb_to_lab(rand({1, 3, 2, 2}, {DType::Float64}, 0.1, 0.9)).requires_grad_()}; };
    c.f = [](const V& x) { return lab_to_rgb(x[0]); };
}

// The Gram matrix (core/ops/gram.h): matmul of a view with its transpose, scaled.
OP_CASE2(gram_matrix) {
    c.inputs = [] { return V{input({2, 3, 2, 3})}; };
    c.f = [](const V& x) { return gram_matrix(x[0]); };
}

OP_CASE(clamp) {
    c.inputs = [] { return V{input({10}, -2.0, 2.0)}; };
    c.f = [](const V& x) { return clamp(x[0], -0.55, 0.65); };
}

OP_CASE(where) {
    c.inputs = [] { return V{input({2, 3}), input({2, 3})}; };
    c.f = [](const V& x) { return where(gt(x[0], x[1].detach()), x[0], x[1]); };
}

OP_CASE(maximum) {
    c.inputs = [] { return V{input({4, 3}), input({3})}; };
    c.f = [](const V& x) { return maximum(x[0], x[1]); };
}

OP_CASE(minimum) {
    c.inputs = [] { return V{input({4, 3}), input({3})}; };
    c.f = [](const V& x) { return minimum(x[0], x[1]); };
}

OP_CASE2(sum_all) {
    c.inputs = [] { return V{input({3, 4})}; };
    c.f = [](const V& x) { return sum(x[0]); };
}

OP_CASE2(sum_axes) {
    c.inputs = [] { return V{input({2, 3, 4})}; };
    c.f = [](const V& x) { return sum(x[0], {0, 2}, true); };
}

OP_CASE2(mean) {
    c.inputs = [] { return V{input({2, 3, 4})}; };
    c.f = [](const V& x) { return mean(x[0], {1}); };
}

OP_CASE(amax) {
    c.inputs = [] { return V{input({3, 5})}; };
    c.f = [](const V& x) { return amax(x[0], {1}); };
}

OP_CASE(amin) {
    c.inputs = [] { return V{input({3, 5})}; };
    c.f = [](const V& x) { return amin(x[0], {0}, true); };
}

OP_CASE2(var) {
    c.inputs = [] { return V{input({3, 5})}; };
    c.f = [](const V& x) { return var(x[0], {1}); };
}

OP_CASE2(logsumexp) {
    c.inputs = [] { return V{input({3, 5})}; };
    c.f = [](const V& x) { return logsumexp(x[0], 1); };
}

OP_CASE2(norm) {
    c.inputs = [] { return V{input({4, 4})}; };
    c.f = [](const V& x) { return norm(x[0]); };
}

OP_CASE2(matmul_2d) {
    c.inputs = [] { return V{input({3, 4}), input({4, 5})}; };
    c.f = [](const V& x) { return matmul(x[0], x[1]); };
}

OP_CASE2(matmul_transposed) {
    c.inputs = [] { return V{input({4, 3}), input({5, 4})}; };
    c.f = [](const V& x) { return matmul(x[0].t(), x[1].t()); };
}

OP_CASE2(matmul_batched) {
    c.inputs = [] { return V{input({2, 3, 4}), input({4, 2})}; };
    c.f = [](const V& x) { return matmul(x[0], x[1]); };
}

OP_CASE(matmul_vector) {
    c.inputs = [] { return V{input({3, 4}), input({4})}; };
    c.f = [](const V& x) { return matmul(x[0], x[1]); };
}

OP_CASE2(linear) {
    c.inputs = [] { return V{input({5, 4}), input({3, 4}), input({3})}; };
    c.f = [](const V& x) { return linear(x[0], x[1], x[2]); };
}

OP_CASE2(conv2d) {
    c.inputs = [] { return V{input({2, 3, 6, 5}), input({4, 3, 3, 3}), input({4})}; };
    c.f = [](const V& x) { return conv2d(x[0], x[1], x[2], {.stride = 2, .padding = 1}); };
}

OP_CASE2(conv2d_dilated_groups) {
    c.inputs = [] { return V{input({1, 4, 7, 7}), input({6, 2, 3, 2})}; };
    c.f = [](const V& x) { return conv2d(x[0], x[1], {}, {.stride = {1, 2}, .padding = {2, 1}, .dilation = 2, .groups = 2}); };
}

OP_CASE2(conv_transpose2d) {
    c.inputs = [] { return V{input({2, 4, 3, 3}), input({4, 3, 4, 4}), input({3})}; };
    c.f = [](const V& x) { return conv_transpose2d(x[0], x[1], x[2], {.stride = 2, .padding = 1}); };
}

OP_CASE2(conv_transpose2d_groups) {
    c.inputs = [] { return V{input({1, 4, 3, 4}), input({4, 1, 3, 3})}; };
    c.f = [](const V& x) { return conv_transpose2d(x[0], x[1], {}, {.stride = 2, .padding = 1, .groups = 2, .output_padding = 1}); };
}

OP_CASE2(max_pool2d) {  // second order: the differentiable scatter path
    c.inputs = [] { return V{input({2, 2, 6, 6})}; };
    c.f = [](const V& x) { return max_pool2d(x[0], 2); };
}

OP_CASE(max_pool2d_overlap) {
    c.inputs = [] { return V{input({1, 2, 5, 5})}; };
    c.f = [](const V& x) { return max_pool2d(x[0], 3, 2, 1); };
}

OP_CASE2(avg_pool2d) {
    c.inputs = [] { return V{input({2, 2, 6, 6})}; };
    c.f = [](const V& x) { return avg_pool2d(x[0], 3, 2, 1); };
}

OP_CASE2(batch_norm_train) {
    c.inputs = [] { return V{input({4, 3, 2, 2}), input({3}), input({3})}; };
    c.f = [](const V& x) {
             Tensor rm = zeros({3}, {DType::Float64, x[0].device()}), rv = ones({3}, {DType::Float64, x[0].device()});
             return batch_norm(x[0], rm, rv, x[1], x[2], true);
         };
}

OP_CASE(batch_norm_eval) {
    c.inputs = [] { return V{input({4, 3}), input({3}), input({3})}; };
    c.f = [](const V& x) {
             Tensor rm = full({3}, 0.1, {DType::Float64, x[0].device()}), rv = full({3}, 0.7, {DType::Float64, x[0].device()});
             return batch_norm(x[0], rm, rv, x[1], x[2], false);
         };
}

OP_CASE2(layer_norm) {
    c.inputs = [] { return V{input({3, 2, 4}), input({2, 4}), input({2, 4})}; };
    c.f = [](const V& x) { return layer_norm(x[0], {2, 4}, x[1], x[2]); };
}

OP_CASE2(softmax) {
    c.inputs = [] { return V{input({3, 5})}; };
    c.f = [](const V& x) { return softmax(x[0], 1); };
}

OP_CASE2(log_softmax) {
    c.inputs = [] { return V{input({3, 5})}; };
    c.f = [](const V& x) { return log_softmax(x[0], -1); };
}

// The fused kernels forward and backward (first order), the composed gradient (second order).
OP_CASE2(causal_attention) {
    c.inputs = [] { return V{input({1, 2, 6, 4}, -2, 2), input({1, 2, 6, 4}, -2, 2), input({1, 2, 6, 4})}; };
    c.f = [](const V& x) { return causal_attention(x[0], x[1], x[2]); };
}

// Past one 64-row tile, with a head size that is not a whole vector.
OP_CASE(causal_attention_two_tiles) {
    c.inputs = [] { return V{input({1, 1, 67, 3}, -2, 2), input({1, 1, 67, 3}, -2, 2), input({1, 1, 67, 3})}; };
    c.f = [](const V& x) { return causal_attention(x[0], x[1], x[2], 0.7); };
}

OP_CASE2(cross_entropy) {
    c.inputs = [] { return V{input({4, 5})}; };
    c.f = [](const V& x) { return cross_entropy(x[0], from_vector<int64_t>({0, 4, 2, 2}).to(x[0].device())); };
}

OP_CASE(cross_entropy_spatial) {
    c.inputs = [] { return V{input({2, 4, 3, 3})}; };
    c.f = [](const V& x) { manual_seed(7); return cross_entropy(x[0], labels({2, 3, 3}, 4).to(x[0].device())); };
}

OP_CASE2(bce_with_logits) {
    c.inputs = [] { return V{input({6}, -3, 3), rand({6}, {DType::Float64})}; };
    c.f = [](const V& x) { return binary_cross_entropy_with_logits(x[0], x[1]); };
}

OP_CASE2(cross_entropy_options) {  // composed of ops: ignored rows, smoothing and class weights
    c.inputs = [] { return V{input({4, 5})}; };
    c.f = [](const V& x) {
        const Device d = x[0].device();
        CrossEntropyOptions o{.ignore_index = 2, .label_smoothing = 0.2,
                              .weight = from_vector<double>({0.5, 1.0, 1.5, 2.0, 0.7}).to(d)};
        return cross_entropy(x[0], from_vector<int64_t>({0, 2, 4, 1}).to(d), o);
    };
}

OP_CASE2(bce_with_logits_pos_weight) {
    c.inputs = [] { return V{input({2, 3}, -3, 3), rand({2, 3}, {DType::Float64}), positive({3})}; };
    c.f = [](const V& x) { return binary_cross_entropy_with_logits(x[0], x[1], x[2]); };
}

OP_CASE2(lstm_cell) {  // second order: the create_graph backward in ops
    c.inputs = [] { return V{input({3, 4 * 4}, -2, 2), input({3, 4}, -2, 2)}; };
    c.f = [](const V& x) { return lstm_cell(x[0], x[1]); };
}

OP_CASE2(skew) {
    c.inputs = [] { return V{input({2, 2, 3, 4})}; };
    c.f = [](const V& x) { return skew(x[0]); };
}

OP_CASE2(unskew) {
    c.inputs = [] { return V{input({2, 2, 3, 6})}; };
    c.f = [](const V& x) { return unskew(x[0]); };
}

OP_CASE(max_pool2d_with_indices) {
    c.inputs = [] { return V{input({1, 2, 5, 5})}; };
    c.f = [](const V& x) { return max_pool2d_with_indices(x[0], 3, 2, 1).values; };
}

OP_CASE2(mse) {
    c.inputs = [] { return V{input({3, 4}), input({3, 4})}; };
    c.f = [](const V& x) { return mse_loss(x[0], x[1]); };
}

OP_CASE2(gaussian_kl) {
    c.inputs = [] { return V{input({3, 4}), input({3, 4})}; };
    c.f = [](const V& x) { return gaussian_kl(x[0], x[1]); };
}

OP_CASE2(embedding) {
    c.inputs = [] { return V{input({5, 3})}; };
    c.f = [](const V& x) { return embedding(from_vector<int64_t>({1, 4, 1, 0}, {2, 2}).to(x[0].device()), x[0]); };
}

OP_CASE2(gather_last) {
    c.inputs = [] { return V{input({3, 4})}; };
    c.f = [](const V& x) { return gather_last(x[0], from_vector<int64_t>({0, 3, 1, 1, 2, 2}, {3, 2}).to(x[0].device())); };
}

OP_CASE2(reshape_permute) {
    c.inputs = [] { return V{input({2, 3, 4})}; };
    c.f = [](const V& x) { return x[0].permute({2, 0, 1}).reshape({4, 6}); };
}

OP_CASE2(transpose_contiguous) {
    c.inputs = [] { return V{input({3, 4})}; };
    c.f = [](const V& x) { return x[0].t().contiguous(); };
}

OP_CASE2(slice_step) {
    c.inputs = [] { return V{input({6, 4})}; };
    c.f = [](const V& x) { return x[0].slice(0, 1, 6, 2); };
}

OP_CASE(select) {
    c.inputs = [] { return V{input({3, 4})}; };
    c.f = [](const V& x) { return x[0].select(1, -1); };
}

OP_CASE2(expand) {
    c.inputs = [] { return V{input({3, 1})}; };
    c.f = [](const V& x) { return x[0].expand({2, 3, 4}); };
}

OP_CASE(squeeze_unsqueeze) {
    c.inputs = [] { return V{input({3, 1, 2})}; };
    c.f = [](const V& x) { return x[0].squeeze(1).unsqueeze(0); };
}

OP_CASE2(cat) {
    c.inputs = [] { return V{input({2, 3}), input({1, 3})}; };
    c.f = [](const V& x) { return cat({x[0], x[1]}, 0); };
}

OP_CASE(stack) {
    c.inputs = [] { return V{input({2, 3}), input({2, 3})}; };
    c.f = [](const V& x) { return stack({x[0], x[1]}, 1); };
}

OP_CASE(split) {
    c.inputs = [] { return V{input({5, 2})}; };
    c.f = [](const V& x) { auto p = split(x[0], 2, 0); return mul(p[2], p[0].slice(0, 0, 1)); };
}

OP_CASE(chunk) {
    c.inputs = [] { return V{input({2, 6})}; };
    c.f = [](const V& x) { auto p = chunk(x[0], 3, 1); return add(p[0], mul(p[1], p[2])); };
}

OP_CASE(dropout) {
    c.inputs = [] { return V{input({4, 5})}; };
    c.f = [](const V& x) { manual_seed(3); return dropout(x[0], 0.4); };
}

OP_CASE(to_dtype_roundtrip) {
    c.inputs = [] { return V{input({4})}; };
    c.f = [](const V& x) { return x[0].to(DType::Float32).to(DType::Float64); };
}

// DiffAugment (core/diffaug.h): fixed draws, so every call augments alike; tanh after it so
// that the second derivative is not zero.
OP_CASE2(diff_augment) {
    c.inputs = [] { return V{input({2, 3, 6, 5})}; };
    c.f = [](const V& x) {
        data::RandomStream draws(5);
        return tanh(diff_augment(x[0], parse_diffaug("color,translation,cutout"), draws));
    };
}

#ifndef MINIGEN_GRADCHECK_ON_CUDA
TEST_CASE("gradcheck catches a wrong gradient") {
    // A deliberately broken op: forward x^2, backward claims 3x. The harness must fail it.
    auto broken = [](const std::vector<Tensor>& x) {
        Tensor y = square(x[0].detach());
        return autograd::record("broken", y, {x[0]}, [](const Tensor& g, const autograd::Saved& s) {
            return autograd::Grads{g * (3.0 * s.input(0))};
        });
    };
    manual_seed(1);
    GradcheckResult r = gradcheck(broken, {input({3})});
    CHECK_FALSE(r.ok);
    CHECK(r.message.find("analytic") != std::string::npos);
}
#endif
