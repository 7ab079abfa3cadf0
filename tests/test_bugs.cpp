// The lab of classic mistakes (models/bugs.h): the registry's refusals, and that each bug
// changes exactly what it names, against a reference computed here.
#include <map>
#include <set>

#include "core/autograd.h"
#include "core/nn/nn.h"
#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "models/bugs.h"
#include "models/capabilities.h"
#include "models/gan/adversarial.h"
#include "models/gan/networks.h"
#include "models/gan/penalties.h"
#include "models/health.h"
#include "models/pixelcnn/pixelcnn_net.h"
#include "models/registry.h"
#include "models/vae/objective.h"
#include "models/vae/vae_model.h"

using namespace mg;
using models::Bug;

namespace {

std::vector<double> values(nn::Module& m) {
    std::vector<double> v;
    for (Tensor& p : m.parameters())
        for (double x : p.to_vector<double>()) v.push_back(x);
    return v;
}

// A small conv critic on 4x4 images with 2 channels, float64, and a batch of 3 real and fake
// images with their per-sample mixing weights e.
struct PenaltySetup {
    std::shared_ptr<nn::Sequential> critic;
    models::Critic D;
    Tensor real, fake, e;
    explicit PenaltySetup(uint64_t seed) {
        manual_seed(31);
        critic = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(2, 3, 3, 1, 1),
                                                  std::make_shared<nn::LeakyReLU>(0.2),
                                                  std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(3 * 16, 1));
        critic->to(DType::Float64);
        D = [c = critic](const Tensor& x) { return (*c)(x); };
        manual_seed(seed);
        real = randn({3, 2, 4, 4}, {DType::Float64});
        fake = randn({3, 2, 4, 4}, {DType::Float64});
        e = rand({3}, {DType::Float64});
    }
};

}  // namespace

TEST_CASE("bugs: names, the models they apply to, the monitors that flag them, and the refusals") {
    std::set<std::string> monitors;
    for (const models::MonitorInfo& m : models::all_monitors()) monitors.insert(m.name);
    for (const models::BugInfo& b : models::all_bugs()) {
        CAPTURE(b.name);
        CHECK(models::parse_bug(b.name) == b.bug);
        CHECK(models::bug_name(b.bug) == b.name);
        std::string list = b.models;
        for (size_t at = 0; at < list.size();) {  // every model named is a model
            size_t comma = list.find(',', at);
            std::string name = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
            name.erase(0, name.find_first_not_of(' '));
            CHECK_NOTHROW(models::find_model(name));
            CHECK_NOTHROW(models::check_bug_applies(b.bug, name));
            at = comma == std::string::npos ? list.size() : comma + 1;
        }
        std::string flagged = b.monitor;  // every monitor named exists
        for (size_t at = 0; at < flagged.size();) {
            size_t comma = flagged.find(',', at);
            std::string name = flagged.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
            name.erase(0, name.find_first_not_of(' '));
            CHECK(monitors.count(name) == 1);
            at = comma == std::string::npos ? flagged.size() : comma + 1;
        }
        CHECK(test::contains(models::bug_table(), b.name));
    }
    CHECK(models::parse_bug("none") == Bug::None);
    const std::string unknown = test::error_of([] { models::parse_bug("no-such-bug"); });
    CHECK(test::contains(unknown, "unknown bug 'no-such-bug'"));
    CHECK(test::contains(unknown, "labels-swapped"));
    const std::string wrong = test::error_of([] { models::check_bug_applies(Bug::MaskBFirst, "dcgan"); });
    CHECK(test::contains(wrong, "--bug mask-b-first: applies to pixelcnn, not 'dcgan'"));
    CHECK(test::contains(wrong, "checkerboard"));  // dcgan's own bugs are listed

    // Through the registry: a model refuses a bug that is not its own, and records its own.
    models::ModelConfig config;
    config.bug = Bug::VaeKlSum;
    CHECK(test::contains(test::error_of([&] { models::find_model("gan2d").create(config); }), "applies to vae"));
    config.bug = Bug::LabelsSwapped;
    CHECK(models::find_model("gan2d").create(config)->config().at("bug") == "labels-swapped");
    CHECK_FALSE(models::find_model("gan2d").create(models::ModelConfig{})->config().contains("bug"));

    nlohmann::json options = {{"bug", "d-lr-10x"}, {"width", 8}};
    CHECK(models::take_bug(options, "x") == Bug::DLr10x);
    CHECK(options == nlohmann::json{{"width", 8}});
    options = {{"bug", 3}};
    CHECK(test::contains(test::error_of([&] { models::take_bug(options, "--config f"); }), "--config f: 'bug' must be"));
}

