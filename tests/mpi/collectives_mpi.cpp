// The MPI backend of core/dist at world size 2 or more (run by tests/mpi/mpirun2.sh):
// every collective against the values each rank can compute for itself, the deterministic
// mode bit for bit against the rank-order sum, the bucketed gradient average, the
// non-blocking all-reduce, the gradient bucketer driven by the autograd engine, ZeRO-1, and
// SyncBatchNorm against one process's batch norm of the whole batch.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/autograd.h"
#include "core/dist/collective.h"
#include "core/dist/grad_bucketer.h"
#include "core/dist/grad_sync.h"
#include "core/dist/sync_batch_norm.h"
#include "core/ops.h"
#include "optim/adam.h"
#include "optim/sgd.h"

using namespace mg;

namespace {

int failures = 0;
#define EXPECT(cond, ...)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            ++failures;                                                                    \
            std::fprintf(stderr, "rank %d: %s:%d: %s\n", dist::world().rank(), __FILE__, __LINE__, #cond); \
        }                                                                                  \
    } while (0)

// Rank r's part: element i is a value no two ranks or elements share, not exactly representable sums.
template <class T> std::vector<T> part(int rank, int64_t n) {
    std::vector<T> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        v[size_t(i)] = std::is_integral_v<T> ? T(1000 * rank + i) : T(std::sin(0.37 * double(i) + 1.3 * rank) / 3.0);
    return v;
}

// One process's rank-order sum of every rank's part.
template <class T> std::vector<T> rank_order_sum(int world, int64_t n) {
    std::vector<T> s = part<T>(0, n);
    for (int r = 1; r < world; ++r) {
        std::vector<T> p = part<T>(r, n);
        for (int64_t i = 0; i < n; ++i) s[size_t(i)] += p[size_t(i)];
    }
    return s;
}

template <class T> void check_all_reduce(dist::Collective& w, int64_t n, bool deterministic) {
    w.set_deterministic(deterministic);
    Tensor t = from_vector(part<T>(w.rank(), n), Shape{n});
    w.all_reduce(t, dist::ReduceOp::Sum);
    const std::vector<T> want = rank_order_sum<T>(w.size(), n);
    const T* got = t.data<T>();
    bool same_bits = std::memcmp(got, want.data(), size_t(n) * sizeof(T)) == 0;
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(double(got[i]) - double(want[size_t(i)])));
    if (deterministic || std::is_integral_v<T>) EXPECT(same_bits);
    else EXPECT(worst <= 1e-6 * w.size());
    if constexpr (!std::is_integral_v<T>) {
        Tensor a = from_vector(part<T>(w.rank(), n), Shape{n});
        w.all_reduce(a, dist::ReduceOp::Avg);
        for (int64_t i = 0; i < n; ++i)
            if (std::abs(double(a.data<T>()[i]) - double(want[size_t(i)]) / w.size()) > 1e-6) {
                EXPECT(!"avg");
                break;
            }
    }
    // Every rank holds the same bits: gather them and compare with rank 0's.
    Tensor all = w.all_gather(t);
    for (int r = 1; r < w.size(); ++r) EXPECT(std::memcmp(all.data<T>() + r * n, all.data<T>(), size_t(n) * sizeof(T)) == 0);
}

