// The frozen reference classifier every sample metric is computed with.
//
// Its weights are a safetensors file whose metadata records what it takes and knows
// (ReferenceInfo). Two are built into the library, so the binary needs no data files:
//   fashion-mnist   models/classifier/reference.safetensors, 1x28x28, Fashion-MNIST's 10 classes
//   emoji           models/classifier/emoji.safetensors, 3x32x32, the emoji set's 9 classes
// Another file can be given instead (--classifier FILE). Every metric is reported with the
// SHA-256 of the weights file it used: numbers from different classifiers are not comparable.
//
// Images of another height and width than the classifier's are resized to its size with an
// area (box) filter through 8 bits (core/data/resize.h), real images and samples alike.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/classifier/classifier.h"

namespace mg::eval {

// What a reference weights file records beside its tensors (safetensors metadata, all strings):
//   model "classifier", channels, height, width, classes (integers), class_names (a JSON
//   array of strings), data (the --data it was trained on), test_accuracy (0..1, on that
//   data's held-out images), provenance.
// The Fashion-MNIST file predates the shape keys: a file with none of them is 1x28x28 with
// Fashion-MNIST's classes.
struct ReferenceInfo {
    models::ClassifierShape shape;
    std::vector<std::string> class_names;
    std::string data = "fashion-mnist";
    double test_accuracy = 0;
    std::string provenance;
};

// Checks every field of an untrusted file's metadata; errors open with `what` (the file).
ReferenceInfo read_reference_info(const std::map<std::string, std::string>& metadata, const std::string& what);

class ReferenceClassifier {
public:
    // `which`: a built-in's name (builtin_reference_classifiers()) or a weights file;
    // nullopt: the Fashion-MNIST one. Loaded once per process.
    static ReferenceClassifier& get(const std::optional<std::string>& which = std::nullopt);
    // The classifier that scores images of `data` ("fashion-mnist" or an image set spec):
    // `which` when given, else the built-in trained on `data`; else an error saying how to
    // train one.
    static ReferenceClassifier& select(const std::optional<std::string>& which, const std::string& data);
    // Reads weights from memory (a file's bytes); `source` names it in errors.
    static std::unique_ptr<ReferenceClassifier> from_bytes(const void* bytes, size_t size, const std::string& source,
                                                           const std::string& name);

    const std::string& sha256() const { return sha256_; }
    std::string short_hash() const { return sha256_.substr(0, 12); }
    const std::string& source() const { return source_; }  // "built-in" or the file path
    const std::string& name() const { return name_; }      // the built-in's name, or the file path
    const ReferenceInfo& info() const { return info_; }
    double test_accuracy() const { return info_.test_accuracy; }  // as recorded when it was frozen

    // images [N,C,H,W] float in [0,1] with the classifier's C, any H x W (resized to its
    // size when they differ); any N, batched, no autograd; each image's row is bit for bit
    // the same whatever the batch it comes in ->
    Tensor features(const Tensor& images);  // [N,128] float32
    Tensor probs(const Tensor& images);     // [N,K]   softmax
    // Both from one forward pass.
    void features_and_probs(const Tensor& images, Tensor* features, Tensor* probs);
    // True when images of h x w are resized before they are classified.
    bool resizes(int64_t h, int64_t w) const { return h != info_.shape.height || w != info_.shape.width; }
    // The frozen network itself (style transfer reads its convolutional blocks' activations).
    const models::ClassifierNet& network() const { return *net_; }

private:
    ReferenceClassifier() = default;
    std::shared_ptr<models::ClassifierNet> net_;
    std::string sha256_, source_, name_;
    ReferenceInfo info_;
};

// The names of the built-in classifiers this build has ("fashion-mnist", "emoji").
std::vector<std::string> builtin_reference_classifiers();
bool has_builtin_reference_classifier(const std::string& name = "fashion-mnist");

// Freezes a trained classifier (minigen eval classifier --save-reference) into a reference
// weights file: the network's tensors and `info` as metadata (its shape is the network's).
void write_reference_classifier(models::ClassifierNet& net, const std::string& path, ReferenceInfo info);

}  // namespace mg::eval
