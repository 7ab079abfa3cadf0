// Work split by rows over the ranks of a Collective, and joined back (sharded evaluation):
//
//   RowBlock mine = row_block(n, world);                 // rows [begin, end) of [0, n)
//   Tensor part = f(images.slice(0, mine.begin, mine.end));
//   Tensor all = all_gather_rows(part, n, world);        // every rank's part in rank order
//
// Rank r's block is [r p, min(n, (r + 1) p)) with p = ceil(n / world): contiguous blocks in
// rank order, so the joined rows are in the order one process computes them.
#pragma once

#include <cstdint>

#include "core/dist/collective.h"

namespace mg::dist {

struct RowBlock {
    int64_t begin = 0, end = 0;
};

RowBlock row_block(int64_t rows, const Collective& group);

// part: this rank's block (row_block(rows, group)) of a [rows, ...] result, the same trailing
// shape and dtype on every rank -> the whole [rows, ...] on every rank.
Tensor all_gather_rows(const Tensor& part, int64_t rows, Collective& group);

}  // namespace mg::dist
