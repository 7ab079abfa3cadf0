#include "models/eval/cas.h"

#include <cstring>

#include "core/autograd.h"
#include "core/data/random_stream.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/eval/feature_metrics.h"
#include "optim/adam.h"

namespace mg::eval {

double train_and_test_classifier(const models::ClassifierShape& shape, const Tensor& train_images,
                                 const Tensor& train_labels, const Tensor& test_images, const Tensor& test_labels,
                                 const CasBudget& budget) {
    auto check_images = [&](const Tensor& images, const Tensor& labels, const char* which) {
        MG_CHECK(images.dim() == 4 && images.size(1) == shape.channels && images.size(2) == shape.height &&
                     images.size(3) == shape.width && images.size(0) >= 1,
                 "cas: the {} images must be [N, {}, {}, {}], got {}", which, shape.channels, shape.height,
                 shape.width, images.shape());
        MG_CHECK(labels.dim() == 1 && labels.dtype() == DType::Int64 && labels.size(0) == images.size(0),
                 "cas: {} labels must be int64 [{}], got {} {}", which, images.size(0), labels.dtype(), labels.shape());
    };
    check_images(train_images, train_labels, "training");
    check_images(test_images, test_labels, "test");
    MG_CHECK(budget.steps >= 1 && budget.batch_size >= 1 && budget.lr > 0,
             "cas: the budget needs steps >= 1, batch_size >= 1 and lr > 0, got {}, {}, {}", budget.steps,
             budget.batch_size, budget.lr);
    const Tensor images = train_images.to(Device::CPU).to(DType::Float32).contiguous();
    const Tensor labels = train_labels.to(Device::CPU).contiguous();
    const int64_t n = images.size(0), batch = std::min(budget.batch_size, n);

    manual_seed(budget.seed);
    models::ClassifierNet net(shape);
    optim::AdamOptions o;
    o.lr = budget.lr;
    optim::Adam adam(net.parameters(), o);
    std::vector<int64_t> order;
    int64_t at = n, epoch = 0;
    for (int64_t step = 0; step < budget.steps; ++step) {
        if (at + batch > n) {  // a new epoch: a fresh shuffle, the tail of the last one dropped
            data::RandomStream rng(budget.seed, uint64_t(epoch++));
            order = draw_rows(n, n, rng);
            at = 0;
        }
        const std::vector<int64_t> rows(order.begin() + at, order.begin() + at + batch);
        at += batch;
        Tensor loss = cross_entropy(net(gather_rows(images, rows)), gather_rows(labels, rows));
        adam.zero_grad();
        loss.backward();
        adam.step();
    }
    return models::classifier_accuracy(net, test_images.to(Device::CPU).to(DType::Float32), test_labels.to(Device::CPU));
}

}  // namespace mg::eval
