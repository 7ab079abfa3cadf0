// Pieces shared by the lowering convolutions (conv_im2col.cpp, conv_masked.cpp): per-thread
// scratch, a GEMM call from plain arguments, and the split of a batch into one block of
// images per OpenMP thread.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <vector>

#include "kernels/gemm.h"

namespace mg::kernels::cpu {

// A buffer per thread and purpose, kept between calls so steady-state training allocates nothing.
template <class T, int Slot>
T* thread_scratch(int64_t elements) {
    thread_local std::vector<T> buffer;
    if (int64_t(buffer.size()) < elements) buffer.resize(size_t(elements));
    return buffer.data();
}

template <class T>
void call_gemm(GemmFn* gemm, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a,
               int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, double beta) {
    GemmArgs args;
    args.trans_a = trans_a;
    args.trans_b = trans_b;
    args.m = m;
    args.n = n;
    args.k = k;
    args.lda = lda;
    args.ldb = ldb;
    args.ldc = ldc;
    args.beta = beta;
    gemm(args, a, b, c);
}

// Runs body(thread, threads, first_image, end_image) on one contiguous block of images per
// thread, or once over all images when they are fewer than the threads. Returns how many
// blocks ran. Exceptions inside the parallel region are carried out of it.
template <class Body>
int for_each_image_block(int64_t images, Body body) {
    const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (max_threads <= 1 || images < max_threads) {
        body(0, 1, int64_t(0), images);
        return 1;
    }
    int blocks = 1;
    std::exception_ptr error;
#pragma omp parallel num_threads(max_threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (t == 0) blocks = nt;
        const int64_t base = images / nt, extra = images % nt;
        const int64_t first = t * base + std::min<int64_t>(t, extra);
        const int64_t end = first + base + (t < extra ? 1 : 0);
        try {
            body(t, nt, first, end);
        } catch (...) {
#pragma omp critical(minigen_conv_block_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    return blocks;
}

}  // namespace mg::kernels::cpu
