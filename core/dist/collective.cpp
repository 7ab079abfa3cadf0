// Collective: the tensor checks, the deterministic (rank-order) reductions, and the
// single-process backend.
#include "core/dist/collective.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace mg::dist {
namespace {

// rows: `parts` consecutive blocks of n elements; out[i] = ((rows[0][i] + rows[1][i]) + ...).
template <class T> void sum_in_rank_order(const T* rows, int parts, int64_t n, T* out) {
    for (int64_t i = 0; i < n; ++i) {
        T s = rows[i];
        for (int r = 1; r < parts; ++r) s += rows[int64_t(r) * n + i];
        out[i] = s;
    }
}

void sum_in_rank_order(const void* rows, int parts, int64_t n, DType dtype, void* out) {
    switch (dtype) {
        case DType::Float32: return sum_in_rank_order(static_cast<const float*>(rows), parts, n, static_cast<float*>(out));
        case DType::Float64: return sum_in_rank_order(static_cast<const double*>(rows), parts, n, static_cast<double*>(out));
        case DType::Int64: return sum_in_rank_order(static_cast<const int64_t*>(rows), parts, n, static_cast<int64_t*>(out));
        default: MG_FAIL("collective: cannot reduce dtype {}", dtype);
    }
}

template <class T> void divide(T* p, int64_t n, int by) {
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] / T(by);
}

void divide(Tensor& t, int by) {
    if (t.device() != Device::CPU) t.mul_(1.0 / by);  // a kernel on the tensor's device
    else if (t.dtype() == DType::Float32) divide(t.data<float>(), t.numel(), by);
    else divide(t.data<double>(), t.numel(), by);
}

class SingleProcess final : public Collective {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string backend() const override { return "single"; }
    void barrier() override {}

protected:
    void sum_in_place(void*, int64_t, DType) override {}
    void broadcast_bytes(void*, int64_t, int) override {}
    void all_gather_bytes(const void* in, void* out, int64_t bytes) override { std::memcpy(out, in, size_t(bytes)); }
    void reduce_scatter_sum(const void* in, void* out, int64_t count, DType dtype) override {
        std::memcpy(out, in, size_t(count * dtype_size(dtype)));
    }
};

std::unique_ptr<Collective>& current() {
    static std::unique_ptr<Collective> w = make_single_process();
    return w;
}

}  // namespace

void Collective::check(const Tensor& t, const char* what) const {
    MG_CHECK(t.defined(), "{}: the tensor is undefined", what);
    MG_CHECK(t.device() == device(), "{}: backend '{}' takes {} tensors, got one on {}", what, backend(), device(),
             t.device());
    MG_CHECK(!deterministic_ || device() == Device::CPU || size() == 1,
             "{}: the rank-order deterministic mode is CPU-only (backend '{}')", what, backend());
    MG_CHECK(t.is_contiguous(), "{}: the tensor {} must be contiguous", what, t.shape());
    MG_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64 || t.dtype() == DType::Int64,
             "{}: dtype {} is not one of float32, float64, int64", what, t.dtype());
}

void Collective::all_reduce(Tensor& t, ReduceOp op) {
    check(t, "all_reduce");
    MG_CHECK(op == ReduceOp::Sum || t.dtype() != DType::Int64, "all_reduce: avg of an int64 tensor (sum it instead)");
    if (size() == 1) return;
    if (deterministic_) {
        Tensor parts = empty(Shape{size(), t.numel()}, {t.dtype()});
        all_gather_bytes(t.raw_data(), parts.raw_data(), t.numel() * t.element_size());
        sum_in_rank_order(parts.raw_data(), size(), t.numel(), t.dtype(), t.raw_data());
    } else {
        sum_in_place(t.raw_data(), t.numel(), t.dtype());
    }
    if (op == ReduceOp::Avg) divide(t, size());
    t.bump_version();
}

void Collective::broadcast(Tensor& t, int root) {
    MG_CHECK(root >= 0 && root < size(), "broadcast: root {} is not a rank of a world of {}", root, size());
    MG_CHECK(t.defined() && t.device() == device() && t.is_contiguous(),
             "broadcast: backend '{}' takes defined, contiguous {} tensors", backend(), device());
    if (size() == 1) return;
    broadcast_bytes(t.raw_data(), t.numel() * t.element_size(), root);
    t.bump_version();
}

