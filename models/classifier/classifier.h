// The reference classifier (workloads.md `classifier`): the network whose frozen
// features score generated images (FID, KID, precision/recall) and whose softmax gives
// the Inception Score and the class histogram.
//
//   x [N,C,H,W] in [0,1]
//   -> blocks of Conv2d(.,c,k3,p1) ReLU MaxPool2, c = 32, 64, 128, 128, ..., one per halving
//      while both sides are at least 8 (28 -> 14 -> 7: 2 blocks; 32 -> 4: 3; 64 -> 4: 4)
//   -> Flatten -> Linear(c*h*w,128) ReLU         = features [N,128]
//   -> Linear(128,K)                             = logits   [N,K]
//
// At 1x28x28 with 10 classes (the default) this is workloads.md's Fashion-MNIST network:
//   Conv2d(1,32) ReLU MaxPool2 -> Conv2d(32,64) ReLU MaxPool2 -> Linear(3136,128) ReLU -> Linear(128,10)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/nn/nn.h"
#include "models/model.h"

namespace mg::models {

// What a classifier takes and tells apart.
struct ClassifierShape {
    int64_t channels = 1, height = 28, width = 28, classes = 10;
    bool operator==(const ClassifierShape&) const = default;
};

class ClassifierNet : public nn::Module {
public:
    static constexpr int64_t kFeatures = 128;
    // Errors for channels not 1 or 3, sides outside 1..1024, or classes outside 2..65536.
    explicit ClassifierNet(const ClassifierShape& shape = {});
    const ClassifierShape& shape() const { return shape_; }
    Tensor features(const Tensor& x);          // [N,C,H,W] -> [N,128]
    Tensor forward(const Tensor& x) override;  // [N,C,H,W] -> logits [N,K]
    std::shared_ptr<nn::Sequential> trunk;
    std::shared_ptr<nn::Linear> head;

private:
    ClassifierShape shape_;
};

// Test accuracy (0..1) of `net` on images [N,C,H,W] in [0,1] and labels int64 [N],
// in eval mode, batched.
double classifier_accuracy(ClassifierNet& net, const Tensor& images, const Tensor& labels);

// The trainable model (registered as "classifier"); the trainer's evaluator reports
// its test accuracy.
ClassifierNet& classifier_network(Model& model);  // throws when `model` is not the classifier
// What the classifier model was built for: its network's input and classes, and its data
// ("fashion-mnist" or an image data set spec, as --data names it).
std::string classifier_data(Model& model);

}  // namespace mg::models
