// DataLoader: deterministic batch order, gathering, and the prefetching worker.
#include "core/data/loader.h"

#include <cstring>
#include <numeric>

#include "kernels/device.h"

namespace mg::data {
namespace {

// Stream ids: the shuffle of epoch e is (e, 0); the transform of batch b is (e, b + 1),
// with the rank in the top byte (rank 0's are those of a single process).
uint64_t stream_id(int64_t epoch, int64_t slot) { return (uint64_t(epoch) << 32) | uint64_t(slot); }

}  // namespace

DataLoader::DataLoader(Tensor images, Tensor labels, LoaderOptions options) : options_(std::move(options)) {
    MG_CHECK(images.defined() && images.dim() >= 1, "DataLoader: images must be a tensor [N, ...]");
    MG_CHECK(images.device() == Device::CPU, "DataLoader: images must be on the CPU, got {}", images.device());
    MG_CHECK(options_.device == Device::CPU || kernels::cuda::available(), "DataLoader: device cuda: {}",
             kernels::cuda::unavailable_reason());
    MG_CHECK(options_.batch_size >= 1, "DataLoader: batch size must be >= 1, got {}", options_.batch_size);
    MG_CHECK(options_.world >= 1 && options_.rank >= 0 && options_.rank < options_.world,
             "DataLoader: rank {} is not a rank of a world of {}", options_.rank, options_.world);
    MG_CHECK(options_.world == 1 || options_.drop_last, "DataLoader: {} ranks need drop_last", options_.world);
    MG_CHECK(options_.prefetch >= 1, "DataLoader: prefetch must be >= 1, got {}", options_.prefetch);
    n_ = images.size(0);
    if (labels.defined()) {
        MG_CHECK(labels.dim() == 1 && labels.dtype() == DType::Int64 && labels.device() == Device::CPU,
                 "DataLoader: labels must be int64 [N] on the CPU, got {} {} on {}", labels.dtype(),
                 labels.shape().str(), labels.device());
        MG_CHECK(labels.size(0) == n_, "DataLoader: {} images but {} labels", n_, labels.size(0));
        labels_ = labels.contiguous();
    }
    images_ = images.contiguous();
    example_bytes_ = n_ > 0 ? images_.numel() / n_ * images_.element_size() : 0;
    MG_CHECK(batches_per_epoch() > 0, "DataLoader: {} examples in batches of {}{} give no batch", n_,
             options_.batch_size, options_.drop_last ? " with drop_last" : "");
}

DataLoader::~DataLoader() { stop_worker(); }

int64_t DataLoader::batches_per_epoch() const {
    const int64_t global = options_.batch_size * options_.world;
    return options_.drop_last ? n_ / global : (n_ + global - 1) / global;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
    std::vector<int64_t> order(static_cast<size_t>(n_));
    std::iota(order.begin(), order.end(), int64_t(0));
    if (!options_.shuffle) return order;
    // Fisher-Yates: position i takes a uniformly chosen element of [0, i].
    RandomStream rng(options_.seed, stream_id(epoch, 0));
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(order[size_t(i)], order[rng.below(uint64_t(i + 1))]);
    return order;
}

Batch DataLoader::make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const {
    const int64_t begin = (index * options_.world + options_.rank) * options_.batch_size;
    const int64_t count = std::min(options_.batch_size, n_ - begin);
    Batch out;
    out.epoch = epoch;
    out.index = index;
    out.indices.assign(order.begin() + begin, order.begin() + begin + count);

    Shape shape = images_.shape();
    shape[0] = count;
    Tensor images = empty(shape, {images_.dtype()});
    const auto* src = static_cast<const uint8_t*>(images_.raw_data());
    auto* dst = static_cast<uint8_t*>(images.raw_data());
    for (int64_t i = 0; i < count; ++i)
        std::memcpy(dst + i * example_bytes_, src + out.indices[size_t(i)] * example_bytes_, size_t(example_bytes_));
    if (labels_.defined()) {
        out.labels = empty(Shape{count}, {DType::Int64});
        const int64_t* l = labels_.data<int64_t>();
        int64_t* d = out.labels.data<int64_t>();
        for (int64_t i = 0; i < count; ++i) d[i] = l[out.indices[size_t(i)]];
    }
    if (options_.transform) {
        RandomStream rng(options_.seed, stream_id(epoch, index + 1) ^ (uint64_t(options_.rank) << 56));
        out.images = options_.transform(images, rng);
    } else {
        out.images = images;
    }
    if (options_.device != Device::CPU) {  // on the worker thread: the upload overlaps training
        out.images = out.images.to(options_.device);
        if (out.labels.defined()) out.labels = out.labels.to(options_.device);
    }
    return out;
}

std::optional<Batch> DataLoader::next() {
    if (error_) std::rethrow_exception(error_);
    if (!options_.background) {
        if (batch_ == batches_per_epoch()) {
            ++epoch_;
            batch_ = 0;
            return std::nullopt;
        }
        if (order_epoch_ != epoch_) {
            order_ = epoch_order(epoch_);
            order_epoch_ = epoch_;
        }
        return make_batch(epoch_, batch_++, order_);
    }

    if (!worker_.joinable()) start_worker();
    Item item;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [&] { return !queue_.empty(); });
        item = std::move(queue_.front());
        queue_.pop_front();
    }
    not_full_.notify_one();
    if (item.error) {
        error_ = item.error;
        std::rethrow_exception(error_);
    }
    if (!item.batch) {
        ++epoch_;
        batch_ = 0;
        return std::nullopt;
    }
    ++batch_;
    return std::move(item.batch);
}

void DataLoader::seek(int64_t epoch, int64_t batch) {
    MG_CHECK(epoch >= 0 && batch >= 0 && batch <= batches_per_epoch(),
             "DataLoader::seek: epoch {} batch {} is out of range ({} batches per epoch)", epoch, batch,
             batches_per_epoch());
    stop_worker();
    epoch_ = epoch;
    batch_ = batch;
    error_ = nullptr;
}

void DataLoader::start_worker() {
    stop_ = false;
    queue_.clear();
    worker_ = std::thread([this, e = epoch_, b = batch_] { worker_loop(e, b); });
}

void DataLoader::stop_worker() {
    if (!worker_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    not_full_.notify_all();
    worker_.join();
    queue_.clear();
}

bool DataLoader::push(Item item) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return stop_ || int(queue_.size()) < options_.prefetch; });
    if (stop_) return false;
    queue_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return true;
}

// Produces the consumer's sequence from (epoch, batch) on: each epoch's batches, then an
// end-of-epoch item, forever, until stopped or a batch throws.
void DataLoader::worker_loop(int64_t epoch, int64_t batch) {
    try {
        for (;; ++epoch, batch = 0) {
            const std::vector<int64_t> order = epoch_order(epoch);
            for (; batch < batches_per_epoch(); ++batch)
                if (!push(Item{make_batch(epoch, batch, order), nullptr})) return;
            if (!push(Item{})) return;
        }
    } catch (...) {
        push(Item{std::nullopt, std::current_exception()});
    }
}

}  // namespace mg::data
