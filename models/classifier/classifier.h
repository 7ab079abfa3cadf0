// The reference classifier (workloads.md `classifier`): the network whose frozen
// features score generated images (FID, KID, precision/recall) and whose softmax gives
// the Inception Score and the class histogram.
//
//   x [N,1,28,28] in [0,1]
//   -> Conv2d(1,32,k3,p1) ReLU MaxPool2 -> Conv2d(32,64,k3,p1) ReLU MaxPool2
//   -> Flatten -> Linear(3136,128) ReLU          = features [N,128]
//   -> Linear(128,10)                            = logits   [N,10]
#pragma once

#include <memory>

#include "core/nn/nn.h"
#include "models/model.h"

namespace mg::models {

class ClassifierNet : public nn::Module {
public:
    ClassifierNet();
    Tensor features(const Tensor& x);          // [N,1,28,28] -> [N,128]
    Tensor forward(const Tensor& x) override;  // [N,1,28,28] -> logits [N,10]
    std::shared_ptr<nn::Sequential> trunk;
    std::shared_ptr<nn::Linear> head;
};

// Test accuracy (0..1) of `net` on images [N,1,28,28] in [0,1] and labels int64 [N],
// in eval mode, batched.
double classifier_accuracy(ClassifierNet& net, const Tensor& images, const Tensor& labels);

// The trainable model (registered as "classifier"); the trainer's evaluator reports
// its test accuracy.
ClassifierNet& classifier_network(Model& model);  // throws when `model` is not the classifier

}  // namespace mg::models
