// Optimizer: parameter groups, per-parameter state, one update per step.
//
// As in torch.optim, parameters come in groups that share hyperparameters; each
// optimizer (SGD, Adam, AdamW, RMSprop) keeps per-parameter state (a step count and
// named buffers shaped like the parameter: "momentum_buffer", "exp_avg", ...) and
// defines one update rule. Updates run without recording a graph and write the
// parameters in place.
//
// state_dict(): a flat map name -> Tensor, ready for a checkpoint (core/io/checkpoint.h).
// Parameters are numbered 0, 1, ... across the groups in order (as in PyTorch):
//   group.<g>.params      int64 [n]      the indices of group g's parameters
//   group.<g>.lr          float64 0-d    the group's learning rate
//   group.<g>.<option>    float64 0-d    each hyperparameter ("momentum", "beta1", ...;
//                                        flags such as "nesterov" as 0 or 1)
//   state.<i>.step        int64 0-d      updates applied to parameter i
//   state.<i>.<buffer>    like param i   the optimizer's buffers ("exp_avg", ...)
// A parameter that has never been updated has no state.<i> entries. The tensors of
// state.<i>.<buffer> share storage with the live state (as PyTorch's do): save or
// clone them before the next step if a snapshot is meant.
//
// load_state_dict() checks the whole map before it changes anything: every key known,
// the same groups holding the same number of parameters, every option of this
// optimizer present and valid, each parameter's buffers exactly the ones its group
// needs with the parameter's shape and dtype. Then it copies the hyperparameters and
// clones the buffers (onto each parameter's device); on error nothing has changed.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mg::dist {
class Collective;
}

namespace mg::optim {

using Options = std::map<std::string, double>;     // hyperparameter name -> value
using StateDict = std::map<std::string, Tensor>;    // flat, ordered: a file's layout is deterministic

// Parameters that share hyperparameters. Anything left out takes the optimizer's default.
struct ParamGroup {
    std::vector<Tensor> params;
    double lr = std::numeric_limits<double>::quiet_NaN();  // NaN: the optimizer's default lr
    Options options;  // overrides of the optimizer's defaults, e.g. {{"weight_decay", 0.0}}

    // The value of a hyperparameter; throws naming it if the group has none.
    double option(const std::string& name) const;
    bool flag(const std::string& name) const { return option(name) != 0.0; }
};

// One group of all `params` with the optimizer's defaults.
inline std::vector<ParamGroup> single_group(std::vector<Tensor> params) {
    std::vector<ParamGroup> groups(1);
    groups[0].params = std::move(params);
    return groups;
}

// What the optimizer remembers about one parameter.
struct ParamState {
    int64_t step = 0;                       // updates applied (Adam's bias correction uses it)
    std::map<std::string, Tensor> buffers;  // each shaped like the parameter
};

// One parameter's part of a step: the parameter, its gradient and its state (whose step
// already counts this update).
struct ParamUpdate {
    Tensor param;
    Tensor grad;
    ParamState* state = nullptr;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // One update of every parameter that has a gradient; the others are skipped
    // (their state does not advance), as in PyTorch.
    void step();
    // Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
    void zero_grad();
    // Called by step() with every parameter's gradient (undefined where none), after they
    // are checked and before any update: data-parallel training averages them over the
    // ranks here, in place. An empty function removes it.
    using GradientHook = std::function<void(const std::vector<Tensor>& grads)>;
    void set_gradient_hook(GradientHook hook) { gradient_hook_ = std::move(hook); }

    // Appends a group: fills in defaults, checks hyperparameters, refuses a parameter
    // that is already in a group.
    void add_param_group(ParamGroup group);
    void add_param_groups(std::vector<ParamGroup> groups) {
        for (ParamGroup& g : groups) add_param_group(std::move(g));
    }
    // Schedulers and users may change lr and options here; step() checks nothing again.
    std::vector<ParamGroup>& param_groups() { return groups_; }
    const std::vector<ParamGroup>& param_groups() const { return groups_; }
    int64_t num_params() const { return int64_t(states_.size()); }
    // The state of parameter `index` (numbered across groups in order).
    const ParamState& state(int64_t index) const;

    StateDict state_dict() const;
    void load_state_dict(const StateDict& dict);

