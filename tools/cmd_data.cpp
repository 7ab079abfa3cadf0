// minigen data export: an image data set's split as NumPy files, exactly the images (and
// labels) a model trains or is tested on, for another framework to train on the same data
// (tools/reference/train_gan_torch.py) or to look at.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/io/input.h"
#include "core/io/npy.h"
#include "models/image_data.h"
#include "tools/cli.h"

namespace mg::tools {

namespace {

struct ExportArgs {
    std::string data, split = "train", out, labels;
    int64_t image_size = 64, channels = 3;
    bool skip_bad = false, json = false;
};

// A file the export may write: its folder exists, and it is not a folder itself.
void check_output_path(const std::string& path, const char* flag) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    MG_CHECK(!fs::is_directory(p), "{} {}: is a directory", flag, io::quote_short(path));
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    MG_CHECK(fs::is_directory(dir), "{} {}: directory {} does not exist", flag, io::quote_short(path),
             io::quote_short(dir.string()));
}

int run_export(const ExportArgs& a) {
    MG_CHECK(models::is_image_data_spec(a.data),
             "--data {}: not an image data set (folder:DIR, npy:FILE[,labels=FILE], emoji[:google,twitter])",
             io::quote_short(a.data));
    check_output_path(a.out, "--out");
    if (!a.labels.empty()) {
        check_output_path(a.labels, "--labels");
        MG_CHECK(std::filesystem::weakly_canonical(a.labels) != std::filesystem::weakly_canonical(a.out),
                 "--labels {}: the same file as --out", io::quote_short(a.labels));
    }
    models::DataSpec spec;
    spec.source = models::DataSpec::Source::Images;
    spec.images = a.data;
    spec.image_size = a.image_size;
    spec.channels = a.channels;
    spec.skip_bad = a.skip_bad;
    const models::ImageSplit split = a.split == "train"  ? models::ImageSplit::Train
                                     : a.split == "test" ? models::ImageSplit::Test
                                                         : models::ImageSplit::All;
    const models::ImageData d = models::load_image_data(spec, split);
    // Each file appears whole or not at all (write_npy: a temporary, then a rename).
    io::write_npy(a.out, d.images);  // uint8 [N, C, S, S]
    if (!a.labels.empty()) io::write_npy(a.labels, d.labels);  // int64 [N]

    nlohmann::json j = {{"data", a.data},          {"split", a.split},     {"images", d.images.size(0)},
                        {"shape", d.images.shape().vec()}, {"classes", d.classes}, {"out", a.out}};
    if (!a.labels.empty()) j["labels"] = a.labels;
    if (a.json) {
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("%s: %lld images uint8 %s (%s split of %s), %zu classes", a.out.c_str(),
                    static_cast<long long>(d.images.size(0)), fmt::format("{}", d.images.shape()).c_str(),
                    a.split.c_str(), a.data.c_str(), d.classes.size());
        if (!a.labels.empty()) std::printf("; labels int64 [%lld] in %s", static_cast<long long>(d.labels.size(0)),
                                           a.labels.c_str());
        std::printf("\n");
    }
    return 0;
}

}  // namespace

void add_data_command(CLI::App& app) {
    static ExportArgs a;
    auto* data = app.add_subcommand("data", "Image data sets as files other tools read");
    data->require_subcommand(1);
    auto* cmd = data->add_subcommand(
        "export", "Write an image data set's split (the images a model trains or is tested on) as .npy files");
    cmd->footer(
        "\nThe images are what the models see before scaling: uint8 [N, C, S, S], fitted to S x S with C\n"
        "channels as training fits them; the labels int64 [N] (class indices in the order of \"classes\").\n"
        "train/test: the held-out split of core/data/holdout.h (about every 10th image of each class is\n"
        "test), the same every time. Files are replaced whole (a temporary, then a rename).\n\n"
        "Example:\n"
        "  minigen data export --data emoji --out emoji_train.npy --labels emoji_train_labels.npy");
    cmd->add_option("--data", a.data, "Image data set: folder:DIR, npy:FILE[,labels=FILE], emoji[:google,twitter]")
        ->required();
    cmd->add_option("--image-size", a.image_size, "Fit the images to N x N (default 64)")->check(integer_range(1, 1024));
    cmd->add_option("--channels", a.channels, "1 (grey) or 3 (RGB, the default)")->check(CLI::IsMember({1, 3}));
    cmd->add_option("--split", a.split, "train (default), test or all")->check(CLI::IsMember({"train", "test", "all"}));
    cmd->add_option("--out", a.out, "The images' .npy file")->required();
    cmd->add_option("--labels", a.labels, "Also write the labels to this .npy file");
    cmd->add_flag("--skip-bad", a.skip_bad, "With folder: data: leave out images that do not decode (else an error)");
    cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
    cmd->callback([] { std::exit(run_export(a)); });
}

}  // namespace mg::tools
