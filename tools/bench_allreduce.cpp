// `minigen bench --allreduce`, under mpirun -np N: core/dist's all-reduce (sum of float32
// buffers, 4 KiB to 64 MiB), with MPI's own reduction and in the deterministic rank order.
//
// The rate is the bus bandwidth of nccl-tests: 2 (N - 1) / N * bytes / time, the bytes each
// rank sends and receives in a ring all-reduce, so it compares across world sizes and with
// the machine's copy bandwidth (%peak), what ranks on one machine move their bytes with.
//
// Every rank must make the same calls in the same order, so the timing is a fixed number of
// calls per size (not time_calls's adaptive samples); rank 0's clock is the one reported.
#include <algorithm>
#include <vector>

#include "core/dist/collective.h"
#include "tools/bench.h"

namespace mg::tools::bench {
namespace {

std::string size_label(int64_t bytes) {
    return bytes >= (1 << 20) ? fmt::format("{} MiB", bytes >> 20) : fmt::format("{} KiB", bytes >> 10);
}

}  // namespace

void run_allreduce_group(const RunOptions& opt, const Peaks& peaks) {
    dist::Collective& w = dist::world();
    const bool was_deterministic = w.deterministic();
    for (bool deterministic : {false, true}) {
        w.set_deterministic(deterministic);
        for (int64_t bytes = 4 << 10; bytes <= (64 << 20); bytes *= 4) {
            Result r;
            r.kind = "collective";
            r.name = "all_reduce";
            r.shape = size_label(bytes) + " f32";
            r.variant = w.backend() + (deterministic ? " ordered" : "");
            r.threads = opt.threads;
            if (!opt.selected(r.name + " " + r.shape + " " + r.variant)) continue;
            opt.progress(fmt::format("all_reduce {} ({}, {} ranks)", r.shape, r.variant, w.size()));
            Tensor buffer = ones(Shape{bytes / 4});
            // About 64 MiB reduced per sample, 3 to 64 calls; 7 samples after 2 calls of warm-up.
            const int calls = int(std::clamp<int64_t>((int64_t(64) << 20) / bytes, 3, 64));
            const int samples = 7;
            for (int i = 0; i < 2; ++i) w.all_reduce(buffer);
            std::vector<double> ms;
            for (int s = 0; s < samples; ++s) {
                w.barrier();
                const double t0 = now_seconds();
                for (int i = 0; i < calls; ++i) w.all_reduce(buffer, dist::ReduceOp::Avg);
                ms.push_back((now_seconds() - t0) * 1e3 / calls);
            }
            std::sort(ms.begin(), ms.end());
            r.timed = true;
            r.timing = {ms[ms.size() / 2], ms.front(), ms.back(), samples, calls};
            r.bytes = double(bytes) * 2.0 * double(w.size() - 1) / double(w.size());
            r.traffic = Traffic::Copy;
            r.note = fmt::format("{} ranks; rate: bus bandwidth, 2(N-1)/N x bytes", w.size());
            finish_rates(r, peaks);
            if (w.rank() == 0) opt.emit(r);
        }
    }
    w.set_deterministic(was_deterministic);
}

}  // namespace mg::tools::bench