TEST_CASE("bugs: gp-pixel-mix mixes per pixel; per-sample weights spread over the pixels give the correct penalty") {
    PenaltySetup p(5);
    const models::Critic& D = p.D;
    const Tensor &real = p.real, &fake = p.fake, &e = p.e;
    const double correct = models::gradient_penalty(D, real, fake, e).penalty.item();
    Tensor e_spread = e.reshape({3, 1, 1, 1}).expand({3, 2, 4, 4}).contiguous();
    CHECK(models::gradient_penalty(D, real, fake, e_spread, Bug::GpPixelMix).penalty.item() ==
          doctest::Approx(correct).epsilon(1e-12));
    Tensor e_pixels = rand({3, 2, 4, 4}, {DType::Float64});
    CHECK(models::gradient_penalty(D, real, fake, e_pixels, Bug::GpPixelMix).penalty.item() !=
          doctest::Approx(correct).epsilon(1e-6));
    CHECK(test::contains(test::error_of([&] { models::gradient_penalty(D, real, fake, e, Bug::GpPixelMix); }),
                   "a coefficient per pixel"));

    // The step draws [B, C, H, W] coefficients: a given [B] is refused, naming the shape.
    models::ModelConfig config;
    config.bug = Bug::GpPixelMix;
    config.options = {{"width", 4}, {"batch_size", 2}, {"image_size", 16}, {"channels", 1}};
    config.options["data"] = "npy:/nonexistent.npy";  // not read: the step gets its batch here
    auto model = models::find_model("wgan-gp").create(config);
    auto* gan = dynamic_cast<models::AdversarialModel*>(model.get());
    REQUIRE(gan != nullptr);
    data::Batch b;
    b.images = rand({2, 1, 16, 16}, {}, -1, 1);
    models::StepNoise noise;
    noise.gp_e = rand({2});
    CHECK(test::contains(test::error_of([&] { gan->step(b, noise); }), "gp_e is [2], the step needs [2, 1, 16, 16]"));
    noise.gp_e = rand({2, 1, 16, 16});
    CHECK_NOTHROW(gan->step(b, noise));
}

TEST_CASE("bugs: gp-channel-norm and gp-on-sigmoid penalise the wrong norms; the reported norm stays the logit's") {
    PenaltySetup p(6);
    const models::Critic& D = p.D;
    const Tensor &real = p.real, &fake = p.fake, &e = p.e;
    Tensor w = e.reshape({3, 1, 1, 1});
    Tensor xhat = add(mul(w, real), mul(affine(w, -1.0, 1.0), fake)).detach().requires_grad_();
    Tensor logits = D(xhat);
    const std::vector<double> g = autograd::grad({sum(logits)}, {xhat})[0].to_vector<double>();
    const std::vector<double> l = logits.detach().to_vector<double>();
    // Per sample: the full norm; per pixel: the norm over the 2 channels.
    double channel_want = 0, full_mean = 0, sigmoid_want = 0;
    for (int64_t b = 0; b < 3; ++b) {
        double full = 0;
        for (int64_t p = 0; p < 16; ++p) {
            const double a = g[size_t(b * 32 + p)], c = g[size_t(b * 32 + 16 + p)];
            full += a * a + c * c;
            channel_want += std::pow(std::sqrt(a * a + c * c) - 1, 2) / 48.0;
        }
        full_mean += std::sqrt(full) / 3.0;
        const double s = 1 / (1 + std::exp(-l[size_t(b)]));
        sigmoid_want += std::pow(s * (1 - s) * std::sqrt(full) - 1, 2) / 3.0;
    }
    models::PenaltyResult correct = models::gradient_penalty(D, real, fake, e);
    CHECK(correct.mean_grad_norm == doctest::Approx(full_mean).epsilon(1e-9));
    models::PenaltyResult channel = models::gradient_penalty(D, real, fake, e, Bug::GpChannelNorm);
    CHECK(channel.penalty.item() == doctest::Approx(channel_want).epsilon(1e-9));
    CHECK(channel.mean_grad_norm == doctest::Approx(full_mean).epsilon(1e-9));
    models::PenaltyResult on_sigmoid = models::gradient_penalty(D, real, fake, e, Bug::GpOnSigmoid);
    CHECK(on_sigmoid.penalty.item() == doctest::Approx(sigmoid_want).epsilon(1e-9));
    CHECK(on_sigmoid.mean_grad_norm == doctest::Approx(full_mean).epsilon(1e-6));
}

