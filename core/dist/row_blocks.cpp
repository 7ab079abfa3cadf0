#include "core/dist/row_blocks.h"

#include "core/ops.h"

namespace mg::dist {

namespace {
int64_t rows_per_rank(int64_t rows, int world) { return (rows + world - 1) / world; }
}  // namespace

RowBlock row_block(int64_t rows, const Collective& group) {
    MG_CHECK(rows >= 0, "row_block: {} rows", rows);
    const int64_t per = rows_per_rank(rows, group.size());
    const int64_t begin = std::min(rows, per * group.rank());
    return {begin, std::min(rows, begin + per)};
}

Tensor all_gather_rows(const Tensor& part, int64_t rows, Collective& group) {
    const RowBlock mine = row_block(rows, group);
    MG_CHECK(part.dim() >= 1 && part.size(0) == mine.end - mine.begin,
             "all_gather_rows: rank {} holds {} rows, its block of {} is {}", group.rank(),
             part.dim() >= 1 ? part.size(0) : 0, rows, mine.end - mine.begin);
    if (group.size() == 1) return part;
    // Every rank sends rows_per_rank rows (the last blocks are short or empty: padded), so the
    // gathered blocks sit at multiples of it and the first `rows` rows are the result.
    Shape padded = part.shape();
    padded[0] = rows_per_rank(rows, group.size());
    Tensor send = zeros(padded, {part.dtype()});
    if (part.size(0) > 0) send.slice(0, 0, part.size(0)).copy_(part);
    return group.all_gather(send).slice(0, 0, rows).contiguous();
}

}  // namespace mg::dist
