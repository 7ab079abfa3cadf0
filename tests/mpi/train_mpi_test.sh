#!/bin/sh
# train_mpi_test.sh MINIGEN: data-parallel training on 2 ranks (ctest mpi_train).
#  1. dcgan, 2 ranks, --deterministic: two runs give the same checkpoint bit for bit.
#  2. vae, 2 ranks x batch 16 against 1 process x batch 32: the same parameters within
#     float32 reassociation (the same data, the same noise; only the sums' order differs).
#  3. --resume at another world size: vae 3 steps on 2 ranks x 16, then 2 more in 1 process
#     x 32, matches 1 x 32 for 5 steps (the loader's position and the random streams are global);
#     1 x 16 (another global batch) is refused without --allow-changes.
#  4. The same as 2 for gated-pixelcnn, 2 ranks x 4 against 1 x 8, 3 steps (the PixelCNN without
#     BatchNorm: pixelcnn's BatchNorm normalises each rank's images with their own statistics,
#     which one process with the whole batch does not, so it differs by more than rounding).
set -eu
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common="--threads 1 --no-report --grid 4 --log-every 1"

for run in a b; do
    "$here/mpirun2.sh" "$bin" train dcgan --steps 4 --batch-size 8 --deterministic $common --out "$tmp/dcgan_$run" >/dev/null
done
"$py" "$here/compare_checkpoints.py" "$tmp/dcgan_a/checkpoint.safetensors" "$tmp/dcgan_b/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train vae --steps 5 --batch-size 16 $common --out "$tmp/vae_2x16" >/dev/null
"$bin" train vae --steps 5 --batch-size 32 $common --out "$tmp/vae_1x32" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/vae_2x16/checkpoint.safetensors" "$tmp/vae_1x32/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train vae --steps 3 --batch-size 16 $common --out "$tmp/vae_resumed" >/dev/null
if "$bin" train vae --resume --steps 5 $common --out "$tmp/vae_resumed" >/dev/null 2>"$tmp/err"; then
    echo "FAILED: a resume at another global batch was accepted"; exit 1
fi
grep -q 'global_batch "32 (2 x 16)" -> "16 (1 x 16)"' "$tmp/err" || { cat "$tmp/err"; exit 1; }
"$bin" train vae --resume --steps 5 --batch-size 32 $common --out "$tmp/vae_resumed" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/vae_resumed/checkpoint.safetensors" "$tmp/vae_1x32/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train gated-pixelcnn --steps 3 --batch-size 4 $common --out "$tmp/pcnn_2x4" >/dev/null
"$bin" train gated-pixelcnn --steps 3 --batch-size 8 $common --out "$tmp/pcnn_1x8" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/pcnn_2x4/checkpoint.safetensors" "$tmp/pcnn_1x8/checkpoint.safetensors"
