#include "tools/sample_post.h"

#include <charconv>

#include <algorithm>
#include "core/io/input.h"

namespace mg::tools {

namespace {

struct StepName {
    const char* name;
    PostStep::Kind kind;
    double fallback, lo, hi;  // default parameter and its range (lo > hi: takes none)
    bool integer;
};

constexpr StepName kSteps[] = {
    {"median", PostStep::Kind::median, 3, 1, 15, true},
    {"bilateral", PostStep::Kind::bilateral, 1.5, 0.1, 20, false},
    {"unsharp", PostStep::Kind::unsharp, 2, 0.1, 20, false},
    {"grey-world", PostStep::Kind::grey_world, 0, 1, 0, false},
    {"histmatch", PostStep::Kind::histmatch, 0, 1, 0, false},
    {"upscale", PostStep::Kind::upscale, 2, 2, 8, true},
};

PostStep parse_step(const std::string& text) {
    const size_t colon = text.find(':');
    const std::string name = text.substr(0, colon);
    for (const StepName& s : kSteps) {
        if (name != s.name) continue;
        PostStep step{s.kind, s.fallback};
        if (colon == std::string::npos) return step;
        MG_CHECK(s.lo <= s.hi, "--post {}: '{}' takes no parameter", io::quote_short(text), name);
        const std::string arg = text.substr(colon + 1);
        const char* end = arg.data() + arg.size();
        auto [ptr, ec] = std::from_chars(arg.data(), end, step.value);
        MG_CHECK(ec == std::errc() && ptr == end && step.value >= s.lo && step.value <= s.hi &&
                     (!s.integer || step.value == double(int64_t(step.value))),
                 "--post {}: '{}' takes {} in [{}, {}], got {}", io::quote_short(text), name,
                 s.integer ? "an integer" : "a number", s.lo, s.hi, io::quote_short(arg));
        MG_CHECK(s.kind != PostStep::Kind::median || int64_t(step.value) % 2 == 1,
                 "--post {}: the median window must be odd", io::quote_short(text));
        return step;
    }
    MG_FAIL("--post: unknown step {} (median[:K], bilateral[:S], unsharp[:R], grey-world, histmatch, upscale[:F])",
            io::quote_short(text));
}

}  // namespace

std::vector<PostStep> parse_post(const std::string& list) {
    std::vector<PostStep> steps;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        steps.push_back(parse_step(list.substr(start, comma - start)));
        MG_CHECK(steps.size() <= 32, "--post: at most 32 steps");
        start = comma + 1;
    }
    return steps;
}

bool needs_histograms(const std::vector<PostStep>& steps) {
    for (const PostStep& s : steps)
        if (s.kind == PostStep::Kind::histmatch) return true;
    return false;
}

std::vector<io::ImageU8> apply_post(std::vector<io::ImageU8> images, const std::vector<PostStep>& steps,
                                    const data::ChannelHistograms* reference) {
    for (const PostStep& s : steps)
        for (io::ImageU8& im : images) switch (s.kind) {
                case PostStep::Kind::median: im = data::median_filter(im, int64_t(s.value)); break;
                case PostStep::Kind::bilateral: im = data::bilateral_filter(im, s.value, 30.0); break;
                case PostStep::Kind::unsharp: im = data::unsharp_mask(im, s.value); break;
                case PostStep::Kind::grey_world: im = data::grey_world(im); break;
                case PostStep::Kind::histmatch:
                    MG_CHECK(reference != nullptr, "--post histmatch: no training data histograms");
                    im = data::match_histograms(im, *reference);
                    break;
                case PostStep::Kind::upscale: im = data::upscale(im, int64_t(s.value)); break;
            }
    return images;
}

}  // namespace mg::tools
