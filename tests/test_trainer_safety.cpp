// The trainer never loses or damages a run (models/run_dir.h, models/trainer.h): a used
// run directory needs resume or overwrite, a resume may not contradict its checkpoint,
// metrics and temporaries are cleaned up after a kill, NaN/Inf stop training and never
// replace a finite checkpoint, a stop signal saves, and the samplers report progress.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/io/checkpoint.h"
#include "core/io/temp_files.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/pixelcnn/pixelcnn_sampler.h"
#include "models/progress.h"
#include "models/registry.h"
#include "models/run_dir.h"
#include "models/trainer.h"
#include "tests/helpers.h"

using namespace mg;
using mg::test::read_file;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<models::Model> make_gan2d(int64_t batch = 32) {
    models::ModelConfig c;
    c.batch_size = batch;
    c.seed = 7;
    return models::find_model("gan2d").create(c);
}

models::TrainOptions short_run(const std::string& dir, int64_t steps) {
    models::TrainOptions opt;
    opt.out_dir = dir;
    opt.steps = steps;
    opt.log_every = 1;
    opt.sample_every = 1000;  // only the last step draws
    opt.checkpoint_every = 1000;
    opt.sample_count = 16;
    return opt;
}

// How many training lines (not evaluation lines) metrics.jsonl holds for each step.
std::map<int64_t, int> logged_steps(const std::string& path) {
    std::map<int64_t, int> count;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line);
        if (j.contains("images_per_s")) ++count[j["step"].get<int64_t>()];
    }
    return count;
}

// A pid that belonged to a process that has exited.
long dead_pid() {
    pid_t child = fork();
    if (child == 0) _exit(0);
    int status = 0;
    waitpid(child, &status, 0);
    return long(child);
}

// The directory of a gan2d run of 4 steps (checkpoint and metrics written), as its path.
std::string trained_run(const test::TempDir& dir) {
    auto model = make_gan2d();
    models::train(*model, short_run(dir.str(), 4));
    return dir.str();
}

// Sets element 0 of the model's first floating parameter to NaN.
void poison(models::Model& model) {
    autograd::NoGradGuard no_grad;
    auto [name, module] = model.modules().front();
    for (const auto& [k, v] : module->state_dict())
        if (v.dtype() == DType::Float32) {
            v.view({-1}).slice(0, 0, 1).fill_(std::nan(""));
            return;
        }
}

}  // namespace

TEST_CASE("trainer: a directory holding a run is refused unless resumed or overwritten, and overwrite mixes nothing") {
    test::TempDir dir("safety-out");
    const std::string d = trained_run(dir);
    const std::string ckpt_before = read_file(d + "/checkpoint.safetensors");
    const std::string metrics_before = read_file(d + "/metrics.jsonl");

    auto m2 = make_gan2d();
    std::string err = test::error_of([&] { models::train(*m2, short_run(d, 2)); });
    CHECK(err.find(d) != std::string::npos);
    CHECK(err.find("--resume") != std::string::npos);
    CHECK(err.find("--overwrite") != std::string::npos);
    CHECK(read_file(d + "/checkpoint.safetensors") == ckpt_before);  // nothing touched
    CHECK(read_file(d + "/metrics.jsonl") == metrics_before);

    std::ofstream(d + "/samples/step_0000999.png") << "an old run's grid";
    fs::create_directories(d + "/report");
    std::ofstream(d + "/report/index.html") << "an old report";
    models::TrainOptions opt = short_run(d, 2);
    opt.overwrite = true;
    auto m3 = make_gan2d();
    models::train(*m3, opt);
    CHECK_FALSE(fs::exists(d + "/samples/step_0000999.png"));
    CHECK_FALSE(fs::exists(d + "/report"));
    CHECK(logged_steps(d + "/metrics.jsonl") == std::map<int64_t, int>{{1, 1}, {2, 1}});
    CHECK(io::load_checkpoint(d + "/checkpoint.safetensors").step == 2);

    opt.resume = true;
    CHECK(test::error_of([&] { models::train(*m3, opt); }).find("contradict") != std::string::npos);
}