void check_others(dist::Collective& w) {
    const int world = w.size(), rank = w.rank();
    // broadcast: rank 1's values everywhere.
    Tensor b = from_vector(part<double>(rank, 7), Shape{7});
    w.broadcast(b, 1);
    EXPECT(b.to_vector<double>() == part<double>(1, 7));
    // all_gather: the parts in rank order along dim 0.
    Tensor g = w.all_gather(from_vector(part<int64_t>(rank, 6), Shape{2, 3}));
    EXPECT(g.shape() == Shape({2 * world, 3}));
    for (int r = 0; r < world; ++r) {
        std::vector<int64_t> row(g.data<int64_t>() + r * 6, g.data<int64_t>() + r * 6 + 6);
        EXPECT(row == part<int64_t>(r, 6));
    }
    // reduce_scatter: this rank's block of the rank-order sum, in both modes.
    for (bool deterministic : {false, true}) {
        w.set_deterministic(deterministic);
        const int64_t k = 5;
        Tensor mine = w.reduce_scatter(from_vector(part<float>(rank, k * world), Shape{k * world}));
        const std::vector<float> want = rank_order_sum<float>(world, k * world);
        for (int64_t i = 0; i < k; ++i) {
            const float expected = want[size_t(rank * k + i)];
            if (deterministic) EXPECT(std::memcmp(&mine.data<float>()[i], &expected, 4) == 0);
            else EXPECT(std::abs(mine.data<float>()[i] - expected) < 1e-6f);
        }
    }
    w.set_deterministic(false);
    EXPECT(w.broadcast_string(rank == 0 ? "rank zero's text" : "") == "rank zero's text");
    w.barrier();
}

// Gradients of two dtypes, one undefined, one non-contiguous, in buckets of 64 bytes.
void check_average_gradients(dist::Collective& w) {
    w.set_deterministic(true);
    std::vector<Tensor> grads = {from_vector(part<float>(w.rank(), 40), Shape{40}), Tensor(),
                                 from_vector(part<double>(w.rank(), 6), Shape{2, 3}).t(),
                                 from_vector(part<float>(w.rank() + 7, 3), Shape{3})};
    dist::average_gradients(w, grads, /*bucket_bytes=*/64);
    auto want = [&](auto zero, int shift, int64_t n) {
        using T = decltype(zero);
        std::vector<T> s = part<T>(shift, n);
        for (int r = 1; r < w.size(); ++r) {
            std::vector<T> p = part<T>(r + shift, n);
            for (int64_t i = 0; i < n; ++i) s[size_t(i)] += p[size_t(i)];
        }
        for (T& x : s) x /= T(w.size());
        return s;
    };
    EXPECT(grads[0].to_vector<float>() == want(0.0f, 0, 40));
    EXPECT(!grads[1].defined());
    EXPECT(grads[2].t().contiguous().to_vector<double>() == want(0.0, 0, 6));
    EXPECT(grads[3].to_vector<float>() == want(0.0f, 7, 3));
    w.set_deterministic(false);
}

double max_difference(const Tensor& a, const Tensor& b) {
    return amax(abs(a.detach().to(DType::Float64) - b.detach().to(DType::Float64))).item();
}

