// SyncBatchNorm and row blocks at world size 1 (at world size 2 and more: tests/mpi): the
// blocks each rank takes, and a synced BatchNorm in one process is the ordinary one, bit for bit.
#include <vector>

#include "core/dist/row_blocks.h"
#include "core/dist/sync_batch_norm.h"
#include "core/nn/norm.h"
#include "core/ops.h"
#include "helpers.h"

using namespace mg;

namespace {

// A world's rank and size without a transport: for the arithmetic of row_block.
class RankOf final : public dist::Collective {
public:
    RankOf(int rank, int size) : rank_(rank), size_(size) {}
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::string backend() const override { return "none"; }
    void barrier() override {}

protected:
    void sum_in_place(void*, int64_t, DType) override { MG_FAIL("no transport"); }
    void broadcast_bytes(void*, int64_t, int) override { MG_FAIL("no transport"); }
    void all_gather_bytes(const void*, void*, int64_t) override { MG_FAIL("no transport"); }
    void reduce_scatter_sum(const void*, void*, int64_t, DType) override { MG_FAIL("no transport"); }

private:
    int rank_, size_;
};

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.contiguous().to_vector<float>() == b.contiguous().to_vector<float>();
}

}  // namespace

TEST_CASE("dist: row blocks are contiguous, in rank order, and cover every row once") {
    for (int world : {1, 2, 3, 4}) {
        for (int64_t rows : {0, 1, 5, 203, 10000}) {
            int64_t next = 0;
            for (int r = 0; r < world; ++r) {
                const dist::RowBlock b = dist::row_block(rows, RankOf(r, world));
                CHECK(b.begin == next);
                CHECK(b.end >= b.begin);
                CHECK(b.end - b.begin <= (rows + world - 1) / world);
                next = b.end;
            }
            CHECK(next == rows);
        }
    }
    // 5 rows on 4 ranks: 2, 2, 1 and none.
    CHECK(dist::row_block(5, RankOf(2, 4)).begin == 4);
    CHECK(dist::row_block(5, RankOf(3, 4)).begin == 5);
    CHECK(dist::row_block(5, RankOf(3, 4)).end == 5);
    Tensor part = randn({5, 3});
    CHECK(same_bits(dist::all_gather_rows(part, 5, dist::world()), part));
    CHECK_THROWS_WITH_AS(dist::all_gather_rows(part, 6, dist::world()), doctest::Contains("holds 5 rows"), Error);
}

TEST_CASE("dist: a BatchNorm synced over a world of one is the ordinary BatchNorm, bit for bit") {
    manual_seed(5);
    const Tensor x = randn({6, 4, 3, 3}) * 2.0 + 0.5;
    const Tensor gy = randn({6, 4, 3, 3});
    using A = BatchNormActivation;
    // With the activation a Sequential fuses into it (BatchNorm::forward_act) too: the synced
    // layer must still apply it.
    for (A act : {A{A::None, 0.0}, A{A::Relu, 0.0}, A{A::LeakyRelu, 0.2}}) {
        CAPTURE(int(act.kind));
        std::vector<Tensor> y, gx, gw, running;
        for (bool synced : {false, true}) {
            nn::BatchNorm2d norm(4);
            if (synced) norm.sync_group = &dist::world();
            Tensor xi = x.detach();
            xi.requires_grad_();
            Tensor out = norm.forward_act(xi, act);
            sum(out * gy).backward();
            y.push_back(out);
            gx.push_back(xi.grad());
            gw.push_back(norm.weight.grad());
            running.push_back(norm.running_var);
        }
        CHECK(same_bits(y[0], y[1]));
        CHECK(same_bits(gx[0], gx[1]));
        CHECK(same_bits(gw[0], gw[1]));
        CHECK(same_bits(running[0], running[1]));
    }
}