TEST_CASE("trainer: a resume that contradicts the checkpoint is refused; allowed changes go into the history") {
    test::TempDir dir("safety-resume");
    const std::string d = dir.str();
    models::TrainOptions opt = short_run(d, 4);
    opt.command = "minigen train gan2d --steps 4";
    auto m1 = make_gan2d(32);
    models::train(*m1, opt);

    opt.resume = true;
    opt.steps = 8;
    opt.command = "minigen train gan2d --resume --batch-size 16";
    auto m2 = make_gan2d(16);
    std::string err = test::error_of([&] { models::train(*m2, opt); });
    CHECK(err.find("batch_size 32 -> 16") != std::string::npos);
    CHECK(err.find("--allow-changes") != std::string::npos);
    CHECK(io::load_checkpoint(d + "/checkpoint.safetensors").step == 4);

    opt.steps = 3;  // below the checkpoint's step 4
    auto m3 = make_gan2d(32);
    err = test::error_of([&] { models::train(*m3, opt); });
    CHECK(err.find("step 4") != std::string::npos);

    opt.steps = 8;
    opt.allow_changes = true;
    auto m4 = make_gan2d(16);
    models::TrainSummary s = models::train(*m4, opt);
    CHECK(s.steps == 8);
    nlohmann::json cfg = nlohmann::json::parse(read_file(d + "/config.json"));
    CHECK(cfg["config"]["batch_size"] == 32);  // the original settings stay
    CHECK(cfg["run"]["command"] == "minigen train gan2d --steps 4");
    REQUIRE(cfg["history"].size() == 1);
    const nlohmann::json& h = cfg["history"][0];
    CHECK(h["command"] == "minigen train gan2d --resume --batch-size 16");
    CHECK(h["start_step"] == 4);
    CHECK(h["steps"] == 8);
    CHECK(h["changed"]["batch_size"]["from"] == 32);
    CHECK(h["changed"]["batch_size"]["to"] == 16);
    CHECK(h.contains("time"));
}

TEST_CASE("trainer: after a kill, resume drops the metrics past the checkpoint and the dead writer's temporaries") {
    test::TempDir dir("safety-kill");
    const std::string d = trained_run(dir);
    // What a kill -9 after step 6 leaves: lines past the checkpoint, a torn line, a temporary.
    {
        std::ofstream m(d + "/metrics.jsonl", std::ios::app);
        m << R"({"step": 5, "images_per_s": 1.0, "loss_d": 1.0})" << "\n";
        m << R"({"step": 6, "images_per_s": 1.0, "loss_d": 1.0})" << "\n";
        m << R"({"step": 7, "images_per)";
    }
    const std::string stale = d + "/checkpoint.safetensors.tmp." + std::to_string(dead_pid());
    const std::string stale_png = d + "/samples/.step_0000008.png.tmp." + std::to_string(dead_pid()) + ".Ab12Cd";
    const std::string live = d + "/checkpoint.safetensors.tmp.1";  // pid 1 is always running
    for (const auto& p : {stale, stale_png, live}) std::ofstream(p) << "half a file";

    models::TrainOptions opt = short_run(d, 8);
    opt.resume = true;
    auto m2 = make_gan2d();
    models::train(*m2, opt);
    std::map<int64_t, int> expected;
    for (int64_t s = 1; s <= 8; ++s) expected[s] = 1;
    CHECK(logged_steps(d + "/metrics.jsonl") == expected);
    CHECK_FALSE(fs::exists(stale));
    CHECK_FALSE(fs::exists(stale_png));
    CHECK(fs::exists(live));
}

TEST_CASE("trainer: a NaN loss stops training and never replaces the finite checkpoint") {
    test::TempDir dir("safety-nan");
    const std::string d = trained_run(dir);
    const std::string finite_ckpt = read_file(d + "/checkpoint.safetensors");

    models::TrainOptions opt = short_run(d, 8);
    opt.resume = true;
    opt.on_start = [](models::Model& m) { poison(m); };  // after the checkpoint is loaded
    auto m2 = make_gan2d();
    models::TrainSummary s = models::train(*m2, opt);
    CHECK(s.steps == 5);
    CHECK(s.nonfinite.find("step 5") != std::string::npos);
    CHECK(read_file(d + "/checkpoint.safetensors") == finite_ckpt);

    // Asked to go on, it trains to the end, but still keeps the finite checkpoint.
    opt.allow_nonfinite = true;
    auto m3 = make_gan2d();
    s = models::train(*m3, opt);
    CHECK(s.steps == 8);
    CHECK(s.nonfinite.empty());
    CHECK(read_file(d + "/checkpoint.safetensors") == finite_ckpt);
}

