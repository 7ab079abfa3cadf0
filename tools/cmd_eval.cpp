// minigen eval MODEL --checkpoint F · minigen eval --samples FILE: every metric that
// applies, with the floor and ceiling beside the sample metrics (models/eval/evaluate.h).
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "core/data/transforms.h"
#include "core/dist/collective.h"
#include "core/io/input.h"
#include "core/io/sha256.h"
#include "core/random.h"
#include "models/capabilities.h"
#include "models/classifier/classifier.h"
#include "models/eval/evaluate.h"
#include "models/eval/protocol.h"
#include "models/eval/real_images.h"
#include "models/eval/translation.h"
#include "models/eval/reference_classifier.h"
#include "models/image_data.h"
#include "models/paired_data.h"
#include "models/registry.h"
#include "models/trainer.h"
#include "tools/cli.h"
#include "tools/model_options.h"
#include "tools/report.h"

namespace mg::tools {

namespace {

struct EvalArgs {
    std::string model, checkpoint, samples_file, range = "0,1", classifier, save_reference, memorisation_grid;
    std::vector<std::string> compare;
    CommonModelArgs common;
    int64_t count = 10000, test_images = 0, iwae_k = 100, eval_batch = 500, memorisation_images = 10000,
            cas_steps = 600;
    bool no_floors = false, json = false, cas = false;
};

std::string number(const nlohmann::json& v) {
    if (!v.is_number()) return v.dump();
    double x = v.get<double>();
    return std::abs(x) >= 100 || x == std::floor(x) ? fmt::format("{:.1f}", x) : fmt::format("{:.4g}", x);
}

// A readable table: each metric with the floor and ceiling beside it where they exist.
void print_text(const nlohmann::json& j) {
    std::printf("%-18s %14s", "metric", "value");
    const bool floors = j.contains("floor");
    if (floors) std::printf(" %14s %14s", "floor", "ceiling");
    std::printf("\n");
    for (const auto& [k, v] : j.items()) {
        if (!v.is_number() || k == "seconds") continue;
        std::printf("%-18s %14s", k.c_str(), number(v).c_str());
        if (floors && j["floor"].contains(k))
            std::printf(" %14s %14s", number(j["floor"][k]).c_str(), number(j["ceiling"][k]).c_str());
        std::printf("\n");
    }
    if (j.contains("memorisation")) {
        const nlohmann::json& m = j["memorisation"];
        std::printf("memorisation: %s of samples nearer a training image than 99%% of test images are; median "
                    "distance %s (test images: %s), %lld training images\n",
                    number(m["closer_than_test_p1"]).c_str(), number(m["sample_distance"]["p50"]).c_str(),
                    number(m["test_distance"]["p50"]).c_str(), (long long)m["train_images"].get<int64_t>());
    }
    if (floors) {
        std::printf("floor:   %s\n", j["floor"]["what"].get<std::string>().c_str());
        std::printf("ceiling: %s\n", j["ceiling"]["what"].get<std::string>().c_str());
    }
    if (j.contains("classifier")) {
        std::printf("data: %s, %lld test images\n", j["data"].get<std::string>().c_str(),
                    (long long)j["test_images"].get<int64_t>());
        std::printf("classifier: %s, sha256 %s (%s), trained on %s\n", j["classifier_name"].get<std::string>().c_str(),
                    j["classifier"].get<std::string>().c_str(), j["classifier_source"].get<std::string>().c_str(),
                    j["classifier_data"].get<std::string>().c_str());
        if (j.contains("classifier_resize"))
            std::printf("classifier input: %s\n", j["classifier_resize"].get<std::string>().c_str());
    }
    if (j.contains("protocol")) {
        const nlohmann::json& build = j["protocol"]["minigen"];
        std::printf("minigen %s, commit %s (the whole protocol card: --json)\n",
                    build["version"].get<std::string>().c_str(), build["commit"].get<std::string>().c_str());
    }
    if (j.contains("seconds")) std::printf("time: %.1f s\n", j["seconds"].get<double>());
}

// The data a sample file is scored against: Fashion-MNIST, or --data's image set at
// --image-size (default: the samples' height) with the samples' channels.
models::DataSpec sample_data(const EvalArgs& a, const Tensor& images) {
    models::DataSpec spec;
    if (!models::is_image_data_spec(a.common.data)) {
        MG_CHECK(a.common.image_size == 0 && a.common.channels == 0,
                 "--samples {}: --image-size and --channels go with an image data set (--data)", a.samples_file);
        return spec;
    }
    MG_CHECK(!models::is_paired_data_spec(a.common.data),
             "--samples {}: --data {} is paired data (input, target); score a pix2pix model with minigen eval "
             "pix2pix --checkpoint FILE", a.samples_file, a.common.data);
    spec.source = models::DataSpec::Source::Images;
    spec.images = a.common.data;
    spec.image_size = a.common.image_size > 0 ? a.common.image_size : images.size(2);
    spec.channels = a.common.channels > 0 ? a.common.channels : images.size(1);
    spec.skip_bad = a.common.skip_bad;
    return spec;
}

// `minigen eval classifier`: its accuracy on the test images of its data, and optionally
// the checkpoint frozen into a reference classifier.
nlohmann::json eval_classifier(const EvalArgs& a, models::Model& model, const models::Position& pos,
                               uint64_t seed) {
    eval::RealImages test = eval::load_real_images(model.data_spec(), eval::RealSplit::HeldOut, a.common.data_dir);
    models::ClassifierNet& net = models::classifier_network(model);
    const double acc =
        models::classifier_accuracy(net, data::to_float(test.images, data::PixelRange::ZeroOne), test.labels);
    nlohmann::json j = {{"model", a.model}, {"test_accuracy", acc}, {"test_images", test.images.size(0)},
                        {"data", test.data}};
    j["protocol"] = {{"reference", {{"data", test.data}, {"count", test.images.size(0)}}},
                     {"minigen", eval::minigen_build_card()}};
    if (!a.save_reference.empty() && dist::is_root()) {  // one writer under mpirun
        eval::ReferenceInfo info;
        info.class_names = test.classes;
        info.data = test.data;
        info.test_accuracy = acc;
        info.provenance = fmt::format("minigen train classifier, step {}, seed {}", pos.step, seed);
        eval::write_reference_classifier(net, a.save_reference, info);
        j["reference"] = a.save_reference;
        j["reference_sha256"] = io::sha256_file(a.save_reference);
    }
    return j;
}

// The numbers of a result that are metrics: not its counts and classifier facts (the card
// holds those) nor its time.
bool is_metric(const std::string& key, const nlohmann::json& v) {
    static const std::set<std::string> not_metrics = {"seconds", "step", "samples", "test_images", "likelihood_images",
                                                      "classifier_test_accuracy"};
    return v.is_number() && !not_metrics.count(key);
}

// `minigen eval --compare A B ...`: the metrics of eval results side by side, refused when
// their protocol cards differ (each differing field on stderr, then exit 2).
int run_compare(const EvalArgs& a) {
    MG_CHECK(a.compare.size() >= 2, "eval --compare: give two or more eval results (minigen eval --json output)");
    MG_CHECK(a.model.empty() && a.samples_file.empty(), "eval --compare: compares result files, not a model or --samples");
    std::vector<nlohmann::json> results;
    for (const std::string& path : a.compare) results.push_back(eval::read_eval_result(path));
    const nlohmann::json& card = results[0]["protocol"];
    std::vector<std::string> refused, warnings;
    for (size_t i = 1; i < results.size(); ++i)
        for (const eval::ProtocolDifference& d : eval::protocol_differences(card, results[i]["protocol"])) {
            const std::string line = fmt::format("protocol field {}: {} in {}, {} in {}", d.field, d.a, a.compare[0],
                                                 d.b, a.compare[i]);
            std::fprintf(stderr, "eval --compare: %s%s\n", d.refuses ? "" : "warning: ", line.c_str());
            (d.refuses ? refused : warnings).push_back(d.field);
        }
    MG_CHECK(refused.empty(), "eval --compare: the protocols differ ({}): these results are not comparable",
             fmt::join(refused, ", "));

    std::vector<std::string> metrics;  // in the first file's order, then any others'
    std::set<std::string> seen;
    for (const nlohmann::json& r : results)
        for (const auto& [k, v] : r.items())
            if (is_metric(k, v) && seen.insert(k).second) metrics.push_back(k);
    if (a.json) {
        nlohmann::json table = nlohmann::json::object();
        for (const std::string& m : metrics)
            for (const nlohmann::json& r : results) table[m].push_back(r.contains(m) ? r[m] : nlohmann::json());
        nlohmann::json out = {{"files", a.compare}, {"protocol", card}, {"metrics", table}, {"warnings", warnings}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::vector<size_t> width;
    for (const std::string& path : a.compare) width.push_back(std::max<size_t>(14, path.size()));
    std::printf("%-18s", "metric");
    for (size_t i = 0; i < a.compare.size(); ++i) std::printf(" %*s", int(width[i]), a.compare[i].c_str());
    std::printf("\n");
    for (const std::string& m : metrics) {
        std::printf("%-18s", printable(m).c_str());  // a name from the file: no control characters
        for (size_t i = 0; i < results.size(); ++i)
            std::printf(" %*s", int(width[i]), results[i].contains(m) ? number(results[i][m]).c_str() : "-");
        std::printf("\n");
    }
    return 0;
}

int run_eval(const EvalArgs& a) {
    if (!a.compare.empty()) return run_compare(a);
    apply_threads(a.common.threads);
    // Under mpirun the ranks share the feature extraction and rank 0 alone computes the
    // metrics, reports and writes (models/eval/evaluate.h). The others wait for it in their
    // next collective for as long as a metric takes: no timeout (a failing rank still ends
    // every rank, through MPI_Abort).
    dist::world().set_timeout(0);
    eval::EvalOptions o;
    o.progress = dist::is_root();
    o.samples = a.count;
    o.likelihood_images = a.test_images;
    o.iwae_k = a.iwae_k;
    o.floors = !a.no_floors;
    o.seed = a.common.seed;
    o.eval_batch = a.eval_batch;
    o.data_dir = a.common.data_dir;
    if (!a.classifier.empty()) o.classifier = a.classifier;
    o.memorisation_images = a.memorisation_images;
    if (!a.memorisation_grid.empty()) {
        MG_CHECK(a.memorisation_images > 0, "--memorisation-grid {}: needs --memorisation-images > 0",
                 a.memorisation_grid);
        o.memorisation_grid = a.memorisation_grid;
    }
    o.cas = a.cas;
    o.cas_steps = a.cas_steps;
    MG_CHECK(!a.cas || a.samples_file.empty(), "--cas: needs a conditional model's labelled samples, not --samples {}",
             a.samples_file);

    nlohmann::json j;
    if (!a.samples_file.empty()) {
        MG_CHECK(a.model.empty() && a.checkpoint.empty(), "--samples {}: give a sample file or a model, not both",
                 a.samples_file);
        MG_CHECK(a.range == "0,1" || a.range == "-1,1", "--range {}: must be 0,1 or -1,1", a.range);
        io::require_regular_file(a.samples_file, "--samples");  // a FIFO would block, a directory is a mistake
        Tensor images = eval::load_sample_file(a.samples_file, a.range == "-1,1", &o.sample_values);
        o.data = sample_data(a, images);
        j = eval::score_images(images, Tensor(), o);
        j["samples_file"] = a.samples_file;
        if (o.floors) j.update(eval::floors_and_ceilings(o));
    } else {
        MG_CHECK(!a.model.empty(), "eval: name a model (minigen eval MODEL --checkpoint F) or give --samples FILE");
        MG_CHECK(!a.checkpoint.empty(), "eval {}: --checkpoint is required", a.model);
        std::string trained_as;
        models::ModelConfig config = config_from_checkpoint(a.checkpoint, a.common, &trained_as);
        MG_CHECK(trained_as == a.model, "--checkpoint {}: a checkpoint of '{}', not '{}'", a.checkpoint, trained_as,
                 a.model);
        check_model_takes_data(models::find_model(a.model), a.common);
        std::unique_ptr<models::Model> model = models::find_model(a.model).create(config);
        models::Position pos = models::load_model_checkpoint(*model, a.checkpoint, /*with_optimizers=*/false,
                                                             a.common.allow_nonfinite);
        if (a.model == "classifier") {
            j = eval_classifier(a, *model, pos, config.seed);
        } else if (models::Translation* translation = models::as<models::Translation>(*model)) {
            j = eval::evaluate_translation(*model, *translation, o);  // L1, PSNR, SSIM on held-out pairs
        } else {
            MG_CHECK(a.save_reference.empty(), "--save-reference: only for the classifier, not '{}'", a.model);
            MG_CHECK(!a.cas || models::as<models::ClassConditional>(*model),
                     "--cas: '{}' is not a conditional model (CAS trains on samples of asked-for classes)", a.model);
            j = eval::evaluate_model(*model, o);
        }
        j["checkpoint"] = a.checkpoint;
        j["step"] = pos.step;
    }
    if (!dist::is_root()) return 0;
    if (a.json)
        std::printf("%s\n", j.dump(2).c_str());
    else
        print_text(j);
    return 0;
}

}  // namespace

void add_eval_command(CLI::App& app) {
    static EvalArgs a;
    auto* cmd = app.add_subcommand(
        "eval", "Score a trained model (FID, KID, IS, precision/recall, NLL, modes) or a sample file");
    cmd->add_option("model", a.model, "Model name");
    cmd->add_option("--checkpoint", a.checkpoint, "Checkpoint file (a run's checkpoint.safetensors)");
    cmd->add_option("--samples", a.samples_file,
                    "Score this sample file instead of a model: .npy or IDX (.gz), [N,H,W], [N,C,H,W] or uint8 "
                    "[N,H,W,C], uint8 or float in [0,1], against Fashion-MNIST or --data's held-out images "
                    "(at --image-size, default the samples' size)");
    cmd->add_option("--range", a.range, "Value range of a float sample file: 0,1 (default) or -1,1");
    cmd->add_option("-n,--count", a.count, "Samples to generate and score (0: none)")->check(integer_range(0, 100000));
    cmd->add_option("--test-images", a.test_images, "Test images for likelihoods (default: all 10,000)")
        ->check(integer_range(0, 10000));
    cmd->add_option("--iwae-k", a.iwae_k, "Importance samples of the IWAE bound (VAEs)")->check(integer_range(1, 100000));
    cmd->add_flag("--no-floors", a.no_floors, "Skip the floor (training vs test images) and ceiling (noise)");
    cmd->add_option("--classifier", a.classifier,
                    "Reference classifier: a built-in's name (fashion-mnist, emoji) or a weights file (default: "
                    "the built-in trained on the data)");
    cmd->add_option("--save-reference", a.save_reference,
                    "classifier only: freeze the checkpoint into a reference weights file");
    cmd->add_option("--memorisation-images", a.memorisation_images,
                    "Training images the memorisation check searches for each sample's nearest (0: no check)")
        ->check(integer_range(0, 100000));
    cmd->add_option("--memorisation-grid", a.memorisation_grid,
                    "Write a PNG of the 16 samples nearest a training image, each beside that image");
    cmd->add_flag("--cas", a.cas,
                  "Conditional models: classification accuracy score (train a classifier on the samples, test on "
                  "real images; beside it one trained on as many real images)");
    cmd->add_option("--cas-steps", a.cas_steps, "Training steps (batches of 128) of each CAS classifier")
        ->check(integer_range(1, 100000));
    cmd->add_option("--eval-batch", a.eval_batch,
                    "Images per classifier call (default 500; the results are the same at any size)")
        ->check(integer_range(1, 100000));
    cmd->add_option("--compare", a.compare,
                    "Put the metrics of two or more eval results (minigen eval --json files) side by side; refused "
                    "(exit 2) when their protocol cards differ, naming each differing field");
    cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
    add_common_model_args(*cmd, a.common);
    cmd->callback([] { std::exit(run_eval(a)); });
}

}  // namespace mg::tools
