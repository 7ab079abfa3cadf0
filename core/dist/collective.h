// Collective: what data-parallel training needs from a set of processes (ranks), on Tensors.
//
//   dist::Collective& w = dist::world();          // world size 1 unless launched by mpirun
//   w.all_reduce(grad, dist::ReduceOp::Avg);       // in place, on every rank
//   w.broadcast(param, /*root=*/0);
//   Tensor all = w.all_gather(part);               // parts in rank order along dim 0
//   Tensor mine = w.reduce_scatter(t, ReduceOp::Sum);  // t [world * k, ...] -> this rank's [k, ...]
//   PendingReduce p = w.start_all_reduce(bucket, ReduceOp::Avg);  // returns at once
//   ... compute; w.test(p) lets MPI progress it ...
//   w.wait(p);                                     // bucket now holds the average
//
// Backends: the single process (world size 1: every collective is the identity, or a copy),
// MPI for CPU tensors (core/dist/mpi_collective.cpp, built with MINIGEN_MPI) and NCCL for
// CUDA tensors (nccl_collective.cpp, built with CUDA, NCCL and MPI). Tensors are contiguous,
// on the backend's device, float32/float64/int64, with the same shape on every rank.
//
// Deterministic mode (set_deterministic): sums are taken in rank order, (((p0 + p1) + p2) + ...),
// after gathering every part, so every rank holds the same bits, and they are the bits one
// process gets by adding the same parts in that order. MPI's own reductions are free to use
// any tree (and may change with the message size or the number of nodes); they are faster.
// Avg divides the sum by the world size (exact for power-of-two worlds).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace mg::dist {

enum class ReduceOp { Sum, Avg };

class Collective;

// A non-blocking all-reduce in flight (Collective::start_all_reduce). Its tensor must be
// neither read nor written until wait() returns; every rank must start the same reductions
// in the same order (as with MPI's non-blocking collectives).
class PendingReduce {
public:
    bool active() const { return tensor_.defined(); }

private:
    friend class Collective;
    Tensor tensor_;
    Tensor gathered_;  // deterministic mode: every rank's part, summed in rank order by wait()
    ReduceOp op_ = ReduceOp::Sum;
    int64_t request_ = -1;  // the backend's handle; -1 once done
};

class Collective {
public:
    virtual ~Collective() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual std::string backend() const = 0;  // "single", "mpi", "nccl"
    virtual Device device() const { return Device::CPU; }  // where its tensors live

    void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
    void broadcast(Tensor& t, int root = 0);
    Tensor all_gather(const Tensor& t);
    Tensor reduce_scatter(const Tensor& t, ReduceOp op = ReduceOp::Sum);
    // all_reduce without waiting: the same result (the same bits, in both modes) once wait()
    // returns. test() lets the transport progress it (Open MPI moves a non-blocking
    // collective only inside MPI calls) and says whether it is done.
    PendingReduce start_all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
    bool test(PendingReduce& p);
    void wait(PendingReduce& p);
    virtual void barrier() = 0;
    // Rank root's text on every rank (configurations, file names).
    std::string broadcast_string(const std::string& text, int root = 0);

    bool deterministic() const { return deterministic_; }
    void set_deterministic(bool on) { deterministic_ = on; }
    // Seconds one collective may wait for the other ranks before this rank ends every rank
    // with a message naming itself and the collective (MPI backend; <= 0: wait forever).
    double timeout() const { return timeout_; }
    void set_timeout(double seconds) { timeout_ = seconds; }
    static constexpr double kDefaultTimeout = 300;

protected:
    // The transport, on contiguous host buffers of `count` elements of `dtype`.
    virtual void sum_in_place(void* data, int64_t count, DType dtype) = 0;
    virtual void broadcast_bytes(void* data, int64_t bytes, int root) = 0;
    // out holds size() * bytes: rank r's `in` at r * bytes.
    virtual void all_gather_bytes(const void* in, void* out, int64_t bytes) = 0;
    // in: size() * count elements; out: the sum of every rank's block rank().
    virtual void reduce_scatter_sum(const void* in, void* out, int64_t count, DType dtype) = 0;
    // The non-blocking transport: a handle for test_request/wait_request, or -1 when the call
    // finished before returning (this default: the blocking one).
    virtual int64_t start_sum_in_place(void* data, int64_t count, DType dtype) {
        sum_in_place(data, count, dtype);
        return -1;
    }
    virtual int64_t start_all_gather_bytes(const void* in, void* out, int64_t bytes) {
        all_gather_bytes(in, out, bytes);
        return -1;
    }
    virtual bool test_request(int64_t) { return true; }  // true: done (the handle is then spent)
    virtual void wait_request(int64_t) {}

private:
    void check(const Tensor& t, const char* what) const;
    bool deterministic_ = false;
    double timeout_ = kDefaultTimeout;
};

// The process's world: the single process unless init() found an MPI launch.
Collective& world();
inline bool distributed() { return world().size() > 1; }
inline bool is_root() { return world().rank() == 0; }

// The single-process backend (world size 1), for tests and as the default.
std::unique_ptr<Collective> make_single_process();
// Replaces the process's world (Session does; tests may). Returns the previous one.
std::unique_ptr<Collective> set_world(std::unique_ptr<Collective> w);

// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI),
// read from the launcher's environment variables; the world size it says, else 1.
int launcher_world_size();

// MPI for the whole process: init() in main, before anything else runs; it makes world()
// the MPI one when launched by mpirun with more than one rank (an error when this build has
// no MPI). finalize() at a normal exit; abort() after an error, so the other ranks do not
// wait forever for a rank that left.
struct Session {
    Session();
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
};
// Ends every rank with `code` when distributed (MPI_Abort); returns otherwise.
void abort_if_distributed(int code);

// True when this build has the MPI backend.
bool mpi_available();

// NCCL for CUDA tensors, one process per GPU (ranks on a machine take its GPUs in turn):
// rank 0's NCCL unique id reaches the others over `bootstrap` (the MPI world). The rank-order
// deterministic mode is CPU-only. Throws when this build has no NCCL.
std::unique_ptr<Collective> make_nccl(Collective& bootstrap);

}  // namespace mg::dist
