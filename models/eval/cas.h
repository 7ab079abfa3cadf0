// Classification Accuracy Score (Ravuri & Vinyals 2019) of a conditional generator: a fresh
// classifier of the reference architecture (models/classifier) is trained on generated
// images labelled with the class they were asked for, then tested on the held-out real
// images. A generator whose samples carry their class as real images do scores near a
// classifier trained on as many real images for the same budget (reported beside it).
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "models/classifier/classifier.h"

namespace mg::eval {

// The short training budget: Adam at lr, `steps` batches of batch_size rows, each epoch a
// fresh shuffle from RandomStream(seed, epoch); the weights start from manual_seed(seed).
struct CasBudget {
    int64_t steps = 600, batch_size = 128;
    double lr = 1e-3;
    uint64_t seed = 0;
};

// Trains ClassifierNet(shape) on train_images [N,C,H,W] float in [0,1] with int64 labels [N]
// and returns its accuracy (0..1) on test_images/test_labels (the same layout).
double train_and_test_classifier(const models::ClassifierShape& shape, const Tensor& train_images,
                                 const Tensor& train_labels, const Tensor& test_images, const Tensor& test_labels,
                                 const CasBudget& budget);

}  // namespace mg::eval
