// minigen sample --post LIST: postprocessing (core/data/postprocess.h) of the samples before
// the grid is written, steps applied left to right:
//   median[:K]        median filter, K x K (odd, 1..15; default 3)
//   bilateral[:S]     bilateral filter, sigma_space S pixels (default 1.5), sigma_color 30
//   unsharp[:R]       unsharp mask, radius R (default 2), 150 %, threshold 3
//   grey-world        grey-world white balance
//   histmatch         each channel's histogram matched to the training data's
//   upscale[:F]       Lanczos upscaling by F (2..8; default 2)
#pragma once

#include <string>
#include <vector>

#include "core/data/postprocess.h"

namespace mg::tools {

struct PostStep {
    enum class Kind { median, bilateral, unsharp, grey_world, histmatch, upscale };
    Kind kind;
    double value = 0;  // the step's parameter (its default when not given)
};

// An mg::Error naming --post and the step for anything unknown or out of range.
std::vector<PostStep> parse_post(const std::string& list);
bool needs_histograms(const std::vector<PostStep>& steps);
// `reference`: the training data's histograms (histmatch only; may be null otherwise).
std::vector<io::ImageU8> apply_post(std::vector<io::ImageU8> images, const std::vector<PostStep>& steps,
                                    const data::ChannelHistograms* reference);

}  // namespace mg::tools
