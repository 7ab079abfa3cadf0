// The NCCL backend of Collective, for CUDA tensors (llm.c's llmc/zero.cuh does the same:
// one process per GPU, the NCCL id broadcast over MPI). Built with MINIGEN_CUDA, NCCL and
// MPI; elsewhere make_nccl() says why it cannot.
//
// Each call waits for the device (minigen's kernels may still be writing the tensor on
// their stream), runs the NCCL collective on the backend's own stream and waits for it:
// simple and safe. The non-blocking all-reduce (start_all_reduce) queues the same call on the
// stream and records an event; test/wait query and wait for that event.
#include "core/dist/collective.h"

#ifdef MINIGEN_WITH_NCCL
#include <cstdlib>
#include <cstring>

#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace mg::dist {

#ifdef MINIGEN_WITH_NCCL
namespace {

void check_nccl(ncclResult_t r, const char* call) {
    MG_CHECK(r == ncclSuccess, "NCCL: {} failed: {}", call, ncclGetErrorString(r));
}
void check_cuda(cudaError_t e, const char* call) {
    MG_CHECK(e == cudaSuccess, "NCCL backend: {} failed: {}", call, cudaGetErrorString(e));
}

ncclDataType_t nccl_type(DType dtype) {
    switch (dtype) {
        case DType::Float32: return ncclFloat32;
        case DType::Float64: return ncclFloat64;
        case DType::Int64: return ncclInt64;
        default: MG_FAIL("NCCL: cannot reduce dtype {}", dtype);
    }
}

// This process's index among the ranks of its machine, as the launcher says (else its rank).
int local_rank(int rank) {
    for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
        if (const char* v = std::getenv(name)) return std::atoi(v);
    return rank;
}

class NcclCollective final : public Collective {
public:
    explicit NcclCollective(Collective& bootstrap) : rank_(bootstrap.rank()), size_(bootstrap.size()) {
        int devices = 0;
        check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
        MG_CHECK(devices > 0, "NCCL backend: no CUDA device on rank {}", rank_);
        check_cuda(cudaSetDevice(local_rank(rank_) % devices), "cudaSetDevice");
        ncclUniqueId id;
        if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
        Tensor bytes = empty(Shape{int64_t(sizeof id)}, {DType::UInt8});
        std::memcpy(bytes.raw_data(), &id, sizeof id);
        bootstrap.broadcast(bytes, 0);
        std::memcpy(&id, bytes.raw_data(), sizeof id);
        check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        check_cuda(cudaMalloc(&token_, sizeof(float)), "cudaMalloc");
    }
    ~NcclCollective() override {
        cudaFree(token_);
        cudaStreamDestroy(stream_);
        ncclCommDestroy(comm_);
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::string backend() const override { return "nccl"; }
    Device device() const override { return Device::CUDA; }
    void barrier() override { sum_in_place(token_, 1, DType::Float32); }

protected:
    void sum_in_place(void* data, int64_t count, DType dtype) override {
        before();
        check_nccl(ncclAllReduce(data, data, size_t(count), nccl_type(dtype), ncclSum, comm_, stream_), "ncclAllReduce");
        after();
    }
    void broadcast_bytes(void* data, int64_t bytes, int root) override {
        before();
        check_nccl(ncclBroadcast(data, data, size_t(bytes), ncclUint8, root, comm_, stream_), "ncclBroadcast");
        after();
    }
    void all_gather_bytes(const void* in, void* out, int64_t bytes) override {
        before();
        check_nccl(ncclAllGather(in, out, size_t(bytes), ncclUint8, comm_, stream_), "ncclAllGather");
        after();
    }
    void reduce_scatter_sum(const void* in, void* out, int64_t count, DType dtype) override {
        before();
        check_nccl(ncclReduceScatter(in, out, size_t(count), nccl_type(dtype), ncclSum, comm_, stream_),
                   "ncclReduceScatter");
        after();
    }

    int64_t start_sum_in_place(void* data, int64_t count, DType dtype) override {
        before();
        check_nccl(ncclAllReduce(data, data, size_t(count), nccl_type(dtype), ncclSum, comm_, stream_), "ncclAllReduce");
        cudaEvent_t done = nullptr;
        check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
        check_cuda(cudaEventRecord(done, stream_), "cudaEventRecord");
        events_.emplace(next_event_, done);
        return next_event_++;
    }
    bool test_request(int64_t id) override {
        const cudaError_t e = cudaEventQuery(events_.at(id));
        if (e == cudaErrorNotReady) return false;
        check_cuda(e, "cudaEventQuery");
        cudaEventDestroy(events_.at(id));
        events_.erase(id);
        return true;
    }
    void wait_request(int64_t id) override {
        check_cuda(cudaEventSynchronize(events_.at(id)), "cudaEventSynchronize");
        cudaEventDestroy(events_.at(id));
        events_.erase(id);
    }

private:
    void before() { check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }
    void after() { check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

    int rank_ = 0, size_ = 1;
    ncclComm_t comm_ = nullptr;
    cudaStream_t stream_ = nullptr;
    void* token_ = nullptr;  // one float: what barrier() reduces
    std::unordered_map<int64_t, cudaEvent_t> events_;  // non-blocking all-reduces in flight
    int64_t next_event_ = 0;
};

}  // namespace

std::unique_ptr<Collective> make_nccl(Collective& bootstrap) { return std::make_unique<NcclCollective>(bootstrap); }

#else

std::unique_ptr<Collective> make_nccl(Collective&) {
    MG_FAIL("NCCL: this minigen was built without it (it needs -DMINIGEN_CUDA=ON, NCCL and MPI)");
}

#endif

}  // namespace mg::dist
