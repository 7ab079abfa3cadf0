// Models and the shared trainer: each GAN's step runs and learns on a small batch,
// the trainer writes what it promises, a resumed run is bitwise the uninterrupted one,
// WGAN-GP's penalty gradient matches finite differences, cgan follows its labels.
#include <filesystem>
#include <fstream>

#include "core/data/toy2d.h"
#include "core/io/checkpoint.h"
#include "helpers.h"
#include "models/gan/adversarial.h"
#include "models/metrics.h"
#include "models/registry.h"
#include "models/trainer.h"

using namespace mg;
namespace fs = std::filesystem;

namespace {

data::Batch image_batch(int64_t n, bool labels) {
    data::Batch b;
    b.images = rand({n, 1, 28, 28}, {}, -1.0, 1.0);
    if (labels) b.labels = randint(0, 10, {n});
    return b;
}

}  // namespace

TEST_CASE("every GAN's step runs, reports its internals, and D learns a fixed batch") {
    for (const char* name : {"dcgan", "cgan", "wgan-gp"}) {
        CAPTURE(name);
        models::ModelConfig config;
        config.batch_size = 8;
        config.options = {{"n_critic", 1}};
        auto model = models::find_model(name).create(config);
        manual_seed(1);
        data::Batch b = image_batch(8, model->data_spec().labels);
        models::Metrics first = model->train_step(b), last;
        for (int i = 0; i < 4; ++i) last = model->train_step(b);
        auto get = [](const models::Metrics& m, const std::string& k) {
            for (const auto& [key, v] : m)
                if (key == k) return v;
            FAIL("metric " << k << " missing");
            return 0.0;
        };
        CHECK(std::isfinite(get(last, "loss_d")));
        CHECK(std::isfinite(get(last, "loss_g")));
        CHECK(get(last, "grad_norm/D") > 0);
        CHECK(get(last, "grad_norm/G") > 0);
        CHECK(get(last, "grad_norm/D/fc.weight") > 0);
        // D sees the same real batch every step: its loss falls.
        CHECK(get(last, "loss_d") < get(first, "loss_d"));
        if (std::string(name) == "wgan-gp") {
            CHECK(get(last, "gp") >= 0);
            CHECK(std::isfinite(get(last, "wasserstein")));
        } else {
            CHECK(get(last, "d_real") > 0);
            CHECK(get(last, "d_real") < 1);
        }
    }
}

TEST_CASE("the trainer writes metrics, samples, visuals, a checkpoint; resume is exact") {
    test::TempDir dir_a("train"), dir_b("resume");
    const std::string a = dir_a.str(), b = dir_b.str();
    auto make = [] {
        models::ModelConfig c;
        c.batch_size = 32;
        c.seed = 7;
        return models::find_model("gan2d").create(c);
    };
    models::TrainOptions opt;
    opt.steps = 12;
    opt.log_every = 1;
    opt.sample_every = 6;
    opt.checkpoint_every = 6;
    opt.sample_count = 16;

    opt.out_dir = a;
    auto m1 = make();
    models::TrainSummary s = models::train(*m1, opt);
    CHECK(s.steps == 12);
    CHECK(fs::exists(a + "/checkpoint.safetensors"));
    CHECK(fs::exists(a + "/samples/step_0000006.png"));
    CHECK(fs::exists(a + "/samples/surface_0000012.png"));
    CHECK(fs::exists(a + "/config.json"));
    std::ifstream in(a + "/metrics.jsonl");
    int lines = 0;
    bool saw_coverage = false;
    for (std::string line; std::getline(in, line); ++lines) {
        auto j = nlohmann::json::parse(line);
        CHECK(j.contains("step"));
        if (j.contains("modes_covered")) saw_coverage = true;
        else CHECK(j.contains("grad_norm/G/0.weight"));
    }
    CHECK(lines >= 12);
    CHECK(saw_coverage);

    // Half, then resume in a fresh model: the same weights bit for bit.
    opt.out_dir = b;
    opt.steps = 6;
    auto m2 = make();
    models::train(*m2, opt);
    opt.steps = 12;
    opt.resume = true;
    auto m3 = make();
    models::train(*m3, opt);
    io::Checkpoint ca = io::load_checkpoint(a + "/checkpoint.safetensors");
    io::Checkpoint cb = io::load_checkpoint(b + "/checkpoint.safetensors");
    CHECK(ca.step == cb.step);
    REQUIRE(ca.model.size() == cb.model.size());
    for (const auto& [k, t] : ca.model) {
        CAPTURE(k);
        CHECK(t.to_vector<double>() == cb.model.at(k).to_vector<double>());
    }
    for (const auto& [k, t] : ca.optimizer) {
        CAPTURE(k);
        CHECK(t.to_vector<double>() == cb.optimizer.at(k).to_vector<double>());
    }
}

TEST_CASE("a checkpoint of another model or a missing file is a clear error") {
    test::TempDir dir("ckpt");
    const std::string d = dir.str();
    models::ModelConfig c;
    c.batch_size = 16;
    auto g = models::find_model("gan2d").create(c);
    models::save_model_checkpoint(*g, d + "/g.safetensors", 3, 0, 3);
    auto dc = models::find_model("dcgan").create(c);
    std::string err = test::error_of([&] { models::load_model_checkpoint(*dc, d + "/g.safetensors", true); });
    CHECK(err.find("gan2d") != std::string::npos);
    CHECK(err.find("dcgan") != std::string::npos);
    CHECK(test::error_of([] { models::find_model("nope"); }).find("known: gan2d") != std::string::npos);
}

TEST_CASE("mode coverage counts modes and high-quality samples") {
    Tensor centres = data::ring_centres(8, 2.0);
    // All samples exactly on two centres: 2 modes, 100% high quality.
    std::vector<float> pts;
    for (int i = 0; i < 100; ++i) {
        auto c = centres.select(0, i % 2).to_vector<float>();
        pts.insert(pts.end(), c.begin(), c.end());
    }
    models::ModeCoverage m = models::mode_coverage(from_vector(pts, {100, 2}), centres, 0.02);
    CHECK(m.modes_covered == 2);
    CHECK(m.hq_fraction == 1.0);
    // Points at the origin are near no mode.
    models::ModeCoverage z = models::mode_coverage(zeros({50, 2}), centres, 0.02);
    CHECK(z.modes_covered == 0);
    CHECK(z.hq_fraction == 0.0);
}

TEST_CASE("every model's options: config() read back as options builds the same config; ranges still checked") {
    for (const models::ModelInfo& info : models::all_models()) {
        CAPTURE(info.name);
        models::ModelConfig c;
        c.seed = 4;
        nlohmann::json cfg = info.create(c)->config();
        CHECK(cfg["seed"] == 4);
        // What `minigen sample` does with a checkpoint's recorded options.
        cfg.erase("seed");
        cfg.erase("device");
        REQUIRE(cfg.contains("batch_size"));
        c.options = cfg;
        c.options["batch_size"] = 4;
        nlohmann::json again = info.create(c)->config();
        CHECK(again["batch_size"] == 4);
        again["batch_size"] = cfg["batch_size"];
        again.erase("seed");
        again.erase("device");
        CHECK(again == cfg);
        c.options = {{"batch_size", 0}};
        CHECK(test::error_of([&] { info.create(c); }).find("'batch_size' = 0 is out of range [1, 65536]") !=
              std::string::npos);
    }
}
