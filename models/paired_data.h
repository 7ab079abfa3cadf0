// Paired image data for image-to-image models (pix2pix): each example is an input image and
// the target image it should become, stored as one image whose channels are the input's
// followed by the target's:
//
//   [N, Ci + Co, S, S] uint8     channels 0 .. Ci-1: the input, Ci .. Ci+Co-1: the target
//
// so the one loader, its shuffling and its geometric augmentation (flips, crops) treat
// both sides of a pair alike, and a batch splits back with split_pair.
//
// Sources (--data):
//   edges:SPEC              input: the Sobel edge map of the image (core/data/edges.h), grey;
//                           target: the image. SPEC: fashion-mnist (28 x 28 grey; its test
//                           file is the held-out split) or any image data set (folder:DIR,
//                           npy:FILE, emoji[:VENDOR]).
//   emoji-pair:A,B          the same emoji (code point) drawn by vendor A (input) and vendor
//                           B (target), A and B in {google, twitter}: the emoji present in
//                           both; held out exactly as the unpaired emoji set holds them out.
// Both sides have the same size by construction; the channels option is the target's.
#pragma once

#include <string>

#include "models/image_data.h"

namespace mg::models {

bool is_paired_data_spec(const std::string& spec);

// The unpaired data set a paired spec is made from: SPEC of edges:SPEC, "emoji:A,B" of
// emoji-pair:A,B. Throws naming the spec when it is malformed.
std::string paired_source(const std::string& spec);

// Channels of the input side for images of `channels`: 1 for edges and lab, else the image's.
int64_t paired_input_channels(const std::string& spec, int64_t channels);
// Channels of the target side for images of `channels`: 2 (a*b*) for lab, else the image's.
int64_t paired_target_channels(const std::string& spec, int64_t channels);

// What a side of a pair looks like, as an image in [-1, 1] (sample grids, scores): for lab
// data the L* of `input` [B, 1, S, S] with the a*b* of `ab` [B, 2, S, S] (grey where `ab` is
// undefined), converted to sRGB and clipped; for other data `ab` itself, or `input` when `ab`
// is undefined. Both sides in the loader's [-1, 1].
Tensor paired_as_image(const std::string& spec, const Tensor& input, const Tensor& ab = {});

// spec.images is a paired spec: the pairs of `split`, stacked as above; labels: the target's class.
ImageData load_paired_image_data(const DataSpec& spec, ImageSplit split);

// The pairs a sample grid shows, stacked, as floats in spec.range: the held-out ones; a data
// set too small to hold any out (fewer than 10 images a class) gives its training pairs
// instead, so that a run on it still draws its grids (a real data error is raised again by
// that load).
Tensor load_sample_pairs(const DataSpec& spec);

// inputs [N, Ci, S, S] and targets [N, Co, S, S] (one dtype) -> [N, Ci + Co, S, S]; an error
// naming `what` and both shapes when their counts or sizes differ.
Tensor stack_pair(const Tensor& inputs, const Tensor& targets, const std::string& what);

struct PairedBatch {
    Tensor input, target;  // [B, Ci, S, S], [B, C - Ci, S, S] views of the stacked batch
};
// Splits a stacked batch [B, C, S, S] after its first `input_channels` channels; an error
// when it has no target channels left.
PairedBatch split_pair(const Tensor& stacked, int64_t input_channels);

}  // namespace mg::models
