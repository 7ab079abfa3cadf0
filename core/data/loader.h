// DataLoader: batches of (images, labels) in a seeded order, prepared ahead on a
// worker thread while the current batch trains.
//
//   DataLoader loader(ds.images, ds.labels, {.batch_size = 64, .seed = 1,
//                     .transform = transforms::to_float(PixelRange::MinusOneOne)});
//   for (Batch& b : loader) { ... }            // one epoch; the next loop is the next epoch
//   while (auto b = loader.next()) { ... }     // the same, by hand
//
// Order: epoch e visits every example exactly once, in a Fisher-Yates permutation drawn
// from RandomStream(seed, e) (or in index order without shuffle). Batch b of epoch e is
// transformed with its own RandomStream(seed, e, b). So every batch is a pure function of
// (data, seed, epoch, batch index): the same with or without the worker thread, whatever
// the timing, and a run resumed with seek(epoch, batch) sees exactly the batches it would
// have seen.
//
// Data-parallel (rank, world): the global batch is world * batch_size, in the same epoch
// order as one process; rank r takes the r-th block of batch_size examples of each global
// batch (DistributedSampler's semantics, in contiguous blocks), and batches_per_epoch()
// counts global batches. Rank r's transforms draw from their own streams.
//
// The worker keeps at most `prefetch` batches ready (a bounded queue). An exception in
// the worker (a transform that throws) is re-thrown by next(). The destructor stops and
// joins the worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/data/transforms.h"
#include "core/tensor.h"

namespace mg::data {

struct Batch {
    Tensor images;                 // the transform's output, e.g. float32 [B, 1, 28, 28]
    Tensor labels;                 // int64 [B]; undefined when the loader has no labels
    std::vector<int64_t> indices;  // which examples, in batch order
    int64_t epoch = 0;
    int64_t index = 0;  // batch index within the epoch
};

struct LoaderOptions {
    int64_t batch_size = 64;
    bool shuffle = true;
    bool drop_last = false;  // drop the last, smaller batch of an epoch
    uint64_t seed = 0;
    Transform transform = {};  // empty: batches as stored (uint8 images stay uint8)
    bool background = true;  // prepare batches on a worker thread
    int prefetch = 2;        // batches the worker keeps ready
    // Where batches are delivered. CUDA: the worker uploads each batch (through pinned
    // staging buffers) while the previous one trains.
    Device device = Device::CPU;
    int rank = 0;   // this process's part of each global batch (data-parallel training)
    int world = 1;  // processes sharing each global batch; more than 1 needs drop_last
};

class DataLoader {
public:
    // images: [N, ...] on the CPU, any dtype; labels: int64 [N], or undefined.
    DataLoader(Tensor images, Tensor labels, LoaderOptions options = {});
    ~DataLoader();
    DataLoader(const DataLoader&) = delete;
    DataLoader& operator=(const DataLoader&) = delete;

    // The next batch of the current epoch, or std::nullopt once the epoch is done;
    // the call after that starts the next epoch.
    std::optional<Batch> next();
    // Continue from batch `batch` of epoch `epoch` (resuming a run from a checkpoint).
    void seek(int64_t epoch, int64_t batch = 0);

    int64_t epoch() const { return epoch_; }        // epoch of the batch next() returns
    int64_t batch_index() const { return batch_; }  // its index within that epoch
    int64_t size() const { return n_; }             // examples
    int64_t batches_per_epoch() const;
    const LoaderOptions& options() const { return options_; }
    // The example order of an epoch: a permutation of [0, N), or the identity without shuffle.
    std::vector<int64_t> epoch_order(int64_t epoch) const;

    // Range-for over the rest of the current epoch.
    struct EpochIterator {
        DataLoader* loader;
        std::optional<Batch> batch;
        Batch& operator*() { return *batch; }
        Batch* operator->() { return &*batch; }
        EpochIterator& operator++() {
            batch = loader->next();
            return *this;
        }
        bool operator==(std::default_sentinel_t) const { return !batch.has_value(); }
    };
    EpochIterator begin() { return {this, next()}; }
    std::default_sentinel_t end() { return {}; }

private:
    // One slot of the queue: a batch, the end of an epoch, or the worker's exception.
    struct Item {
        std::optional<Batch> batch;
        std::exception_ptr error;
    };

    Batch make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const;
    void start_worker();
    void stop_worker();
    void worker_loop(int64_t epoch, int64_t batch);
    bool push(Item item);  // false when asked to stop

    Tensor images_, labels_;
    LoaderOptions options_;
    int64_t n_ = 0;
    int64_t example_bytes_ = 0;

    // Consumer position.
    int64_t epoch_ = 0, batch_ = 0;
    std::exception_ptr error_;  // kept: next() keeps re-throwing it
    // Synchronous mode: the current epoch's order.
    std::vector<int64_t> order_;
    int64_t order_epoch_ = -1;

    // Worker.
    std::thread worker_;
    std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
    std::deque<Item> queue_;
    bool stop_ = false;
};

}  // namespace mg::data
