// SyncBatchNorm: training-mode batch normalisation whose statistics are those of the global
// batch, every rank's images together (PyTorch's torch.nn.SyncBatchNorm).
//
//   x [N, C, ...] on each rank (N may differ between ranks)
//   forward:  each rank's per-channel (count, mean, M2 = sum (x - mean)^2), in float64, are
//             all-gathered and combined in rank order by Chan's formula; every rank normalises
//             its own x with the global mean and biased variance, and updates the running
//             statistics with the global mean and unbiased variance, M2 / (count - 1)
//   backward: the two per-channel sums of the gradient, sum gy and sum gy * xhat, are
//             all-reduced (summed), and
//               gx = weight * invstd * (gy - sum gy / count - xhat * sum(gy xhat) / count)
//             with the global sums and count; grad weight = sum gy xhat and grad bias = sum gy
//             stay this rank's, as PyTorch's (the gradient averaging sums them with the others)
//
// Why mean and M2 by Chan's formula rather than one all-reduce of (count, sum, sum of
// squares): sum x^2 / n - mean^2 cancels catastrophically in float32 when a channel's mean is
// large against its spread; mean and M2 combine without that loss (PyTorch gathers per-rank
// means and variances too). All-gathering them costs 2C + 1 doubles per rank, and combining
// them in rank order on every rank gives every rank the same bits, deterministic or not.
//
// The gradient sums are all-reduced as any gradient is: in rank order with the Collective's
// deterministic mode, by MPI's tree otherwise. No second derivatives: an all-reduce in a
// backward is not differentiable here (WGAN-GP's penalty through a synced BatchNorm is refused).
#pragma once

#include "core/autograd.h"
#include "core/dist/collective.h"

namespace mg::dist {

// Training-mode batch norm over `group`'s ranks. running_mean/running_var (or neither) and
// weight/bias (or neither) are [C]; momentum weighs this batch in the running averages. At
// group size 1, or inside a LocalBatchStatistics scope, it is mg::batch_norm's training mode.
Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, double momentum, double eps, Collective& group);

// Whether sync_batch_norm uses this rank's statistics alone; LocalBatchStatistics turns it on
// for its scope: for work one rank does without the others (rank 0's sample points), which
// would otherwise wait for them forever.
bool local_batch_statistics();
void set_local_batch_statistics(bool on);
using LocalBatchStatistics = autograd::ModeGuard<local_batch_statistics, set_local_batch_statistics>;

}  // namespace mg::dist
