// ZeRO-1 for Optimizer: the flat parameter space split into one contiguous shard per rank
// (llm.c's zero.cuh, PyTorch's ZeroRedundancyOptimizer): see shard_state() in optimizer.h.
#include <cstring>

#include "core/autograd.h"
#include "core/dist/collective.h"
#include "optim/optimizer.h"

namespace mg::optim {

const ParamGroup& Optimizer::group_of(size_t index) const {
    for (const ParamGroup& g : groups_) {
        if (index < g.params.size()) return g;
        index -= g.params.size();
    }
    MG_FAIL("{}: no parameter {}", name_, index);
}

void Optimizer::update_shard(Tensor&, const Tensor&, std::map<std::string, Tensor>&, const std::vector<ShardPiece>&) {
    MG_FAIL("{}: cannot update a shard of its state", name_);
}

void Optimizer::shard_state(dist::Collective* world) {
    if (world == nullptr) {  // what the shard held is dropped: gather it first if it is still needed
        shard_world_ = nullptr;
        shard_buffers_.clear();
        return;
    }
    MG_CHECK(can_shard(), "{}: --zero 1 shards the state of Adam and AdamW only, not of {}", name_, name_);
    std::vector<const Tensor*> params;
    for (const ParamGroup& g : groups_)
        for (const Tensor& p : g.params) params.push_back(&p);
    MG_CHECK(!params.empty(), "{}: --zero 1 with no parameters", name_);
    layout_ = ShardLayout();
    layout_.offsets.push_back(0);
    for (const Tensor* p : params) {
        MG_CHECK(p->device() == Device::CPU && p->is_contiguous() && p->dtype() == params[0]->dtype(),
                 "{}: --zero 1 needs contiguous CPU parameters of one dtype; parameter {} is {} {} on {}", name_,
                 layout_.offsets.size() - 1, p->dtype(), p->shape(), p->device());
        layout_.offsets.push_back(layout_.offsets.back() + p->numel());
    }
    const int64_t n = world->size(), total = layout_.offsets.back();
    layout_.shard = (total + n - 1) / n;
    layout_.begin = layout_.shard * world->rank();
    pieces_.clear();
    for (size_t i = 0; i < params.size(); ++i) {
        const int64_t from = std::max(layout_.offsets[i], layout_.begin);
        const int64_t to = std::min(layout_.offsets[i + 1], layout_.begin + layout_.shard);
        if (from < to) pieces_.push_back({i, from - layout_.offsets[i], from - layout_.begin, to - from});
    }
    shard_world_ = world;
}

// A loaded (or gathered) state holds whole buffers: keep this rank's pieces, drop the rest.
void Optimizer::take_loaded_state() {
    for (size_t i = 0; i < states_.size(); ++i)
        for (const auto& [name, b] : states_[i].buffers)
            if (!shard_buffers_.count(name))
                shard_buffers_[name] = zeros(Shape{layout_.shard}, {b.dtype()});
    for (const ShardPiece& piece : pieces_) {
        for (const auto& [name, b] : states_[piece.index].buffers) {
            Tensor whole = b.contiguous();
            const int64_t width = whole.element_size();
            std::memcpy(static_cast<char*>(shard_buffers_[name].raw_data()) + piece.shard_at * width,
                        static_cast<const char*>(whole.raw_data()) + piece.param_at * width,
                        size_t(piece.length * width));
        }
    }
    for (ParamState& st : states_) st.buffers.clear();
}

void Optimizer::sharded_step(const std::vector<Tensor>& grads) {
    dist::Collective& world = *shard_world_;
    const int64_t shard = layout_.shard;
    std::vector<Tensor> params;
    for (const ParamGroup& g : groups_) params.insert(params.end(), g.params.begin(), g.params.end());
    const DType dtype = params[0].dtype();
    const int64_t width = dtype_size(dtype);
    // Every rank's gradients, flat and padded to N shards; this rank gets its shard's average.
    Tensor flat = zeros(Shape{shard * world.size()}, {dtype});
    for (size_t i = 0; i < params.size(); ++i) {
        MG_CHECK(grads[i].defined(),
                 "{}: --zero 1: parameter {} {} has no gradient at this step (with a sharded state every parameter "
                 "needs one)",
                 name_, i, params[i].shape());
        Tensor g = grads[i].contiguous();
        std::memcpy(static_cast<char*>(flat.raw_data()) + layout_.offsets[i] * width, g.raw_data(),
                    size_t(g.numel() * width));
    }
    Tensor grad = world.reduce_scatter(flat, dist::ReduceOp::Avg);
    Tensor param = zeros(Shape{shard}, {dtype});
    for (const ShardPiece& piece : pieces_)
        std::memcpy(static_cast<char*>(param.raw_data()) + piece.shard_at * width,
                    static_cast<const char*>(params[piece.index].raw_data()) + piece.param_at * width,
                    size_t(piece.length * width));
    take_loaded_state();
    for (ParamState& st : states_) ++st.step;
    update_shard(param, grad, shard_buffers_, pieces_);
    // Every rank's updated shard, back into the parameters.
    Tensor all = world.all_gather(param);
    for (size_t i = 0; i < params.size(); ++i) {
        std::memcpy(params[i].raw_data(), static_cast<const char*>(all.raw_data()) + layout_.offsets[i] * width,
                    size_t(params[i].numel() * width));
        params[i].bump_version();
    }
}

void Optimizer::gather_sharded_state() {
    if (!sharded()) return;
    autograd::NoGradGuard no_grad;
    size_t index = 0;
    for (const auto& [name, buf] : shard_buffers_) {
        Tensor all = shard_world_->all_gather(buf);
        index = 0;
        for (const ParamGroup& g : groups_)
            for (const Tensor& p : g.params) {
                if (states_[index].step > 0)
                    states_[index].buffers[name] =
                        all.slice(0, layout_.offsets[index], layout_.offsets[index + 1]).view(p.shape()).clone();
                ++index;
            }
    }
}

int64_t Optimizer::state_bytes() const {
    int64_t bytes = 0;
    for (const auto& [name, b] : shard_buffers_) bytes += b.numel() * b.element_size();
    if (sharded()) return bytes;  // a copy gathered for a checkpoint is transient
    for (const ParamState& st : states_)
        for (const auto& [name, b] : st.buffers) bytes += b.numel() * b.element_size();
    return bytes;
}

}  // namespace mg::optim