TEST_CASE("trainer: loading a checkpoint refuses NaN weights and bad metadata, naming the file and the field") {
    test::TempDir dir("safety-load");
    const std::string path = dir / "nan.safetensors";
    auto m1 = make_gan2d();
    poison(*m1);
    CHECK_FALSE(models::nonfinite_parameter(*m1).empty());
    models::save_model_checkpoint(*m1, path, 3, 0, 3);
    auto m2 = make_gan2d();
    std::string err = test::error_of([&] { models::load_model_checkpoint(*m2, path, false); });
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find("'model.") != std::string::npos);
    CHECK(err.find("--allow-nonfinite") != std::string::npos);
    CHECK(models::nonfinite_parameter(*m2).empty());  // nothing loaded
    models::load_model_checkpoint(*m2, path, false, /*allow_nonfinite=*/true);
    CHECK_FALSE(models::nonfinite_parameter(*m2).empty());

    auto m3 = make_gan2d();
    const std::string bad = dir / "bad_epoch.safetensors";
    models::save_model_checkpoint(*m3, bad, 3, 0, 3);
    io::Checkpoint ck = io::load_checkpoint(bad);
    ck.metadata["epoch"] = "three";
    io::save_checkpoint(bad, ck);
    err = test::error_of([&] { models::load_model_checkpoint(*m3, bad, true); });
    CHECK(err.find(bad) != std::string::npos);
    CHECK(err.find("'epoch'") != std::string::npos);
    CHECK(err.find("three") != std::string::npos);
}

TEST_CASE("trainer: SIGTERM stops like Ctrl-C, with a checkpoint") {
    test::TempDir dir("safety-signal");
    models::TrainOptions opt = short_run(dir.str(), 100000);
    opt.sample_every = 3;
    opt.evaluator = [](models::Model&) {
        ::raise(SIGTERM);  // as `kill` would, while the run is at a sample point
        return models::Metrics{};
    };
    auto m = make_gan2d();
    models::TrainSummary s = models::train(*m, opt);
    CHECK(s.interrupted);
    CHECK(s.signal == SIGTERM);
    CHECK(s.steps == 3);
    CHECK(io::load_checkpoint(dir / "checkpoint.safetensors").step == 3);
}

TEST_CASE("io: stale temporaries of dead writers are removed, others kept") {
    test::TempDir dir("safety-tmp");
    const std::string dead = std::to_string(dead_pid()), mine = std::to_string(::getpid());
    const std::vector<std::string> gone = {"a.safetensors.tmp." + dead, ".b.png.tmp." + dead + ".x1Y2z3",
                                           "c.html.tmp-" + dead};
    const std::vector<std::string> kept = {"d.safetensors.tmp." + mine, "notes.tmp.txt", "e.tmp." + dead + ".png",
                                           "f.npy"};
    for (const auto& n : gone) std::ofstream(dir / n) << "x";
    for (const auto& n : kept) std::ofstream(dir / n) << "x";
    CHECK(io::remove_stale_temporaries(dir.str()).size() == gone.size());
    for (const auto& n : gone) CHECK_FALSE(fs::exists(dir / n));
    for (const auto& n : kept) CHECK(fs::exists(dir / n));
    CHECK(io::temp_path("x/y.npy") == "x/y.npy.tmp." + mine);
}

TEST_CASE("pixelcnn sampler: reports each pixel drawn as progress") {
    manual_seed(3);
    models::pixelcnn::PixelCnnNet net(models::pixelcnn::NetShape{8, 2, 3, 256});
    const int64_t n = 2, h = 5, w = 4, first = 6;
    Tensor images = zeros({n, 1, h, w});
    Tensor u = rand({n, h * w}, {DType::Float64});
    for (auto kind : {models::pixelcnn::SamplerKind::Naive, models::pixelcnn::SamplerKind::Cached}) {
        std::vector<std::pair<int64_t, int64_t>> seen;
        {
            models::WorkObserver observer([&](int64_t done, int64_t total) { seen.emplace_back(done, total); });
            models::pixelcnn::sample_pixels(net, images, first, u, kind);
        }
        REQUIRE(seen.size() == size_t(h * w - first));
        CHECK(seen.front() == std::pair<int64_t, int64_t>{1, h * w - first});
        CHECK(seen.back() == std::pair<int64_t, int64_t>{h * w - first, h * w - first});
        models::report_work(1, 1);  // no observer: nothing happens
    }
}

TEST_CASE("trainer: a checkpoint that claims an absurd world size is refused on resume, naming the field") {
    test::TempDir dir("safety-world");
    const std::string d = dir.str();
    models::TrainOptions opt = short_run(d, 2);
    auto m1 = make_gan2d();
    models::train(*m1, opt);
    const std::string path = d + "/checkpoint.safetensors";
    io::Checkpoint ck = io::load_checkpoint(path);
    ck.metadata["world_size"] = "9223372036854775807";  // batch x world would overflow
    io::save_checkpoint(path, ck);
    opt.resume = true;
    opt.steps = 4;
    auto m2 = make_gan2d();
    const std::string err = test::error_of([&] { models::train(*m2, opt); });
    CHECK(err.find("'world_size'") != std::string::npos);
    CHECK(err.find("more than") != std::string::npos);
    CHECK(io::load_checkpoint(path).step == 2);  // nothing written
}