// SyncBatchNorm on each rank's block of a batch (rank r holds 2 + r images, so the counts
// differ) against batch_norm of the whole batch in one process, in float64: the output, the
// running statistics, the input's gradient, and the parameters' gradients summed over ranks
// (what the gradient averaging does, times the world size). Then float32 data whose mean is
// large against its spread (where sum x^2 / n - mean^2 would cancel): the variance holds.
void check_sync_batch_norm(dist::Collective& w) {
    const int world = w.size(), rank = w.rank();
    const int64_t c = 3, hw = 5;
    int64_t total = 0, first = 0;
    for (int r = 0; r < world; ++r) {
        if (r == rank) first = total;
        total += 2 + r;
    }
    const int64_t mine = 2 + rank;
    const Tensor x = from_vector(part<double>(0, total * c * hw), Shape{total, c, hw, 1}) * 4.0 + 1.5;
    const Tensor gy = from_vector(part<double>(9, total * c * hw), Shape{total, c, hw, 1});
    auto params = [&] {
        Tensor weight = from_vector(std::vector<double>{0.5, -1.25, 2.0}, Shape{c}), bias = full({c}, 0.25, {DType::Float64});
        weight.requires_grad_();
        bias.requires_grad_();
        return std::pair{weight, bias};
    };
    // One process, the whole batch.
    auto [w1, b1] = params();
    Tensor rm1 = zeros({c}, {DType::Float64}), rv1 = ones({c}, {DType::Float64});
    Tensor x1 = x.detach();
    x1.requires_grad_();
    Tensor y1 = batch_norm(x1, rm1, rv1, w1, b1, true, 0.1, 1e-5);
    sum(y1 * gy).backward();
    // This rank's block, synced.
    auto [w2, b2] = params();
    Tensor rm2 = zeros({c}, {DType::Float64}), rv2 = ones({c}, {DType::Float64});
    Tensor x2 = x.slice(0, first, first + mine).contiguous();
    x2.requires_grad_();
    Tensor y2 = dist::sync_batch_norm(x2, rm2, rv2, w2, b2, 0.1, 1e-5, w);
    sum(y2 * gy.slice(0, first, first + mine)).backward();
    EXPECT(max_difference(y2, y1.slice(0, first, first + mine)) < 1e-12);
    EXPECT(max_difference(rm2, rm1) < 1e-12 && max_difference(rv2, rv1) < 1e-12);
    EXPECT(max_difference(x2.grad(), x1.grad().slice(0, first, first + mine)) < 1e-12);
    Tensor gw = w2.grad().contiguous(), gb = b2.grad().contiguous();
    w.all_reduce(gw);
    w.all_reduce(gb);
    EXPECT(max_difference(gw, w1.grad()) < 1e-12 && max_difference(gb, b1.grad()) < 1e-12);

    // float32, mean 1000, standard deviation about 0.2: the global variance to float32's precision.
    Tensor far = (x.slice(0, first, first + mine) * 0.1 + 1000.0).to(DType::Float32).contiguous();
    Tensor rm = zeros({c}), rv = zeros({c});
    dist::sync_batch_norm(far, rm, rv, Tensor(), Tensor(), 1.0, 1e-5, w);
    Tensor whole = (x * 0.1 + 1000.0).to(DType::Float32).to(DType::Float64);
    Tensor want = var(whole, {0, 2, 3}, 1);
    EXPECT(max_difference(rv, want) < 1e-6 * amax(want).item());

    // No second derivatives: refused by name, not a wrong answer.
    Tensor x3 = x.slice(0, first, first + mine).contiguous();
    x3.requires_grad_();
    Tensor y3 = dist::sync_batch_norm(x3, Tensor(), Tensor(), Tensor(), Tensor(), 0.1, 1e-5, w);
    bool refused = false;
    try {
        autograd::grad({sum(y3 * y3)}, {x3}, {}, true, /*create_graph=*/true);
    } catch (const Error& e) {
        refused = std::string(e.what()).find("no second derivatives") != std::string::npos;
    }
    EXPECT(refused);
}

// Several non-blocking all-reduces in flight at once, polled, waited for in order: the same
// bits as the blocking all_reduce, in both modes.
void check_start_all_reduce(dist::Collective& w) {
    for (bool deterministic : {false, true}) {
        w.set_deterministic(deterministic);
        std::vector<Tensor> blocking, started;
        std::vector<dist::PendingReduce> pending;
        for (int64_t n : {1000, 7, 70000}) {
            blocking.push_back(from_vector(part<float>(w.rank(), n), Shape{n}));
            w.all_reduce(blocking.back(), dist::ReduceOp::Avg);
            started.push_back(from_vector(part<float>(w.rank(), n), Shape{n}));
            pending.push_back(w.start_all_reduce(started.back(), dist::ReduceOp::Avg));
        }
        for (int k = 0; k < 100 && !w.test(pending[0]); ++k) {
        }
        for (size_t i = 0; i < pending.size(); ++i) {
            w.wait(pending[i]);
            EXPECT(!pending[i].active());
            const size_t bytes = size_t(started[i].numel()) * 4;
            EXPECT(std::memcmp(started[i].data<float>(), blocking[i].data<float>(), bytes) == 0);
        }
    }
    w.set_deterministic(false);
}

