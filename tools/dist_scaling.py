#!/usr/bin/env python3
"""dist_scaling.py [--compute-ms T] [--grads N,N,...] [--bucket-mib B]: the expected time of
one data-parallel step on 2 to 64 nodes over 10 GbE and 100 Gb InfiniBand, from a measured
compute time per step and the gradients each step all-reduces (docs/distributed.md, "On paper").
The defaults are dcgan's, measured on the development machine (batch 64 per node, 1 thread).

Weak scaling: every node keeps its batch, so the compute per step stays T. A ring all-reduce of
S bytes on p nodes moves 2 (p - 1) / p * S bytes per node in 2 (p - 1) messages:
    ring(S) = 2 (p - 1) / p * S / bandwidth + 2 (p - 1) * latency
Without overlap (minigen today: each optimizer's gradients are reduced after its backward):
    t = T + sum over the step's reductions of ring(S_i)
With overlap (buckets of B launched while backward runs, backward ~ 2/3 of T): what backward
cannot hide, and at least the last bucket of each reduction, which starts when backward ends:
    t = T + max(sum of ring(bucket) - 2/3 T, sum over reductions of ring(last bucket))"""
import argparse
import math

NETWORKS = {  # effective bandwidth (bytes/s) and one message's latency (s)
    "10 GbE": (1.1e9, 30e-6),     # TCP: about 9 Gb/s of 10, tens of microseconds
    "100 Gb IB": (11.0e9, 2e-6),  # RDMA: about 90 Gb/s of 100, microseconds
}
NODES = (2, 4, 8, 16, 32, 64)

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--compute-ms", type=float, default=196.0, help="compute time of one step on one node (ms)")
p.add_argument("--grads", default="138817,766017",
               help="float32 gradients of each all-reduce of a step (dcgan: D's, G's)")
p.add_argument("--bucket-mib", type=float, default=1.0, help="bucket size with overlap (MiB)")
p.add_argument("--backward-share", type=float, default=2 / 3, help="share of the compute that overlap can hide")
args = p.parse_args()
sizes = [4 * float(n) for n in args.grads.split(",")]
if args.compute_ms <= 0 or args.bucket_mib <= 0 or not sizes or min(sizes) <= 0:
    p.error("--compute-ms, --bucket-mib and every --grads entry must be positive")

compute = args.compute_ms / 1e3
bucket = args.bucket_mib * 2**20


def ring(size, nodes, bandwidth, latency):
    return 2 * (nodes - 1) / nodes * size / bandwidth + 2 * (nodes - 1) * latency


def step_times(nodes, bandwidth, latency):
    plain = compute + sum(ring(s, nodes, bandwidth, latency) for s in sizes)
    buckets = [min(bucket, s - i * bucket) for s in sizes for i in range(math.ceil(s / bucket))]
    hidden_part = sum(ring(b, nodes, bandwidth, latency) for b in buckets) - args.backward_share * compute
    tail = sum(ring(s - (math.ceil(s / bucket) - 1) * bucket, nodes, bandwidth, latency) for s in sizes)
    return plain, compute + max(hidden_part, tail)


print(f"compute {args.compute_ms:g} ms/step; gradients {sum(sizes) / 1e6:.2f} MB/step in {len(sizes)} all-reduces; "
      f"buckets of {args.bucket_mib:g} MiB with overlap\n")
print("| nodes |" + "".join(f" {n}: no overlap | overlap |" for n in NETWORKS) + " efficiency, no overlap / overlap |")
print("|---:|" + "---:|---:|" * len(NETWORKS) + "---|")
for nodes in NODES:
    row, eff = f"| {nodes} |", []
    for name, (bandwidth, latency) in NETWORKS.items():
        plain, overlapped = step_times(nodes, bandwidth, latency)
        row += f" {plain * 1e3:.1f} ms | {overlapped * 1e3:.1f} ms |"
        eff.append(f"{name} {compute / plain:.0%} / {compute / overlapped:.0%}")
    print(row + " " + ", ".join(eff) + " |")
