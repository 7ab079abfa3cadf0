// `minigen bench --tune`: a short autotune of the float32 GEMM blocking (kernels/cpu/gemm_blocking.h).
#pragma once

namespace mg::tools::bench {

struct TuneOptions {
    int threads = 1;
    bool quick = false;  // tiny shapes, three candidates, three rounds: for tests
};

// Times a small grid of (mc, kc, nc) around the derived point on sgemm 1024^3 and dcgan's
// conv GEMMs (interleaved rounds, medians), prints the table on stdout and writes the winner
// to this CPU model's tuned file (atomically). Returns the exit status.
int run_gemm_tune(const TuneOptions& options);

}  // namespace mg::tools::bench
