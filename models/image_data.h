// An image data set (core/data/image_dataset.h) as the tensors the trainer's loader takes,
// fitted to what a model's DataSpec asks for.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"
#include "core/data/image_dataset.h"
#include "models/options.h"

namespace mg::models {

struct ImageData {
    Tensor images;  // uint8 [N, C, S, S] on the CPU
    Tensor labels;  // int64 [N]
    std::vector<std::string> classes;
};

// Which images of the data set: the training split, the held-out one (core/data/holdout.h:
// about every 10th image of each class, the same every time) or all of them.
enum class ImageSplit { Train, Test, All };

// Opens spec.images at spec.image_size x spec.image_size with spec.channels (the image
// cache's default folder, skip_bad as the spec says) and keeps `split`'s images.
// A paired spec (models/paired_data.h) gives its pairs, stacked on the channel axis.
ImageData load_image_data(const DataSpec& spec, ImageSplit split = ImageSplit::Train);

// The unpaired data set of spec.images, fitted to its size and channels (a view of the cache).
data::ImageDataset open_image_data_set(const DataSpec& spec);

// What an image model trains on, as its options: recorded in the config, so a checkpoint
// rebuilds the same networks without the data. 0: the data's own (Fashion-MNIST: 28, 1
// channel, 10 classes; an image set: 64, 3 channels, its classes).
struct ImageDataOptions {
    std::string data = "fashion-mnist";  // or an image data set ("folder:DIR", "npy:FILE", "emoji")
    int64_t image_size = 0;
    int64_t channels = 0;
    int64_t classes = 0;    // conditional models: labels in [0, classes)
    bool hflip = false;     // random left-right flips of the real images
    bool skip_bad = false;  // images that do not decode are left out (else an error)
    // Training augmentation of the real images (core/data/transforms.h's augment): reflect-pad
    // by `crop` pixels and crop back at random (0: off; below image_size), and colour jitter
    // "B,C,S,H" or "B" (core/data/augment.h's parse_color_jitter; "": off).
    int64_t crop = 0;
    std::string jitter;

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        f("data", o.data);
        f("image_size", o.image_size, IntRange{0, 1024});
        f("channels", o.channels, IntRange{0, 3});
        f("classes", o.classes, IntRange{0, 1 << 20});
        f("hflip", o.hflip);
        f("skip_bad", o.skip_bad);
        f("crop", o.crop, IntRange{0, 1023});
        f("jitter", o.jitter);
    }
    bool fashion() const { return data == "fashion-mnist"; }
    DataSpec spec() const;  // source, images, size, channels, skip_bad, augmentation (range and labels: the model's)

    // Takes this struct's keys out of `options` (the rest are the model's own), checks them
    // (errors open with `what`, e.g. "image gan options") and fills in the defaults; the
    // classes are counted from the data when `conditional` and not given. Paired data
    // (models/paired_data.h) is refused unless `paired`, and required when it is.
    static ImageDataOptions take(nlohmann::json& options, const std::string& what, bool conditional,
                                 bool paired = false);
};

// True for the --data values that name an image data set ("folder:", "npy:", "emoji", and the
// paired "edges:", "emoji-pair:").
bool is_image_data_spec(const std::string& spec);

}  // namespace mg::models
