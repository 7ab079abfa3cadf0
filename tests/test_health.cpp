// Health monitors (models/health.h): each fires on a metric stream built to trip it, once,
// at the step its rule says, and none fires on a healthy stream; the trainer reports them.
#include <cmath>
#include <fstream>

#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "models/health.h"
#include "models/registry.h"
#include "models/trainer.h"

using namespace mg;
using models::Metrics;

namespace {

// A healthy GAN / VAE / PixelCNN step: values wobble around sane levels.
Metrics healthy(int64_t step) {
    const double w = std::sin(double(step) * 0.37);
    return {{"loss_d", 1.3 + 0.1 * w},
            {"d_real", 0.6 + 0.1 * w},
            {"d_fake", 0.4 - 0.1 * w},
            {"grad_norm_xhat", 1.0 + 0.3 * w},
            {"grad_norm/G/0.weight", 0.5 + 0.1 * w},
            {"grad_norm/G/2.weight", 0.05},
            {"grad_norm/G", 0.6 + 0.1 * w},
            {"grad_norm/G_in_d_step", 0.0},
            {"recon", 100.0},
            {"kl", 25 + w},
            {"loss", 2.0 + 0.1 * w},
            {"bits_per_dim", 3.0 + 0.2 * w}};
}

void set(Metrics& m, const std::string& key, double value) {
    for (auto& [k, v] : m)
        if (k == key) v = value;
}

// The events of a stream: `steps` steps of healthy() changed by `change` from step `from`,
// and the sample-point measures `at_sample` every 500 steps.
std::vector<models::HealthEvent> run(int64_t steps, int64_t from, const std::function<void(Metrics&)>& change,
                                     const Metrics& sample_healthy = {{"modes_covered", 8}, {"hq_fraction", 0.9}, {"checkerboard", 0.002}},
                                     const Metrics& sample_bad = {}) {
    models::HealthMonitor monitor;
    for (int64_t step = 1; step <= steps; ++step) {
        Metrics m = healthy(step);
        if (step >= from) change(m);
        monitor.observe(step, m);
        if (step % 500 == 0) monitor.observe(step, step >= from && !sample_bad.empty() ? sample_bad : sample_healthy);
    }
    return monitor.fired();
}

}  // namespace