// gan2d-vanilla (width 8) with `bug`, a batch of 16 points and the z of its step.
struct SmallGan2d {
    std::unique_ptr<models::Model> model;
    models::AdversarialModel* gan;
    data::Batch batch;
    models::StepNoise noise;
    SmallGan2d(Bug bug, uint64_t seed) {
        models::ModelConfig config;
        config.seed = seed;
        config.bug = bug;
        config.options = {{"width", 8}, {"batch_size", 16}};
        model = models::find_model("gan2d-vanilla").create(config);
        gan = dynamic_cast<models::AdversarialModel*>(model.get());
        manual_seed(seed + 5);
        batch.images = randn({16, 2});
        noise.z = randn({16, 16});
    }
};

TEST_CASE("bugs: no-detach lets D's loss reach G's weights; D's own update is unchanged") {
    SmallGan2d ok(Bug::None, 4), bug(Bug::NoDetach, 4);
    ok.gan->step(ok.batch, ok.noise);
    bug.gan->step(bug.batch, bug.noise);
    CHECK(values(bug.gan->discriminator()) == values(ok.gan->discriminator()));
    const std::vector<double> g_ok = values(ok.gan->generator()), g_bug = values(bug.gan->generator());
    std::vector<double> diff(g_ok.size());
    for (size_t i = 0; i < diff.size(); ++i) diff[i] = g_bug[i] - g_ok[i];
    CHECK(test::max_abs(diff) > 1e-6);
}

TEST_CASE("bugs: G's gradient after D's backward is exactly 0 when the fakes are detached, not with no-detach") {
    auto in_d_step = [](const models::Metrics& m) {
        for (const auto& [k, v] : m)
            if (k == "grad_norm/G_in_d_step") return v;
        FAIL("no grad_norm/G_in_d_step");
        return -1.0;
    };
    SmallGan2d ok(Bug::None, 4), bug(Bug::NoDetach, 4);
    for (int i = 0; i < 2; ++i) {  // the second step too: G's own gradients of step 1 must not linger
        CHECK(in_d_step(ok.gan->step(ok.batch, ok.noise)) == 0.0);
        CHECK(in_d_step(bug.gan->step(bug.batch, bug.noise)) > 1e-6);
    }
    models::HealthMonitor monitor;
    CHECK(monitor.observe(1, ok.gan->step(ok.batch, ok.noise)).empty());
    std::vector<models::HealthEvent> fired = monitor.observe(2, bug.gan->step(bug.batch, bug.noise));
    REQUIRE(fired.size() == 1);
    CHECK(fired[0].monitor == "g-grad-in-d-step");
}

TEST_CASE("bugs: labels-swapped trains D to call the fakes real; d-lr-10x sets D's rate to 10x G's") {
    SmallGan2d s(Bug::LabelsSwapped, 3);
    double want = 0;
    {
        autograd::NoGradGuard no_grad;
        Tensor lr = s.gan->discriminator()(s.batch.images);
        Tensor lf = s.gan->discriminator()(s.gan->generate_with(s.noise.z, {}));
        want = mean(softplus(lr)).item() + mean(softplus(neg(lf))).item();  // real -> 0, fake -> 1
    }
    CHECK(test::metric(s.gan->step(s.batch, s.noise), "loss_d") == doctest::Approx(want).epsilon(1e-5));

    models::ModelConfig config;
    config.bug = Bug::DLr10x;
    nlohmann::json c = models::find_model("gan2d-vanilla").create(config)->config();
    CHECK(c.at("lr_d").get<double>() == doctest::Approx(10 * c.at("lr_g").get<double>()));
}

TEST_CASE("bugs: critic-batchnorm, g-no-batchnorm and checkerboard build the networks they name") {
    auto count = [](nn::Module& net, auto pred) {
        int n = 0;
        net.apply([&](nn::Module& m) { n += pred(m) ? 1 : 0; });
        return n;
    };
    auto is_bn = [](nn::Module& m) { return m.as<nn::BatchNorm2d>() != nullptr; };
    auto build = [](const char* name, Bug bug) {
        models::ModelConfig config;
        config.bug = bug;
        config.options = {{"width", 4}};
        auto model = models::find_model(name).create(config);
        return model;
    };
    auto gan = [](std::unique_ptr<models::Model>& m) { return dynamic_cast<models::AdversarialModel*>(m.get()); };
    auto wgan = build("wgan-gp", Bug::None), wgan_bn = build("wgan-gp", Bug::CriticBatchNorm);
    CHECK(count(gan(wgan)->discriminator(), is_bn) == 0);
    CHECK(count(gan(wgan_bn)->discriminator(), is_bn) == 1);
    auto dcgan = build("dcgan", Bug::None), no_bn = build("dcgan", Bug::GNoBatchNorm);
    CHECK(count(gan(dcgan)->generator(), is_bn) == 2);
    CHECK(count(gan(no_bn)->generator(), is_bn) == 0);
    auto checker = build("dcgan", Bug::Checkerboard);
    auto kernel_of = [&](nn::Module& g) {
        std::set<int64_t> k;
        g.apply([&](nn::Module& m) {
            if (m.as<nn::ConvTranspose2d>())
                for (auto& [name, p] : m.named_parameters(false))
                    if (name == "weight") k.insert(p.size(3));
        });
        return k;
    };
    CHECK(kernel_of(gan(dcgan)->generator()) == std::set<int64_t>{4});
    CHECK(kernel_of(gan(checker)->generator()) == std::set<int64_t>{3});
    Tensor s = gan(checker)->sample(2);
    CHECK(s.shape() == Shape{2, 1, 28, 28});
}

