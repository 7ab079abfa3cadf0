// GradBucketer: one optimizer's gradients averaged over the ranks while backward still runs
// (the design of PyTorch DDP's reducer and llm.c's zero.cuh).
//
// The parameters are assigned to buckets of at most `bucket_bytes` of one dtype in reverse
// registration order, the order backward finishes them. The autograd engine reports each time
// it adds to a parameter's gradient (autograd::set_leaf_gradient_hook -> gradient_added());
// once every parameter of a bucket has received its last gradient of the step, the bucket is
// packed and a non-blocking all-reduce (Collective::start_all_reduce) starts while backward
// goes on. The optimizer's gradient hook (finish()) waits for them and copies the averages back.
//
// "Its last gradient": how many times backward adds to each parameter's gradient between two
// steps of its optimizer is learned at the first step (reduced after backward, as without
// overlap) and expected from then on. So a GAN's G, whose gradients D's backward also reaches
// in D's step (no-detach graphs), launches nothing in D's step; a gradient penalty's double
// backward is one backward (its create_graph gradient is taken with autograd::grad, which adds
// to no .grad). A step that breaks the pattern (a gradient changed after its bucket left: a
// later backward, clipping; one that appeared or vanished) is caught at finish() by the
// gradients' storage and version: those buckets are reduced again there, synchronously, and
// the counts are learned anew. The result is the same either way; only the overlap is lost.
//
// Every rank must see the same sequence of gradient additions (the same model code does).
// Between hooks the rank polls its oldest reduction in flight (Collective::test): Open MPI
// progresses a non-blocking collective only inside MPI calls.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dist/collective.h"

namespace mg::dist {

class GradBucketer {
public:
    struct Stats {
        int64_t steps = 0;
        int64_t buckets_overlapped = 0;  // started while backward ran
        int64_t buckets_after = 0;       // reduced in finish(): learning, overlap off, or redone
        double finish_seconds = 0;       // wall time in finish(): what backward did not hide
    };

    // overlap false: every bucket is reduced in finish(), as average_gradients() does.
    GradBucketer(Collective& world, std::vector<Tensor> params, int64_t bucket_bytes, bool overlap);
    GradBucketer(const GradBucketer&) = delete;
    GradBucketer& operator=(const GradBucketer&) = delete;
    ~GradBucketer();

    // The engine has added to params[index]'s gradient once more.
    void gradient_added(size_t index);
    // grads[i]: params[i]'s gradient as the optimizer will use it (undefined where none).
    // Returns with every defined one holding the average over the ranks.
    void finish(const std::vector<Tensor>& grads);

    const Stats& stats() const { return stats_; }
    size_t bucket_count() const { return buckets_.size(); }

private:
    struct Bucket {
        std::vector<size_t> members;  // parameter indices, in the order backward finishes them
        int64_t waiting = 0;          // members still expecting a gradient this step
        Tensor flat;                  // the packed gradients in flight
        PendingReduce pending;
        std::vector<size_t> packed;              // the members in `flat`
        std::vector<const void*> packed_data;    // and their gradients' storage and version then
        std::vector<uint64_t> packed_version;
    };
    void launch(Bucket& bucket);
    bool still_valid(const Bucket& bucket, const std::vector<Tensor>& grads) const;
    void poll();
    void start_step();

    Collective& world_;
    std::vector<Tensor> params_;
    bool overlap_;
    std::vector<Bucket> buckets_;
    std::vector<size_t> bucket_of_;         // parameter index -> bucket
    std::vector<int64_t> added_, expected_;  // additions this step, and at the last step
    bool learned_ = false;
    std::vector<size_t> launched_;  // bucket indices, in launch order
    size_t polled_ = 0;             // launched_[0, polled_) are known done
    Stats stats_;
};

}  // namespace mg::dist