TEST_CASE("health: a healthy stream fires nothing; each monitor fires once on its stream, at its rule's step") {
    CHECK(run(3000, 1, [](Metrics&) {}).empty());

    struct Case {
        const char* monitor;
        std::function<void(Metrics&)> change;
        int64_t at;  // the step it must fire at (from step 1000 on)
        Metrics sample_bad = {};
    };
    const std::vector<Case> cases = {
        {"d-saturated", [](Metrics& m) { set(m, "d_real", 0.99), set(m, "d_fake", 0.02); }, 1199},
        {"d-prefers-fakes", [](Metrics& m) { set(m, "d_real", 0.1), set(m, "d_fake", 0.9); }, 1199},
        {"g-grad-vanishing", [](Metrics& m) { set(m, "grad_norm/G", 1e-4); }, 1199},
        {"layer-grad-ratio", [](Metrics& m) { set(m, "grad_norm/G/2.weight", 1e-5); }, 1199},
        {"penalty-range", [](Metrics& m) { set(m, "grad_norm_xhat", 28.0); }, 1049},
        {"g-grad-in-d-step", [](Metrics& m) { set(m, "grad_norm/G_in_d_step", 1e-9); }, 1000},
        {"kl-collapse", [](Metrics& m) { set(m, "kl", 0.05); }, 1199},
        {"loss-too-low", [](Metrics& m) { set(m, "bits_per_dim", 0.1); }, 1049},
        {"modes-dropped", [](Metrics&) {}, 2000, {{"modes_covered", 3}, {"checkerboard", 0.002}}},
        {"checkerboard", [](Metrics&) {}, 1000, {{"modes_covered", 8}, {"checkerboard", 0.2}}},
        {"samples-off-modes", [](Metrics&) {}, 2500, {{"modes_covered", 8}, {"hq_fraction", 0.3}}},
        {"g-activation-scale", [](Metrics&) {}, 1000, {{"g_act_std/0", 0.15}, {"g_act_std/1", 0.02}}},
        {"critic-batch-dependence", [](Metrics&) {}, 1000, {{"critic_batch_dependence", 0.05}}},
        {"class-histogram-collapse", [](Metrics&) {}, 1000, {{"class_entropy", 0.3}, {"class_top_share", 0.3}}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.monitor);
        std::vector<models::HealthEvent> events =
            run(3000, 1000, c.change, {{"modes_covered", 8}, {"hq_fraction", 0.9}, {"checkerboard", 0.002}}, c.sample_bad);
        REQUIRE(events.size() == 1);
        CHECK(events[0].monitor == c.monitor);
        CHECK(events[0].step == c.at);
        CHECK(test::contains(events[0].message, std::string("docs/failure-modes.md#") + c.monitor));
    }
    // The image GANs' sample-point measures at healthy levels fire nothing.
    CHECK(run(3000, 1, [](Metrics&) {},
              {{"g_act_std/0", 0.6}, {"g_act_std/1", 0.55}, {"g_parity_std_ratio", 1.2}, {"checkerboard", 0.01},
               {"critic_batch_dependence", 1e-7}, {"class_entropy", 0.95}, {"class_top_share", 0.15},
               {"label_agreement", 0.8}})
              .empty());
    // g-activation-scale waits for G's update 100 (BatchNorm's running statistics lag before it).
    {
        models::HealthMonitor monitor;
        CHECK(monitor.observe(50, {{"g_updates", 50}, {"g_act_std/0", 0.1}}).empty());
        std::vector<models::HealthEvent> events = monitor.observe(150, {{"g_updates", 100}, {"g_act_std/0", 0.1}});
        REQUIRE(events.size() == 1);
        CHECK(events[0].monitor == "g-activation-scale");
    }
    // class-histogram-collapse reads each of its three conditions on its own.
    for (const Metrics& bad : {Metrics{{"class_entropy", 0.9}, {"class_top_share", 0.7}},
                               Metrics{{"class_entropy", 0.9}, {"class_top_share", 0.2}, {"label_agreement", 0.1}}}) {
        std::vector<models::HealthEvent> events = run(3000, 1000, [](Metrics&) {}, {{"class_entropy", 0.95}}, bad);
        REQUIRE(events.size() == 1);
        CHECK(events[0].monitor == "class-histogram-collapse");
    }
    // A new G's first samples (one blob, one class, a 2x2 pattern from random taps) fire nothing
    // before the rules' first steps: 300 for the class histogram, 100 and 150 for the checkerboard
    // (where G's updates are reported, they count, not the steps).
    {
        models::HealthMonitor monitor;
        CHECK(monitor.observe(50, {{"class_entropy", 0.0}, {"class_top_share", 1.0}, {"g_parity_std_ratio", 3.0},
                                   {"checkerboard", 0.3}}).empty());
        CHECK(monitor.observe(100, {{"class_entropy", 0.0}, {"class_top_share", 1.0}, {"checkerboard", 0.3}}).empty());
        CHECK(monitor.observe(400, {{"g_updates", 80}, {"g_parity_std_ratio", 3.0}}).empty());
        // With the ratio reported, the energy is not read.
        CHECK(monitor.observe(200, {{"g_parity_std_ratio", 1.2}, {"checkerboard", 0.3}}).empty());
        std::vector<models::HealthEvent> events = monitor.observe(100, {{"g_parity_std_ratio", 1.7}});
        REQUIRE(events.size() == 1);
        CHECK(events[0].monitor == "checkerboard");
        events = monitor.observe(300, {{"class_entropy", 0.0}, {"class_top_share", 1.0}});
        REQUIRE(events.size() == 1);
        CHECK(events[0].monitor == "class-histogram-collapse");
    }
    // The penalty's floor is not read in the first 300 steps, where a new critic is flat.
    CHECK(run(300, 1, [](Metrics& m) { set(m, "grad_norm_xhat", 0.01); }).empty());
    // A streak that breaks before 200 steps fires nothing.
    CHECK(run(3000, 1, [](Metrics& m) {
              if (m[0].second > 1.3) set(m, "d_real", 0.1), set(m, "d_fake", 0.9);  // half the steps
          }).empty());
}

