// The frozen reference classifier every sample metric is computed with.
//
// Its weights are a safetensors file in the repo (models/classifier/reference.safetensors)
// built into the library, so the binary needs no data files; another file can be given
// instead (--classifier FILE). Every metric is reported with the SHA-256 of the weights
// file it used: numbers from different classifiers are not comparable.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/tensor.h"
#include "models/classifier/classifier.h"

namespace mg::eval {

class ReferenceClassifier {
public:
    // `path` empty: the built-in weights.
    static ReferenceClassifier& get(const std::optional<std::string>& path = std::nullopt);

    const std::string& sha256() const { return sha256_; }
    std::string short_hash() const { return sha256_.substr(0, 12); }
    const std::string& source() const { return source_; }  // "built-in" or the file path
    double test_accuracy() const { return test_accuracy_; } // as recorded when it was frozen (0: unknown)

    // images [N,1,28,28] float in [0,1] (any N; batched, no autograd) ->
    Tensor features(const Tensor& images);  // [N,128] float32
    Tensor probs(const Tensor& images);     // [N,10]  softmax
    // Both from one forward pass.
    void features_and_probs(const Tensor& images, Tensor* features, Tensor* probs);

private:
    ReferenceClassifier(const void* bytes, size_t size, std::string source);
    std::shared_ptr<models::ClassifierNet> net_;
    std::string sha256_, source_;
    double test_accuracy_ = 0;
};

bool has_builtin_reference_classifier();

// Freezes a trained classifier checkpoint (minigen train classifier) into a reference
// weights file: the network's tensors and metadata (test accuracy, step, seed).
void write_reference_classifier(models::ClassifierNet& net, const std::string& path, double test_accuracy,
                                const std::string& provenance);

}  // namespace mg::eval