TEST_CASE("bugs: an image GAN's sample-point measures see critic-batchnorm and leave training as it was") {
    auto measures = [](Bug bug, const char* name) {
        models::ModelConfig config;
        config.seed = 2;
        config.bug = bug;
        config.options = {{"width", 4}};
        auto model = models::find_model(name).create(config);
        auto* gan = dynamic_cast<models::AdversarialModel*>(model.get());
        std::vector<std::vector<float>> before;
        for (const Tensor& b : gan->discriminator().buffers()) before.push_back(b.to_vector<float>());
        manual_seed(9);
        models::Metrics m = models::as<models::SampleQuality>(*model)->evaluate();
        const std::vector<float> drawn = randn({4}).to_vector<float>();
        manual_seed(9);
        CHECK(drawn == randn({4}).to_vector<float>());  // the random stream was put back
        std::vector<std::vector<float>> after;
        for (const Tensor& b : gan->discriminator().buffers()) after.push_back(b.to_vector<float>());
        CHECK(after == before);  // BatchNorm's statistics too
        std::map<std::string, double> out(m.begin(), m.end());
        return out;
    };
    auto ok = measures(Bug::None, "wgan-gp"), bn = measures(Bug::CriticBatchNorm, "wgan-gp");
    CHECK(ok.at("critic_batch_dependence") < 1e-5);
    CHECK(bn.at("critic_batch_dependence") > 1e-3);  // the monitor's threshold (0.008 at init here)
    for (const char* key : {"g_act_std/0", "g_act_std/1", "g_pre_tanh_std", "class_entropy", "class_top_share"})
        CHECK(ok.count(key) == 1);
    auto cgan = measures(Bug::None, "cgan");
    CHECK(cgan.count("label_agreement") == 1);
    CHECK(cgan.count("critic_batch_dependence") == 0);  // a BCE D has BatchNorm by design
}

TEST_CASE("bugs: vae-kl-sum averages the reconstruction over pixels and keeps the KL summed") {
    models::ModelConfig config;
    config.seed = 1;
    auto model = models::find_model("vae").create(config);
    auto* vae = dynamic_cast<models::VaeModel*>(model.get());
    REQUIRE(vae != nullptr);
    manual_seed(2);
    Tensor x = rand({4, 1, 28, 28});
    Tensor eps = randn({4, 20});
    models::VaeLoss ok = models::vae_loss(vae->encoder(), vae->decoder(), x, {}, eps);
    models::VaeLoss bug = models::vae_loss(vae->encoder(), vae->decoder(), x, {}, eps, 1.0, Bug::VaeKlSum);
    CHECK(bug.kl.item() == doctest::Approx(ok.kl.item()).epsilon(1e-6));
    CHECK(bug.recon.item() * 784 == doctest::Approx(ok.recon.item()).epsilon(1e-5));
    CHECK(bug.loss.item() == doctest::Approx(bug.recon.item() + bug.kl.item()).epsilon(1e-6));
}

TEST_CASE("bugs: mask-b-first makes each output pixel depend on its own input pixel") {
    auto own_pixel_gradient = [](char first_mask) {
        manual_seed(14);
        models::pixelcnn::NetShape shape;
        shape.channels = 8, shape.layers = 1, shape.kernel = 3, shape.levels = 4, shape.first_mask = first_mask;
        models::pixelcnn::PixelCnnNet net(shape);
        net.eval();
        for (Tensor& p : net.parameters()) p.requires_grad_(false);
        Tensor x = rand({1, 1, 6, 6}).requires_grad_();
        Tensor out = sum(net(x).select(0, 0).select(1, 3).select(1, 2));  // pixel (3, 2)'s logits
        return std::abs(autograd::grad({out}, {x})[0].to_vector<double>()[3 * 6 + 2]);
    };
    CHECK(own_pixel_gradient('A') == 0.0);
    CHECK(own_pixel_gradient('B') > 1e-6);
    models::ModelConfig config;
    config.bug = Bug::MaskBFirst;
    config.options = {{"width", 8}, {"layers", 1}};
    CHECK(models::find_model("pixelcnn").create(config)->config().at("bug") == "mask-b-first");
}