TEST_CASE("health: checkerboard energy: 1 for a pure 2x2 pattern, about 3/(H*W) for noise, 0 for a ramp") {
    std::vector<float> checker(64), ramp(64);
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) {
            checker[size_t(i * 8 + j)] = ((i + j) % 2 ? 1.f : -1.f) + 0.5f;
            ramp[size_t(i * 8 + j)] = float(i);
        }
    CHECK(models::checkerboard_energy(from_vector(checker, Shape{1, 1, 8, 8})) == doctest::Approx(1.0));
    // A ramp along rows has some power at (pi, 0) from its odd length-8 sawtooth, far below a checkerboard.
    CHECK(models::checkerboard_energy(from_vector(ramp, Shape{1, 1, 8, 8})) < 0.05);
    manual_seed(3);
    const double noise = models::checkerboard_energy(randn({64, 3, 16, 16}));
    CHECK(noise == doctest::Approx(3.0 / 256).epsilon(0.25));
    CHECK(test::contains(test::error_of([] { models::checkerboard_energy(randn({2, 8})); }), "[N, C, H, W]"));
}

TEST_CASE("health: the class histogram's entropy, top share and label agreement against counts done by hand") {
    // 10 classes, 20 samples: classes 0..9 twice each -> entropy log(10) / log(10) = 1.
    std::vector<int64_t> even, skewed;
    for (int64_t i = 0; i < 20; ++i) even.push_back(i % 10);
    // 12 of class 3, 4 of class 1, 4 of class 7: shares 0.6, 0.2, 0.2.
    for (int64_t i = 0; i < 20; ++i) skewed.push_back(i < 12 ? 3 : i < 16 ? 1 : 7);
    auto value = [](const Metrics& m, const std::string& key) {
        for (const auto& [k, v] : m)
            if (k == key) return v;
        FAIL("no " << key);
        return 0.0;
    };
    Metrics m = models::class_histogram_measures(from_vector(even), 10);
    CHECK(value(m, "class_entropy") == doctest::Approx(1.0));
    CHECK(value(m, "class_top_share") == doctest::Approx(0.1));
    CHECK(m.size() == 2);  // no label_agreement without conditioning labels
    const double h = -(0.6 * std::log(0.6) + 2 * 0.2 * std::log(0.2)) / std::log(10.0);
    m = models::class_histogram_measures(from_vector(skewed), 10, from_vector(even));
    CHECK(value(m, "class_entropy") == doctest::Approx(h));
    CHECK(value(m, "class_top_share") == doctest::Approx(0.6));
    // Asked for i % 10; labelled 3 (i < 12), 1 (12..15), 7 (16..19): agree at i = 3 and i = 17.
    CHECK(value(m, "label_agreement") == doctest::Approx(2.0 / 20));
    CHECK(value(models::class_histogram_measures(from_vector(std::vector<int64_t>(20, 4)), 10), "class_entropy") == 0);
    CHECK(test::contains(test::error_of([] { models::class_histogram_measures(from_vector(std::vector<int64_t>{0, 10}), 10); }),
                         "class 10 outside [0, 10)"));
    CHECK(test::contains(test::error_of([&] { models::class_histogram_measures(from_vector(even), 10, from_vector(skewed).slice(0, 0, 5)); }),
                         "must match"));
}

TEST_CASE("health: parity std ratio: about 1 for noise, 2 when one pixel class has twice the spread") {
    manual_seed(5);
    Tensor noise = randn({16, 2, 8, 8});
    CHECK(models::parity_std_ratio(noise) == doctest::Approx(1.0).epsilon(0.15));
    std::vector<float> v = noise.to_vector<float>();
    for (size_t k = 0; k < v.size(); ++k) {
        const size_t i = (k / 8) % 8, j = k % 8;
        if (i % 2 == 1 && j % 2 == 1) v[k] *= 2;  // the (odd, odd) class
    }
    const double doubled = models::parity_std_ratio(from_vector(v, noise.shape()));
    CHECK(doubled == doctest::Approx(2.0 * models::parity_std_ratio(noise)).epsilon(0.2));
    CHECK(models::parity_std_ratio(zeros({1, 1, 4, 4})) == 1.0);
}