PendingReduce Collective::start_all_reduce(Tensor& t, ReduceOp op) {
    check(t, "start_all_reduce");
    MG_CHECK(op == ReduceOp::Sum || t.dtype() != DType::Int64, "start_all_reduce: avg of an int64 tensor");
    PendingReduce p;
    p.tensor_ = t;
    p.op_ = op;
    if (size() == 1) return p;
    if (deterministic_) {
        p.gathered_ = empty(Shape{size(), t.numel()}, {t.dtype()});
        p.request_ = start_all_gather_bytes(t.raw_data(), p.gathered_.raw_data(), t.numel() * t.element_size());
    } else {
        p.request_ = start_sum_in_place(t.raw_data(), t.numel(), t.dtype());
    }
    return p;
}

bool Collective::test(PendingReduce& p) {
    MG_CHECK(p.active(), "test: no reduction in flight");
    if (p.request_ >= 0 && test_request(p.request_)) p.request_ = -1;
    return p.request_ < 0;
}

void Collective::wait(PendingReduce& p) {
    MG_CHECK(p.active(), "wait: no reduction in flight");
    if (p.request_ >= 0) wait_request(p.request_);
    Tensor& t = p.tensor_;
    if (size() > 1) {
        if (p.gathered_.defined())
            sum_in_rank_order(p.gathered_.raw_data(), size(), t.numel(), t.dtype(), t.raw_data());
        if (p.op_ == ReduceOp::Avg) divide(t, size());
        t.bump_version();
    }
    p = PendingReduce();
}

Tensor Collective::all_gather(const Tensor& t) {
    check(t, "all_gather");
    Shape shape = t.shape();
    if (shape.size() == 0) shape = Shape{int64_t(size())};
    else shape[0] *= size();
    Tensor out = empty(shape, {t.dtype()});
    all_gather_bytes(t.raw_data(), out.raw_data(), t.numel() * t.element_size());
    return out;
}

Tensor Collective::reduce_scatter(const Tensor& t, ReduceOp op) {
    check(t, "reduce_scatter");
    MG_CHECK(op == ReduceOp::Sum || t.dtype() != DType::Int64, "reduce_scatter: avg of an int64 tensor");
    MG_CHECK(t.dim() >= 1 && t.size(0) % size() == 0, "reduce_scatter: tensor {} does not split into {} equal parts",
             t.shape(), size());
    Shape shape = t.shape();
    shape[0] /= size();
    Tensor out = empty(shape, {t.dtype()});
    const int64_t count = out.numel();
    if (deterministic_ && size() > 1) {
        // Every rank's whole tensor, then this rank's block summed in rank order.
        Tensor all = empty(Shape{size(), size(), count}, {t.dtype()});
        all_gather_bytes(t.raw_data(), all.raw_data(), t.numel() * t.element_size());
        Tensor blocks = all.select(1, rank()).contiguous();  // [world, count]: every rank's block rank()
        sum_in_rank_order(blocks.raw_data(), size(), count, t.dtype(), out.raw_data());
    } else {
        reduce_scatter_sum(t.raw_data(), out.raw_data(), count, t.dtype());
    }
    if (op == ReduceOp::Avg && size() > 1) divide(out, size());
    return out;
}

std::string Collective::broadcast_string(const std::string& text, int root) {
    Tensor length = from_vector(std::vector<int64_t>{int64_t(text.size())}, Shape{1});
    broadcast(length, root);
    const int64_t n = length.data<int64_t>()[0];
    MG_CHECK(n >= 0 && n < (int64_t(1) << 31), "broadcast_string: rank {} sent a length of {}", root, n);
    std::string out = rank() == root ? text : std::string(size_t(n), '\0');
    if (size() > 1 && n > 0) broadcast_bytes(out.data(), n, root);
    return out;
}

std::unique_ptr<Collective> make_single_process() { return std::make_unique<SingleProcess>(); }

Collective& world() { return *current(); }

std::unique_ptr<Collective> set_world(std::unique_ptr<Collective> w) {
    MG_CHECK(w != nullptr, "dist::set_world: no collective");
    std::swap(current(), w);
    return w;
}

int launcher_world_size() {
    // Open MPI's mpirun, then MPICH/Intel MPI (Hydra) and Slurm's PMI.
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
        if (const char* v = std::getenv(name)) {
            char* end = nullptr;
            long n = std::strtol(v, &end, 10);
            if (end != v && *end == '\0' && n >= 1) return int(n);
        }
    return 1;
}

}  // namespace mg::dist