// The bucketer wired to the engine as DataParallel wires it. Parameters 0 and 1 share a bucket
// of 64 bytes, 2 (float64) and 3 have their own. Each step runs two backwards, the second
// reaching parameters 0 and 3 again (a no-detach GAN's pattern): step 0 learns (every bucket
// reduced in finish), step 1 starts every bucket during the backwards, step 2 changes
// parameter 1's gradient after its bucket left (that bucket is redone). Every step's gradients
// are the rank-order average, bit for bit.
void check_bucketer(dist::Collective& w) {
    w.set_deterministic(true);
    std::vector<Tensor> params = {from_vector(part<float>(0, 10), Shape{10}), from_vector(part<float>(1, 3), Shape{3}),
                                  from_vector(part<double>(2, 6), Shape{2, 3}),
                                  from_vector(part<float>(3, 40), Shape{40})};
    for (const Tensor& p : params) p.requires_grad_();
    dist::GradBucketer bucketer(w, params, /*bucket_bytes=*/64, /*overlap=*/true);
    EXPECT(bucketer.bucket_count() == 3);
    autograd::set_leaf_gradient_hook([&](const TensorImpl& leaf) {
        for (size_t i = 0; i < params.size(); ++i)
            if (params[i].impl() == &leaf) bucketer.gradient_added(i);
    });
    // Rank r's coefficient of parameter i in backward k of step s (the gradient it contributes).
    auto coefficient = [&](int rank, size_t i, int k, int s) {
        const int seed = 100 * s + 10 * k + int(i) + 7 * rank;
        return params[i].dtype() == DType::Float64 ? from_vector(part<double>(seed, 6), Shape{2, 3})
                                                   : from_vector(part<float>(seed, params[i].numel()), params[i].shape());
    };
    auto backward = [&](int k, int s, const std::vector<size_t>& which) {
        Tensor loss;
        for (size_t i : which) {
            Tensor term = sum(mul(params[i], coefficient(w.rank(), i, k, s))).to(DType::Float32);
            loss = loss.defined() ? add(loss, term) : term;
        }
        loss.backward();
    };
    for (int s = 0; s < 3; ++s) {
        for (const Tensor& p : params) p.zero_grad();
        backward(0, s, {0, 1, 2, 3});
        backward(1, s, {0, 3});
        if (s == 2) params[1].grad().mul_(2.0);
        std::vector<Tensor> grads;
        for (const Tensor& p : params) grads.push_back(p.grad());
        bucketer.finish(grads);
        for (size_t i = 0; i < params.size(); ++i) {
            // Each rank's gradient as the engine summed it, then the rank-order average.
            auto local = [&](int rank) {
                Tensor g = coefficient(rank, i, 0, s).clone();
                if (i == 0 || i == 3) g.add_(coefficient(rank, i, 1, s));
                if (s == 2 && i == 1) g.mul_(2.0);
                return g;
            };
            Tensor want = local(0);
            for (int r = 1; r < w.size(); ++r) want.add_(local(r));
            want = mul(want, 1.0 / w.size());
            EXPECT(std::memcmp(grads[i].raw_data(), want.raw_data(), size_t(want.numel() * want.element_size())) == 0);
        }
    }
    autograd::set_leaf_gradient_hook({});
    EXPECT(bucketer.stats().steps == 3);
    EXPECT(bucketer.stats().buckets_overlapped == 5);
    EXPECT(bucketer.stats().buckets_after == 4);
    w.set_deterministic(false);
}