TEST_CASE("health: the trainer logs a fired monitor in metrics.jsonl and the summary (labels-swapped gan2d)") {
    test::TempDir dir("health");
    models::ModelConfig config;
    config.seed = 1;
    config.bug = models::Bug::LabelsSwapped;
    config.options = {{"width", 16}};
    auto model = models::find_model("gan2d-vanilla").create(config);
    models::TrainOptions opt;
    opt.out_dir = dir / "run";
    opt.steps = 600;
    opt.sample_every = 600;
    opt.log_every = 100;
    models::TrainSummary s = models::train(*model, opt);
    REQUIRE(!s.health.empty());
    CHECK(s.health[0].monitor == "d-prefers-fakes");
    const std::string log = test::read_file(dir / "run/metrics.jsonl");
    CHECK(test::contains(log, "\"health\":{\"message\":"));
    CHECK(test::contains(log, "\"monitor\":\"d-prefers-fakes\""));
    CHECK(test::contains(test::read_file(dir / "run/config.json"), "\"bug\": \"labels-swapped\""));
}

TEST_CASE("health: d-ahead fires on gan2d-vanilla when two 500-step blocks' mean D(x) - D(G(z)) pass 0.4, after the first") {
    // The gap d_real - d_fake of step s given by `gap(s)`; the events of 3000 steps of `model`.
    auto stream = [](const std::string& model, const std::function<double(int64_t)>& gap, bool critic = false) {
        models::HealthMonitor monitor(model);
        for (int64_t step = 1; step <= 3000; ++step) {
            Metrics m = {{"d_real", 0.5 + gap(step) / 2}, {"d_fake", 0.5 - gap(step) / 2}};
            if (critic) m.emplace_back("wasserstein", gap(step));
            monitor.observe(step, m);
        }
        return monitor.fired();
    };
    auto fired = [](const std::vector<models::HealthEvent>& events) {
        return events.size() == 1 && events[0].monitor == "d-ahead" ? events[0].step : int64_t(-1);
    };
    // A healthy gan2d-vanilla wobbles round 0.2, now and then as high as 0.7 for a few steps.
    CHECK(stream("gan2d-vanilla", [](int64_t s) { return 0.2 + 0.1 * std::sin(0.37 * double(s)) + (s % 50 < 5 ? 0.5 : 0); }).empty());
    // D ahead all along: the blocks of steps 501-1000 and 1001-1500 fire (the first block is left out).
    CHECK(fired(stream("gan2d-vanilla", [](int64_t) { return 0.5; })) == 1500);
    // A mean over 0.4 from steps that are each at 0.35 or 0.55: the block's mean counts.
    CHECK(fired(stream("gan2d-vanilla", [](int64_t s) { return s % 2 ? 0.35 : 0.55; })) == 1500);
    CHECK(stream("gan2d-vanilla", [](int64_t s) { return s % 2 ? 0.3 : 0.49; }).empty());  // mean 0.395
    // Ahead only until step 1000 (a healthy start can be), or from step 2001 on.
    CHECK(stream("gan2d-vanilla", [](int64_t s) { return s <= 1000 ? 0.8 : 0.2; }).empty());
    CHECK(fired(stream("gan2d-vanilla", [](int64_t s) { return s > 2000 ? 0.6 : 0.2; })) == 3000);
    // Two blocks over the floor, but not in a row.
    CHECK(stream("gan2d-vanilla", [](int64_t s) { return (s - 1) / 500 % 2 ? 0.6 : 0.2; }).empty());
    // Other models (an image GAN sits at 0.5 when healthy), and critics' scores, are not its business.
    CHECK(stream("dcgan", [](int64_t) { return 0.5; }).empty());
    CHECK(stream("", [](int64_t) { return 0.5; }).empty());
    CHECK(stream("gan2d-vanilla", [](int64_t) { return 0.5; }, /*critic=*/true).empty());
}
