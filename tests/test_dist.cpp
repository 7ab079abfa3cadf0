// core/dist at world size 1 (the MPI backend at world size 2 is tests/mpi), the generator's
// and the loader's shards, and the optimizer's gradient hook.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/data/loader.h"
#include "core/dist/collective.h"
#include "core/dist/grad_sync.h"
#include "core/dist/watchdog.h"
#include "optim/sgd.h"
#include "helpers.h"

using namespace mg;

TEST_CASE("dist: a single process is a world of one") {
    std::unique_ptr<dist::Collective> w = dist::make_single_process();
    CHECK(w->rank() == 0);
    CHECK(w->size() == 1);
    CHECK(dist::world().size() == 1);  // the test binary is not launched by mpirun
    for (bool deterministic : {false, true}) {
        w->set_deterministic(deterministic);
        Tensor t = from_vector(std::vector<float>{1.5f, -2.f, 3.25f});
        w->all_reduce(t, dist::ReduceOp::Avg);
        CHECK(t.to_vector<float>() == std::vector<float>{1.5f, -2.f, 3.25f});
        Tensor i = from_vector(std::vector<int64_t>{4, 5});
        w->all_reduce(i);
        CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{4, 5});
        Tensor g = w->all_gather(from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{2, 3}));
        CHECK(g.shape() == Shape({2, 3}));
        CHECK(g.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
        Tensor r = w->reduce_scatter(from_vector(std::vector<double>{7, 8}), dist::ReduceOp::Avg);
        CHECK(r.to_vector<double>() == std::vector<double>{7, 8});
    }
    CHECK(w->broadcast_string("config") == "config");
    w->barrier();
}

TEST_CASE("dist: collectives refuse what no backend can reduce") {
    std::unique_ptr<dist::Collective> w = dist::make_single_process();
    Tensor labels = from_vector(std::vector<int64_t>{1, 2});
    CHECK_THROWS_WITH_AS(w->all_reduce(labels, dist::ReduceOp::Avg), doctest::Contains("int64"), Error);
    Tensor bytes = zeros(Shape{3}, {DType::UInt8});
    CHECK_THROWS_WITH_AS(w->all_reduce(bytes), doctest::Contains("uint8"), Error);
    Tensor strided = zeros(Shape{3, 2}).t();
    CHECK_THROWS_WITH_AS(w->all_reduce(strided), doctest::Contains("contiguous"), Error);
    CHECK_THROWS_WITH_AS(w->broadcast(labels, 1), doctest::Contains("root 1"), Error);
    CHECK_THROWS_WITH_AS(w->reduce_scatter(zeros(Shape{})), doctest::Contains("equal parts"), Error);
}

TEST_CASE("dist: W sharded generators draw what one process draws for W parts") {
    // Two draws per step (as a GAN draws z, then z_g): each rank's parts are the blocks of
    // the single process's draws, and every rank's state ends where that process's does.
    Generator& g = default_generator();
    const GeneratorState saved = g.state();
    const Generator::Shard saved_shard = g.shard();
    g.set_state({123, 40});
    g.set_shard({});
    Tensor one_a = randn(Shape{4, 6}), one_b = randn(Shape{8});
    const GeneratorState after = g.state();
    for (int rank = 0; rank < 2; ++rank) {
        g.set_state({123, 40});
        g.set_shard({rank, 2});
        Tensor a = randn(Shape{2, 6}), b = randn(Shape{4});
        CHECK(a.to_vector<float>() == one_a.slice(0, 2 * rank, 2 * rank + 2).contiguous().to_vector<float>());
        CHECK(b.to_vector<float>() == one_b.slice(0, 4 * rank, 4 * rank + 4).contiguous().to_vector<float>());
        CHECK(g.state().offset == after.offset);
    }
    g.set_shard(saved_shard);
    g.set_state(saved);
}

TEST_CASE("dist: the ranks' loader shards are the blocks of one process's global batches") {
    Tensor images = arange(0, 40, 1, {DType::Int64}).view({20, 2});
    data::LoaderOptions one{.batch_size = 6, .drop_last = true, .seed = 9, .background = false};
    data::DataLoader whole(images, Tensor(), one);
    data::LoaderOptions r0 = one, r1 = one;
    r0.batch_size = r1.batch_size = 3;
    r0.world = r1.world = 2;
    r1.rank = 1;
    data::DataLoader rank0(images, Tensor(), r0), rank1(images, Tensor(), r1);
    CHECK(rank0.batches_per_epoch() == whole.batches_per_epoch());
    for (int step = 0; step < 7; ++step) {  // across an epoch's end
        std::optional<data::Batch> w = whole.next(), a = rank0.next(), b = rank1.next();
        REQUIRE(w.has_value() == a.has_value());
        REQUIRE(a.has_value() == b.has_value());
        if (!w) continue;
        std::vector<int64_t> both = a->indices;
        both.insert(both.end(), b->indices.begin(), b->indices.end());
        CHECK(both == w->indices);
        CHECK(b->images.to_vector<int64_t>() == w->images.slice(0, 3, 6).contiguous().to_vector<int64_t>());
    }
    data::LoaderOptions no_drop = r1;
    no_drop.drop_last = false;
    CHECK_THROWS_WITH_AS(data::DataLoader(images, Tensor(), no_drop), doctest::Contains("drop_last"), Error);
    data::LoaderOptions bad_rank = r1;
    bad_rank.rank = 2;
    CHECK_THROWS_WITH_AS(data::DataLoader(images, Tensor(), bad_rank), doctest::Contains("rank 2"), Error);
}

TEST_CASE("dist: the optimizer's gradient hook sees every gradient before the update") {
    Tensor w = from_vector(std::vector<float>{1.f, 2.f}).requires_grad_();
    Tensor unused = from_vector(std::vector<float>{5.f}).requires_grad_();
    optim::SGD sgd({w, unused}, {.lr = 0.5});
    (w * w).sum().backward();  // grad 2w = {2, 4}
    int calls = 0;
    sgd.set_gradient_hook([&](const std::vector<Tensor>& grads) {
        ++calls;
        REQUIRE(grads.size() == 2);
        CHECK(!grads[1].defined());
        Tensor g = grads[0];
        g.mul_(0.5);  // what an average over two ranks holding {2, 4} and {0, 0} gives
    });
    sgd.step();
    CHECK(calls == 1);
    CHECK(w.to_vector<float>() == std::vector<float>{0.5f, 1.f});  // 1 - 0.5 * 1, 2 - 0.5 * 2
    // At world size 1 the average leaves the gradients as they are.
    std::unique_ptr<dist::Collective> one = dist::make_single_process();
    Tensor g = from_vector(std::vector<float>{3.f});
    dist::average_gradients(*one, {g, Tensor()});
    CHECK(g.to_vector<float>() == std::vector<float>{3.f});
}

TEST_CASE("dist: the watchdog fires after a guarded call's deadline, and only then") {
    std::atomic<int> fired{0};
    std::string what;
    dist::Watchdog dog([&](const char* name, double) {
        what = name;
        fired = 1;
    });
    {
        dist::Watchdog::Guard quick(dog, "quick", 5.0);  // ends long before its deadline
    }
    {
        dist::Watchdog::Guard off(dog, "off", 0.0);  // a timeout of 0: not watched
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
    }
    CHECK(fired == 0);
    {
        dist::Watchdog::Guard slow(dog, "slow", 0.02);
        for (int i = 0; i < 500 && fired == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(fired == 1);
    CHECK(what == "slow");
}
