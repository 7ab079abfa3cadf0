#include "core/dist/grad_bucketer.h"

#include <chrono>

#include "core/dist/grad_sync.h"

namespace mg::dist {

GradBucketer::GradBucketer(Collective& world, std::vector<Tensor> params, int64_t bucket_bytes, bool overlap)
    : world_(world), params_(std::move(params)), overlap_(overlap), bucket_of_(params_.size()),
      added_(params_.size(), 0), expected_(params_.size(), 0) {
    MG_CHECK(bucket_bytes > 0, "gradient buckets: {} bytes each", bucket_bytes);
    int64_t bytes = 0;
    for (size_t k = params_.size(); k-- > 0;) {
        const Tensor& p = params_[k];
        const int64_t n = p.numel() * p.element_size();
        const bool fresh = buckets_.empty() || bytes + n > bucket_bytes ||
                           params_[buckets_.back().members.front()].dtype() != p.dtype();
        if (fresh) {
            buckets_.emplace_back();
            bytes = 0;
        }
        buckets_.back().members.push_back(k);
        bucket_of_[k] = buckets_.size() - 1;
        bytes += n;
    }
}

GradBucketer::~GradBucketer() {
    // An exception between backward and the step: the reductions in flight still own buffers.
    for (size_t b : launched_)
        if (buckets_[b].pending.active()) {
            try {
                world_.wait(buckets_[b].pending);
            } catch (...) {  // the world is already failing; nothing more to do here
            }
        }
}

void GradBucketer::gradient_added(size_t index) {
    if (!overlap_) return;
    const int64_t n = ++added_[index];
    if (learned_ && n == expected_[index]) {
        Bucket& bucket = buckets_[bucket_of_[index]];
        if (--bucket.waiting == 0) launch(bucket);
    }
    poll();
}

void GradBucketer::launch(Bucket& bucket) {
    std::vector<Tensor> grads;
    for (size_t m : bucket.members) {
        if (expected_[m] == 0) continue;
        Tensor g = params_[m].grad();
        MG_CHECK(g.defined(), "gradient buckets: parameter {} reported a gradient but has none", m);
        if (g.requires_grad()) g = g.detach();  // a gradient kept with create_graph
        bucket.packed.push_back(m);
        bucket.packed_data.push_back(g.raw_data());
        bucket.packed_version.push_back(g.impl()->storage->version);
        grads.push_back(g);
    }
    if (grads.empty()) return;
    bucket.flat = pack_gradients(grads);
    bucket.pending = world_.start_all_reduce(bucket.flat, ReduceOp::Avg);
    launched_.push_back(size_t(&bucket - buckets_.data()));
}

void GradBucketer::poll() {
    while (polled_ < launched_.size() && world_.test(buckets_[launched_[polled_]].pending)) ++polled_;
}

// Whether the gradients the optimizer has are those the bucket took: the same members
// defined, the same storage, not written since.
bool GradBucketer::still_valid(const Bucket& bucket, const std::vector<Tensor>& grads) const {
    size_t k = 0;
    for (size_t m : bucket.members) {
        if (!grads[m].defined()) continue;
        if (k == bucket.packed.size() || bucket.packed[k] != m || grads[m].raw_data() != bucket.packed_data[k] ||
            grads[m].impl()->storage->version != bucket.packed_version[k])
            return false;
        ++k;
    }
    return k == bucket.packed.size();
}

void GradBucketer::finish(const std::vector<Tensor>& grads) {
    MG_CHECK(grads.size() == params_.size(), "gradient buckets: {} gradients for {} parameters", grads.size(),
             params_.size());
    const auto start = std::chrono::steady_clock::now();
    std::vector<bool> done(buckets_.size(), false);
    for (size_t b : launched_) {
        Bucket& bucket = buckets_[b];
        world_.wait(bucket.pending);
        if (!still_valid(bucket, grads)) continue;
        std::vector<Tensor> mine;
        for (size_t m : bucket.packed) mine.push_back(grads[m]);
        unpack_gradients(bucket.flat, mine);
        done[b] = true;
        ++stats_.buckets_overlapped;
    }
    // The rest, bucket by bucket in the same order on every rank.
    for (size_t b = 0; b < buckets_.size(); ++b) {
        if (done[b]) continue;
        std::vector<Tensor> mine;
        for (size_t m : buckets_[b].members)
            if (grads[m].defined()) mine.push_back(grads[m]);
        if (mine.empty()) continue;
        MG_CHECK(mine.front().device() == Device::CPU, "gradient buckets: backend '{}' takes CPU gradients, got {}",
                 world_.backend(), mine.front().device());
        Tensor flat = pack_gradients(mine);
        world_.all_reduce(flat, ReduceOp::Avg);
        unpack_gradients(flat, mine);
        ++stats_.buckets_after;
    }
    ++stats_.steps;
    stats_.finish_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    start_step();
}

// Learns this step's additions and expects them at the next.
void GradBucketer::start_step() {
    expected_ = added_;
    std::fill(added_.begin(), added_.end(), 0);
    learned_ = true;
    for (Bucket& bucket : buckets_) {
        bucket.waiting = 0;
        for (size_t m : bucket.members) bucket.waiting += expected_[m] > 0 ? 1 : 0;
        bucket.flat = Tensor();
        bucket.packed.clear();
        bucket.packed_data.clear();
        bucket.packed_version.clear();
    }
    launched_.clear();
    polled_ = 0;
}

}  // namespace mg::dist
