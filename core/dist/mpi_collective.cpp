// The MPI backend of Collective (CPU tensors) and the process's MPI session. Built with
// MINIGEN_MPI (CMake finds an MPI); without it, Session refuses a multi-rank launch and
// every process is a world of one.
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <thread>
#include <unordered_map>

#include "core/dist/collective.h"
#include "core/dist/watchdog.h"

#ifdef MINIGEN_WITH_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only: no C++ bindings (deprecated, and they warn)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace mg::dist {

#ifdef MINIGEN_WITH_MPI
namespace {

bool g_initialized = false;  // by Session (so finalize only what we started)

void check_mpi(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    MG_FAIL("MPI: {} failed: {}", call, std::string(text, size_t(length)));
}

MPI_Datatype mpi_type(DType dtype) {
    switch (dtype) {
        case DType::Float32: return MPI_FLOAT;
        case DType::Float64: return MPI_DOUBLE;
        case DType::Int64: return MPI_INT64_T;
        default: MG_FAIL("MPI: cannot reduce dtype {}", dtype);
    }
}

// Fault injection for the timeout test: MINIGEN_TEST_STALL=RANK:N makes rank RANK stop
// (sleep for an hour) before its N-th collective, as a hung process would.
int64_t stall_before_call(int rank) {
    const char* spec = std::getenv("MINIGEN_TEST_STALL");
    int stall_rank = -1;
    long long n = 0;
    if (spec == nullptr || std::sscanf(spec, "%d:%lld", &stall_rank, &n) != 2 || stall_rank != rank) return 0;
    return n;
}

// The watchdog's end of a rank that waited too long: one line, then every rank goes.
void abort_after_timeout(int rank, int size, const char* what, double seconds) {
    std::fprintf(stderr,
                 "minigen: error: rank %d of %d: %s waited more than %g s for the other ranks (--dist-timeout): "
                 "a rank is hung or has died; ending every rank\n",
                 rank, size, what, seconds);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 2);
}

// MPI counts are int: longer buffers go in pieces of this many elements or bytes.
constexpr int64_t kPiece = int64_t(1) << 30;

class MpiCollective final : public Collective {
public:
    MpiCollective() {
        check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
        check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
        stall_at_ = stall_before_call(rank_);
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::string backend() const override { return "mpi"; }
    void barrier() override {
        call("MPI_Barrier", [] { return MPI_Barrier(MPI_COMM_WORLD); });
    }

protected:
    void sum_in_place(void* data, int64_t count, DType dtype) override {
        auto* p = static_cast<char*>(data);
        const int64_t piece = kPiece / dtype_size(dtype);
        for (int64_t at = 0; at < count; at += piece) {
            const int n = int(std::min(piece, count - at));
            call("MPI_Allreduce", [&] {
                return MPI_Allreduce(MPI_IN_PLACE, p + at * dtype_size(dtype), n, mpi_type(dtype), MPI_SUM,
                                     MPI_COMM_WORLD);
            });
        }
    }
    void broadcast_bytes(void* data, int64_t bytes, int root) override {
        auto* p = static_cast<char*>(data);
        for (int64_t at = 0; at < bytes; at += kPiece)
            call("MPI_Bcast", [&] {
                return MPI_Bcast(p + at, int(std::min(kPiece, bytes - at)), MPI_BYTE, root, MPI_COMM_WORLD);
            });
    }
    void all_gather_bytes(const void* in, void* out, int64_t bytes) override {
        MG_CHECK(bytes <= INT_MAX, "all_gather: {} bytes per rank is more than MPI's int count", bytes);
        call("MPI_Allgather",
             [&] { return MPI_Allgather(in, int(bytes), MPI_BYTE, out, int(bytes), MPI_BYTE, MPI_COMM_WORLD); });
    }
    void reduce_scatter_sum(const void* in, void* out, int64_t count, DType dtype) override {
        MG_CHECK(count <= INT_MAX, "reduce_scatter: {} elements per rank is more than MPI's int count", count);
        call("MPI_Reduce_scatter_block", [&] {
            return MPI_Reduce_scatter_block(in, out, int(count), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD);
        });
    }

    int64_t start_sum_in_place(void* data, int64_t count, DType dtype) override {
        MG_CHECK(count <= INT_MAX, "start_all_reduce: {} elements is more than MPI's int count", count);
        MPI_Request request;
        call("MPI_Iallreduce", [&] {
            return MPI_Iallreduce(MPI_IN_PLACE, data, int(count), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD, &request);
        });
        return keep(request);
    }
    int64_t start_all_gather_bytes(const void* in, void* out, int64_t bytes) override {
        MG_CHECK(bytes <= INT_MAX, "start_all_reduce: {} bytes per rank is more than MPI's int count", bytes);
        MPI_Request request;
        call("MPI_Iallgather", [&] {
            return MPI_Iallgather(in, int(bytes), MPI_BYTE, out, int(bytes), MPI_BYTE, MPI_COMM_WORLD, &request);
        });
        return keep(request);
    }
    bool test_request(int64_t id) override {
        int done = 0;
        check_mpi(MPI_Test(&requests_.at(id), &done, MPI_STATUS_IGNORE), "MPI_Test");
        if (done) requests_.erase(id);
        return done != 0;
    }
    void wait_request(int64_t id) override {
        // Watched as a blocking collective is: a rank that never starts its part hangs here.
        call("MPI_Wait", [&] { return MPI_Wait(&requests_.at(id), MPI_STATUS_IGNORE); });
        requests_.erase(id);
    }

private:
    int64_t keep(MPI_Request request) {
        requests_.emplace(next_request_, request);
        return next_request_++;
    }

    // Every collective goes through here: watched for timeout() seconds.
    template <class MpiCall> void call(const char* name, MpiCall&& mpi_call) {
        if (stall_at_ > 0 && ++calls_ == stall_at_) std::this_thread::sleep_for(std::chrono::hours(1));
        Watchdog::Guard guard(watchdog_, name, timeout());
        check_mpi(mpi_call(), name);
    }

    int rank_ = 0, size_ = 1;
    int64_t stall_at_ = 0, calls_ = 0;
    std::unordered_map<int64_t, MPI_Request> requests_;  // in flight, by handle
    int64_t next_request_ = 0;
    Watchdog watchdog_{[this](const char* what, double seconds) { abort_after_timeout(rank_, size_, what, seconds); }};
};

// Also at std::exit (the CLI's commands end with it), where Session's destructor does not run.
void finalize() {
    if (!g_initialized) return;
    g_initialized = false;
    set_world(make_single_process());
    MPI_Finalize();
}

}  // namespace

bool mpi_available() { return true; }

Session::Session() {
    if (launcher_world_size() <= 1) return;  // a single process: no MPI needed
    int provided = 0;
    // Only the main thread calls MPI (the data loader's worker never does).
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    g_initialized = true;
    set_world(std::make_unique<MpiCollective>());
    std::atexit(finalize);  // after the world exists, so it runs before the world's destructor
}

Session::~Session() { finalize(); }

void abort_if_distributed(int code) {
    if (!g_initialized || world().size() <= 1) return;
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
}

#else  // no MPI in this build

bool mpi_available() { return false; }

Session::Session() {
    const int n = launcher_world_size();
    MG_CHECK(n <= 1,
             "launched as one of {} MPI ranks, but this minigen was built without MPI (install libopenmpi-dev "
             "and reconfigure with -DMINIGEN_MPI=ON)",
             n);
}
Session::~Session() = default;
void abort_if_distributed(int) {}

#endif

}  // namespace mg::dist
