// DiffAugment (core/diffaug.h): the reference implementation's formulas (fixtures from
// tests/reference/make_augment_fixtures.py, the same draws fed to both sides), first and
// second derivatives, seeds, and the policy parser's errors.
#include <chrono>

#include "core/autograd.h"
#include "core/diffaug.h"
#include "core/gradcheck.h"
#include "core/io/npy.h"
#include "core/ops.h"
#include "core/runtime.h"
#include "image_test_util.h"

using namespace mg;
using mg::test::image_fixture;

namespace {

DiffAugParams fixture_params() {
    const std::vector<double> color = io::read_npy(image_fixture("diffaug_color.npy")).to_vector<double>();
    const std::vector<int64_t> ints = io::read_npy(image_fixture("diffaug_shift_cut.npy")).to_vector<int64_t>();
    const size_t n = color.size() / 3;
    DiffAugParams p;
    p.brightness.assign(color.begin(), color.begin() + long(n));
    p.saturation.assign(color.begin() + long(n), color.begin() + long(2 * n));
    p.contrast.assign(color.begin() + long(2 * n), color.end());
    std::vector<int64_t>* fields[4] = {&p.shift_h, &p.shift_w, &p.cutout_h, &p.cutout_w};
    for (size_t f = 0; f < 4; ++f) fields[f]->assign(ints.begin() + long(f * n), ints.begin() + long((f + 1) * n));
    return p;
}

}  // namespace

TEST_CASE("diffaug: color,translation,cutout matches the reference formulas on the same draws") {
    const Tensor x = io::read_npy(image_fixture("diffaug_x.npy"));
    const Tensor want = io::read_npy(image_fixture("diffaug_y.npy"));
    const Tensor got = diff_augment(x, parse_diffaug("color,translation,cutout"), fixture_params());
    REQUIRE(got.shape() == want.shape());
    const double err = amax(abs(got - want)).item();
    INFO("max |error| " << err);
    CHECK(err < 1e-12);
    // float32 gives the same to float precision.
    const Tensor got32 = diff_augment(x.to(DType::Float32), parse_diffaug("color,translation,cutout"), fixture_params());
    CHECK(amax(abs(got32.to(DType::Float64) - want)).item() < 1e-5);
}

TEST_CASE("diffaug: gradcheck and gradgradcheck through every policy (float64)") {
    const DiffAugPolicy all = parse_diffaug("color,translation,cutout");
    data::RandomStream random(11);
    const DiffAugParams p = draw_diffaug_params(all, 2, 6, 5, random);
    for (const char* spec : {"color", "translation", "cutout", "color,translation,cutout"}) {
        const DiffAugPolicy policy = parse_diffaug(spec);
        manual_seed(3);
        std::vector<Tensor> x = {rand({2, 3, 6, 5}, {DType::Float64}, -1, 1).requires_grad_()};
        // A nonlinearity after the augmentation, so that the second derivative is not zero.
        TensorFn f = [&](const std::vector<Tensor>& in) { return tanh(diff_augment(in[0], policy, p)); };
        GradcheckResult r1 = gradcheck(f, x), r2 = gradgradcheck(f, x);
        INFO(spec << ": " << r1.message << " / " << r2.message);
        CHECK(r1.ok);
        CHECK(r2.ok);
    }
}

TEST_CASE("diffaug: a seed reproduces a batch; draws lie in the reference's ranges") {
    const DiffAugPolicy all = parse_diffaug("translation,cutout,color");
    REQUIRE(all.ops.size() == 3);
    CHECK(all.ops[0] == DiffAugOp::translation);
    data::RandomStream a(9), b(9), c(10);
    const Tensor x = rand({4, 3, 16, 16}, {DType::Float32}, -1, 1);
    CHECK(amax(abs(diff_augment(x, all, a) - diff_augment(x, all, b))).item() == 0.0);
    CHECK(amax(abs(diff_augment(x, all, c) - diff_augment(x, all, b))).item() > 0.0);
    data::RandomStream r(1);
    const DiffAugParams p = draw_diffaug_params(all, 400, 16, 24, r);
    for (size_t i = 0; i < 400; ++i) {
        CHECK((p.brightness[i] >= -0.5 && p.brightness[i] < 0.5));
        CHECK((p.saturation[i] >= 0 && p.saturation[i] < 2));
        CHECK((p.contrast[i] >= 0.5 && p.contrast[i] < 1.5));
        CHECK((p.shift_h[i] >= -2 && p.shift_h[i] <= 2 && p.shift_w[i] >= -3 && p.shift_w[i] <= 3));
        CHECK((p.cutout_h[i] >= 0 && p.cutout_h[i] < 17 && p.cutout_w[i] >= 0 && p.cutout_w[i] < 25));
    }
    CHECK(*std::min_element(p.shift_w.begin(), p.shift_w.end()) == -3);
    CHECK(*std::max_element(p.shift_w.begin(), p.shift_w.end()) == 3);
    CHECK(parse_diffaug("").empty());
    CHECK(parse_diffaug("none").empty());
}

TEST_CASE("diffaug: bad policies and shapes are errors naming the value and the valid names") {
    CHECK_THROWS_WITH_AS(parse_diffaug("color,flip"),
                         doctest::Contains("--diffaug color,flip: unknown policy 'flip'; valid: color, translation, cutout"),
                         Error);
    CHECK_THROWS_WITH_AS(parse_diffaug("color,,cutout"), doctest::Contains("unknown policy ''"), Error);
    CHECK_THROWS_WITH_AS(parse_diffaug("cutout,cutout"), doctest::Contains("'cutout' is named twice"), Error);
    DiffAugParams none;
    CHECK_THROWS_WITH_AS(diff_augment(zeros({2, 3, 4, 4}), parse_diffaug("color"), none),
                         doctest::Contains("0 brightness parameters for a batch of 2"), Error);
    data::RandomStream r(1);
    CHECK_THROWS_WITH_AS(diff_augment(zeros({3, 4, 4}), parse_diffaug("color"), r), doctest::Contains("[N, C, H, W]"), Error);
}

TEST_CASE("diffaug: forward and backward time of a [64, 3, 64, 64] batch" * doctest::skip(std::getenv("MINIGEN_DIFFAUG_TIME") == nullptr)) {
    // MINIGEN_DIFFAUG_TIME=1 minigen_tests -tc='*diffaug: forward*' (run it with OMP_NUM_THREADS=1 for one thread)
    const DiffAugPolicy all = parse_diffaug("color,translation,cutout");
    Tensor x = rand({64, 3, 64, 64}, {DType::Float32}, -1, 1).requires_grad_();
    data::RandomStream r(1);
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        diff_augment(x, all, r).sum().backward();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    MESSAGE("diff_augment color,translation,cutout [64,3,64,64] forward+backward: " << best * 1e3 << " ms (best of 5)");
}