    // ZeRO-1 (data-parallel training): from the next step on, this rank keeps and updates only
    // its shard, a contiguous 1/N of the flat parameter space (the parameters one after
    // another): the gradients are reduce-scattered (averaged), the shard's state and
    // parameters updated, the parameters all-gathered; the gradient hook is not called. Every
    // parameter must then have a gradient at each step. Throws for optimizers that cannot
    // (Adam and AdamW can). nullptr turns it off (dropping the shard's state). The state stays sharded until
    // gather_sharded_state() (every rank) fills state() and state_dict() with the whole of it.
    void shard_state(dist::Collective* world);
    bool sharded() const { return shard_world_ != nullptr; }
    void gather_sharded_state();
    // Bytes of optimizer buffers this rank holds (under ZeRO-1 the shard's, without a copy
    // gathered for a checkpoint, which the next step drops).
    int64_t state_bytes() const;

    const std::string& name() const { return name_; }  // "sgd", "adam", "adamw", "rmsprop"
    double default_lr() const { return default_lr_; }
    const Options& defaults() const { return defaults_; }

protected:
    // `defaults` names every hyperparameter this optimizer has (lr apart) with its default.
    // Derived constructors then add their groups (add_param_groups): adding one checks it
    // with check_group(), which this constructor cannot call yet.
    Optimizer(std::string name, double default_lr, Options defaults);

    // Updates `param` (a handle to the parameter) in place from `grad` (same shape, dtype, device; not requiring
    // grad). `state.step` already counts this update. Runs under NoGradGuard.
    virtual void update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) = 0;
    // Updates the parameters of `group` that have a gradient (in group order). The default calls
    // update() for each; an optimizer may override it to update them together (Adam: one
    // multi-tensor kernel launch per group).
    virtual void update_group(const ParamGroup& group, const std::vector<ParamUpdate>& updates);
    // The buffers a parameter of `group` holds after its first update.
    virtual std::vector<std::string> buffer_names(const ParamGroup& group) const = 0;
    // Throws mg::Error naming the optimizer and the value if a hyperparameter is out of range.
    virtual void check_group(const ParamGroup& group) const = 0;

    // For update(): the named buffer of a state, created as zeros like `param` on first use.
    static Tensor& buffer(ParamState& state, const std::string& name, const Tensor& param);

    // ZeRO-1: where each parameter lies in the flat space, and this rank's shard of it.
    struct ShardLayout {
        std::vector<int64_t> offsets;  // parameter i starts at offsets[i]; offsets.back() is the total
        int64_t shard = 0;             // elements per rank (the total rounded up to a multiple of N)
        int64_t begin = 0;             // this rank's first element
    };
    // One parameter's part of the shard: elements [param_at, param_at + length) of parameter
    // `index` are the shard's [shard_at, shard_at + length).
    struct ShardPiece {
        size_t index;
        int64_t param_at, shard_at, length;
    };
    // Updates the shard: `grad` [shard] holds the averaged gradients, `param` [shard] the
    // parameters (written in place), `buffers` the shard's state by name (created here).
    virtual void update_shard(Tensor& param, const Tensor& grad, std::map<std::string, Tensor>& buffers,
                              const std::vector<ShardPiece>& pieces);
    virtual bool can_shard() const { return false; }
    const std::vector<ParamState>& states() const { return states_; }
    ParamState& mutable_state(size_t index) { return states_[index]; }
    const ParamGroup& group_of(size_t index) const;

private:
    std::string name_;
    double default_lr_;
    Options defaults_;
    std::vector<ParamGroup> groups_;
    std::vector<ParamState> states_;  // one per parameter, in group order
    GradientHook gradient_hook_;
    // ZeRO-1
    void sharded_step(const std::vector<Tensor>& grads);
    void take_loaded_state();  // whole buffers (a loaded or gathered state) -> the shard's
    dist::Collective* shard_world_ = nullptr;
    ShardLayout layout_;
    std::vector<ShardPiece> pieces_;
    std::map<std::string, Tensor> shard_buffers_;  // [layout_.shard] each
};

// Shared argument checks for the optimizers' check_group().
void check_nonnegative(const std::string& optimizer, const std::string& what, double value);
void check_unit_interval(const std::string& optimizer, const std::string& what, double value);  // [0, 1)
void check_flag(const std::string& optimizer, const std::string& what, double value);           // 0 or 1

}  // namespace mg::optim