// ZeRO-1 against the unsharded optimizer whose gradients are averaged first: AdamW with two
// groups (another lr and weight decay in the second) over 37 numbers (not a multiple of the
// world size), 3 steps, deterministic: the same parameters and, gathered, the same state, bit
// for bit; this rank holds 1/N of the state. SGD refuses.
void check_zero(dist::Collective& w) {
    w.set_deterministic(true);
    auto make = [&] {
        std::vector<Tensor> p = {from_vector(part<float>(0, 10), Shape{2, 5}), from_vector(part<float>(1, 7), Shape{7}),
                                 from_vector(part<float>(2, 20), Shape{20})};
        for (const Tensor& t : p) t.requires_grad_();
        return p;
    };
    auto groups = [](const std::vector<Tensor>& p) {
        std::vector<optim::ParamGroup> g(2);
        g[0].params = {p[0], p[1]};
        g[1].params = {p[2]};
        g[1].lr = 0.03;
        g[1].options = {{"weight_decay", 0.1}};
        return g;
    };
    std::vector<Tensor> plain_params = make(), sharded_params = make();
    optim::AdamW plain(groups(plain_params), {}), sharded(groups(sharded_params), {});
    plain.set_gradient_hook([&](const std::vector<Tensor>& grads) { dist::average_gradients(w, grads); });
    sharded.shard_state(&w);
    for (int s = 0; s < 3; ++s) {
        for (auto* params : {&plain_params, &sharded_params}) {
            Tensor loss;
            for (size_t i = 0; i < params->size(); ++i) {
                const Tensor& p = (*params)[i];
                Tensor c = from_vector(part<float>(10 * s + int(i) + 5 * w.rank(), p.numel()), p.shape());
                Tensor term = sum(mul(mul(p, p), c));
                loss = loss.defined() ? add(loss, term) : term;
            }
            for (const Tensor& p : *params) p.zero_grad();
            loss.backward();
        }
        plain.step();
        sharded.step();
    }
    for (size_t i = 0; i < plain_params.size(); ++i)
        EXPECT(plain_params[i].to_vector<float>() == sharded_params[i].to_vector<float>());
    const int64_t shard = (37 + w.size() - 1) / w.size();
    EXPECT(plain.state_bytes() == 2 * 37 * 4);
    EXPECT(sharded.state_bytes() == 2 * shard * 4);
    sharded.gather_sharded_state();
    const optim::StateDict a = plain.state_dict(), b = sharded.state_dict();
    EXPECT(a.size() == b.size());
    for (const auto& [key, t] : a)
        EXPECT(b.count(key) && std::memcmp(t.raw_data(), b.at(key).raw_data(), size_t(t.numel() * t.element_size())) == 0);
    bool refused = false;
    try {
        optim::SGD sgd(make());
        sgd.shard_state(&w);
    } catch (const Error& e) {
        refused = std::strstr(e.what(), "Adam and AdamW only") != nullptr;
    }
    EXPECT(refused);
    w.set_deterministic(false);
}

}  // namespace

int main() {
    try {
        dist::Session session;
        dist::Collective& w = dist::world();
        if (w.size() < 2) {
            std::fprintf(stderr, "collectives_mpi: run me under mpirun with 2 or more ranks (world size %d)\n",
                         w.size());
            return 1;
        }
        for (bool deterministic : {false, true}) {
            check_all_reduce<float>(w, 1000, deterministic);
            check_all_reduce<double>(w, 33, deterministic);
            check_all_reduce<int64_t>(w, 17, deterministic);
        }
        check_others(w);
        check_average_gradients(w);
        check_sync_batch_norm(w);
        check_start_all_reduce(w);
        check_bucketer(w);
        check_zero(w);
        // Every rank's verdict, so rank 0's exit code speaks for all.
        Tensor failed = from_vector(std::vector<int64_t>{failures}, Shape{1});
        w.all_reduce(failed);
        failures = int(failed.data<int64_t>()[0]);
        if (w.rank() == 0) std::printf("collectives at world size %d: %s\n", w.size(), failures ? "FAILED" : "ok");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "collectives_mpi: %s\n", e.what());
        dist::abort_if_distributed(1);
        return 1;
    }
    return failures ? 1 : 0;
}
