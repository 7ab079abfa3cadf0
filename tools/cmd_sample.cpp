// minigen sample MODEL --checkpoint F: a grid of samples from a trained model.
#include <cstdio>
#include <filesystem>

#include "core/ops.h"
#include "core/random.h"
#include "models/registry.h"
#include "models/trainer.h"
#include "tools/cli.h"
#include "tools/model_options.h"

namespace mg::tools {

namespace {

struct SampleArgs {
    std::string model, checkpoint, out;
    CommonModelArgs common;
    int64_t n = 64;
    int64_t class_index = -1;
    bool by_class = false;
};

int run_sample(const SampleArgs& a) {
    apply_threads(a.common.threads);
    MG_CHECK(std::filesystem::exists(a.checkpoint), "--checkpoint {}: no such file", a.checkpoint);
    std::string trained_as;
    models::ModelConfig config = config_from_checkpoint(a.checkpoint, a.common, &trained_as);
    MG_CHECK(trained_as == a.model, "--checkpoint {}: a checkpoint of '{}', not '{}'", a.checkpoint, trained_as,
             a.model);
    std::unique_ptr<models::Model> model = models::find_model(a.model).create(config);
    models::load_model_checkpoint(*model, a.checkpoint, /*with_optimizers=*/false);
    manual_seed(a.common.seed);  // samples differ by --seed, not by the training run's RNG state

    Tensor samples;
    if (a.class_index >= 0 || a.by_class) {
        MG_CHECK(model->conditional(), "--class/--by-class: model '{}' is not conditional", a.model);
        std::vector<int64_t> labels;
        if (a.by_class) {  // one row of 8 per class
            for (int64_t c = 0; c < 10; ++c)
                for (int64_t i = 0; i < 8; ++i) labels.push_back(c);
        } else {
            MG_CHECK(a.class_index < 10, "--class {}: Fashion-MNIST has classes 0..9", a.class_index);
            labels.assign(size_t(a.n), a.class_index);
        }
        samples = model->sample_with_labels(from_vector(labels));
    } else {
        samples = model->sample(a.n);
    }
    std::string out = a.out.empty() ? a.model + "_samples.png" : a.out;
    models::write_samples(*model, samples, out);
    std::printf("%s\n", out.c_str());
    return 0;
}

}  // namespace

void add_sample_command(CLI::App& app) {
    static SampleArgs a;
    auto* cmd = app.add_subcommand("sample", "Draw samples from a trained model into a PNG grid");
    cmd->add_option("model", a.model, "Model name")->required();
    cmd->add_option("--checkpoint", a.checkpoint, "Checkpoint file (a run's checkpoint.safetensors)")->required();
    cmd->add_option("--out", a.out, "Output PNG (default MODEL_samples.png)");
    cmd->add_option("-n,--count", a.n, "Number of samples")->check(CLI::Range(1, 4096));
    cmd->add_option("--class", a.class_index, "Conditional models: draw this class only")->check(CLI::Range(0, 9));
    cmd->add_flag("--by-class", a.by_class, "Conditional models: one row per class");
    add_common_model_args(*cmd, a.common);
    cmd->callback([] { std::exit(run_sample(a)); });
}

}  // namespace mg::tools
