// The shapes of PixelRNN's kernels (kernels/lstm.h), plain for nvcc.
#pragma once

#include <cstdint>

namespace mg::kernels {

// The LSTM cell of n rows of `hidden` units: gates [n, 4 * hidden], c_prev [n, hidden],
// out [2, n, hidden] (h, then c).
struct LstmCellShape {
    int64_t n = 0, hidden = 0;
};

// Diagonal BiLSTM's skew: `planes` (N * C) planes of h rows; the unskewed width is w, the
// skewed width w + h - 1 (row i shifted right by i).
struct SkewShape {
    int64_t planes = 0, h = 0, w = 0;
    int64_t skewed_w() const { return w + h - 1; }
};

}  // namespace mg::kernels
