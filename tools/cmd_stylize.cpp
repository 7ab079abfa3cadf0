// minigen stylize --content IMG --style IMG --out OUT.png: Gatys et al.'s neural style transfer,
// optimising the picture itself (models/style/gatys.h) on a frozen feature network
// (models/style/feature_network.h: the emoji or Fashion-MNIST classifier, or a random net).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/io/image.h"
#include "core/io/input.h"
#include "core/ops.h"
#include "core/progress.h"
#include "models/style/gatys.h"
#include "models/style/style_image.h"
#include "tools/cli.h"

namespace mg::tools {

namespace {

struct StylizeArgs {
    std::string content, style, out, features = "emoji";
    int64_t size = 0;  // 0: the network's default
    style::GatysOptions gatys;
    uint64_t seed = 0;
    bool compare = false;
    int threads = 0;
};

void check_output_png(const std::string& path) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    MG_CHECK(!fs::is_directory(p), "--out {}: is a directory", io::quote_short(path));
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    MG_CHECK(fs::is_directory(dir), "--out {}: directory {} does not exist", io::quote_short(path),
             io::quote_short(dir.string()));
}

int run_stylize(const StylizeArgs& a) {
    apply_threads(a.threads);
    check_output_png(a.out);
    const style::FeatureNetwork features(style::parse_feature_kind(a.features), a.seed);
    const int64_t size = a.size > 0 ? a.size : features.default_size();
    const int64_t channels = features.channels();
    const Tensor content = style::read_style_image(a.content, channels, size, "--content");
    const Tensor style_image = style::read_style_image(a.style, channels, size, "--style");

    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    CountProgress progress("stylize", a.gatys.steps, "step");
    progress.plain_interval_s = 2.0;
    double first = 0, last = 0;
    style::StyleTerms final_terms;
    Tensor result = style::gatys_stylize(features, content, style_image, a.gatys,
                                         [&](int64_t step, const style::StyleTerms& t) {
                                             last = t.total.item();
                                             if (step == 1) first = last;
                                             final_terms = t;
                                             progress.update(step);
                                         });
    progress.finish(a.gatys.steps);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (a.gatys.steps > 0)
        std::fprintf(stderr,
                     "stylize: %s features at %lldx%lld, loss %.4g -> %.4g (content %.4g, style %.4g, tv %.4g), "
                     "%.2f s\n",
                     a.features.c_str(), (long long)size, (long long)size, first, last, final_terms.content.item(),
                     final_terms.style.item(), final_terms.tv.item(), seconds);
    io::GridOptions grid;
    grid.lo = 0.0, grid.hi = 1.0;
    if (a.compare) {
        grid.nrow = 3;
        grid.scale = 2;  // small images, readable side by side
        io::write_png_grid(a.out, cat({content, style_image, result}, 0), grid);
    } else {
        grid.border = 0;
        io::write_png_grid(a.out, result, grid);
    }
    std::printf("%s\n", a.out.c_str());
    return 0;
}

}  // namespace

void add_stylize_command(CLI::App& app) {
    static StylizeArgs a;
    auto* cmd = app.add_subcommand("stylize",
                                   "Neural style transfer (Gatys et al.): repaint --content in the style of --style "
                                   "by optimising its pixels");
    cmd->add_option("--content", a.content, "Content image (PNG or JPEG)")->required();
    cmd->add_option("--style", a.style, "Style image (PNG or JPEG)")->required();
    cmd->add_option("--out", a.out, "Output PNG")->required();
    cmd->add_option("--features", a.features,
                    "Feature network: emoji (the built-in emoji classifier, 64x64 colour), fashion (the "
                    "Fashion-MNIST classifier, 28x28 grey: colour images are made grey) or random (a seeded "
                    "random conv net, 64x64 colour)");
    cmd->add_option("--size", a.size, "Side the images are cropped square and resized to (default: the network's)")
        ->check(integer_range(8, 512));
    cmd->add_option("--steps", a.gatys.steps, "Adam steps on the pixels")->check(integer_range(0, 100000));
    cmd->add_option("--lr", a.gatys.lr, "Adam's learning rate, in pixel units of [0, 1]")
        ->check(number_range(0, 1, true));
    cmd->add_option("--content-weight", a.gatys.weights.content, "Weight of the content loss")->check(number_range(0));
    cmd->add_option("--style-weight", a.gatys.weights.style, "Weight of the Gram-matrix style loss")
        ->check(number_range(0));
    cmd->add_option("--tv-weight", a.gatys.weights.tv, "Weight of the total-variation smoothness loss")
        ->check(number_range(0));
    cmd->add_option("--seed", a.seed, "Seed of the random feature network");
    cmd->add_flag("--compare", a.compare, "Write content | style | result side by side instead of the result alone");
    add_threads_option(*cmd, a.threads);
    cmd->callback([] { std::exit(run_stylize(a)); });
}

}  // namespace mg::tools
