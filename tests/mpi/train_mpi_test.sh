#!/bin/sh
# train_mpi_test.sh MINIGEN: data-parallel training on 2 ranks (ctest mpi_train).
#  1. dcgan, 2 ranks, --deterministic: two runs give the same checkpoint bit for bit, one with
#     its gradient buckets (small ones, several per network) reduced while backward runs, the
#     other after it (--overlap off); and one with ZeRO-1 (--zero 1), the same bits again; and
#     two runs with synced (--sync-bn) BatchNorm statistics, the same bits as each other.
#  2. vae, 2 ranks x batch 16 against 1 process x batch 32: the same parameters within
#     float32 reassociation (the same data, the same noise; only the sums' order differs).
#  3. --resume at another world size: vae 3 steps on 2 ranks x 16 with ZeRO-1, then 2 more in 1
#     process x 32 without it, matches 1 x 32 for 5 steps (the loader's position and the random
#     streams are global; the checkpoint holds the whole optimizer state); 1 x 16 (another global
#     batch) is refused without --allow-changes.
#  4. The same as 2 for gated-pixelcnn, 2 ranks x 4 against 1 x 8, 3 steps (the PixelCNN without
#     BatchNorm: pixelcnn's BatchNorm normalises each rank's images with their own statistics,
#     which one process with the whole batch does not, so it differs by more than rounding).
#  5. --sync-bn (BatchNorm statistics of the global batch): dcgan, 20 steps of 2 ranks x 32
#     against 1 process x 64, and pixelcnn, 3 steps of 2 x 4 against 1 x 8, within 1e-2.
#     Why so loose: float32 reassociation alone moves these models that far. Adam's update is
#     about lr x sign(gradient) where a gradient is near zero, and a conv bias that feeds a
#     BatchNorm has a zero gradient in exact arithmetic (the BatchNorm removes it), so
#     rounding noise flips such updates by 2 lr. One process with other kernel variants
#     (MINIGEN_KERNELS=batch_norm_forward=reference,batch_norm_backward=reference,
#     conv2d_backward_weight=im2col) differs from itself by 1.9e-3 (dcgan) and 4.5e-3
#     (pixelcnn); per-rank statistics (no --sync-bn) differ by 3e-2 and 6e-2: checked for
#     pixelcnn, so that the comparison can tell.
#  6. wgan-gp (gradient penalty, n_critic 5), 2 ranks, --deterministic, 10 steps: overlap on and
#     off give the same bits (the penalty's double backward must not launch a bucket early).
#  7. vae, 2 ranks x 16 with ZeRO-1 against 1 process x 32, as 2.
set -eu
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common="--threads 1 --no-report --grid 4 --log-every 1"

dcgan="train dcgan --steps 4 --batch-size 8 --deterministic $common"
"$here/mpirun2.sh" "$bin" $dcgan --bucket-mb 0.05 --out "$tmp/dcgan_a" >/dev/null 2>"$tmp/err"
grep -q "D: 4 steps, [0-9]* buckets each; [1-9][0-9]* buckets reduced while backward ran" "$tmp/err" || { cat "$tmp/err"; exit 1; }
"$here/mpirun2.sh" "$bin" $dcgan --overlap off --out "$tmp/dcgan_b" >/dev/null
"$here/mpirun2.sh" "$bin" $dcgan --zero 1 --out "$tmp/dcgan_z" >/dev/null
for run in b z; do
    "$py" "$here/compare_checkpoints.py" "$tmp/dcgan_a/checkpoint.safetensors" "$tmp/dcgan_$run/checkpoint.safetensors"
done
for run in a b; do
    "$here/mpirun2.sh" "$bin" $dcgan --sync-bn --out "$tmp/dcgan_sync_$run" >/dev/null
done
"$py" "$here/compare_checkpoints.py" "$tmp/dcgan_sync_a/checkpoint.safetensors" "$tmp/dcgan_sync_b/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train vae --steps 5 --batch-size 16 $common --out "$tmp/vae_2x16" >/dev/null
"$bin" train vae --steps 5 --batch-size 32 $common --out "$tmp/vae_1x32" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/vae_2x16/checkpoint.safetensors" "$tmp/vae_1x32/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train vae --steps 3 --batch-size 16 --zero 1 $common --out "$tmp/vae_resumed" >/dev/null
if "$bin" train vae --resume --steps 5 $common --out "$tmp/vae_resumed" >/dev/null 2>"$tmp/err"; then
    echo "FAILED: a resume at another global batch was accepted"; exit 1
fi
grep -q 'global_batch "32 (2 x 16)" -> "16 (1 x 16)"' "$tmp/err" || { cat "$tmp/err"; exit 1; }
"$bin" train vae --resume --steps 5 --batch-size 32 $common --out "$tmp/vae_resumed" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/vae_resumed/checkpoint.safetensors" "$tmp/vae_1x32/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train gated-pixelcnn --steps 3 --batch-size 4 $common --out "$tmp/pcnn_2x4" >/dev/null
"$bin" train gated-pixelcnn --steps 3 --batch-size 8 $common --out "$tmp/pcnn_1x8" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/pcnn_2x4/checkpoint.safetensors" "$tmp/pcnn_1x8/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train dcgan --steps 20 --batch-size 32 --sync-bn $common --sample-every 20 --out "$tmp/dcgan_2x32" >/dev/null
"$bin" train dcgan --steps 20 --batch-size 64 $common --sample-every 20 --out "$tmp/dcgan_1x64" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-2 "$tmp/dcgan_2x32/checkpoint.safetensors" "$tmp/dcgan_1x64/checkpoint.safetensors"
grep -q '"sync_bn": true' "$tmp/dcgan_2x32/config.json" || { echo "FAILED: config.json does not record --sync-bn"; exit 1; }
"$py" -c "import sys; sys.path.insert(0, '$here/../../tools'); from read_checkpoint import load_checkpoint
sys.exit(load_checkpoint('$tmp/dcgan_2x32/checkpoint.safetensors')['metadata'].get('sync_bn') != 'true')" ||
    { echo "FAILED: the checkpoint does not record --sync-bn"; exit 1; }

"$here/mpirun2.sh" "$bin" train pixelcnn --steps 3 --batch-size 4 --sync-bn $common --out "$tmp/pixelcnn_2x4" >/dev/null
"$bin" train pixelcnn --steps 3 --batch-size 8 $common --out "$tmp/pixelcnn_1x8" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-2 "$tmp/pixelcnn_2x4/checkpoint.safetensors" "$tmp/pixelcnn_1x8/checkpoint.safetensors"
"$here/mpirun2.sh" "$bin" train pixelcnn --steps 3 --batch-size 4 $common --out "$tmp/pixelcnn_2x4_local" >/dev/null
if "$py" "$here/compare_checkpoints.py" --tolerance 1e-2 "$tmp/pixelcnn_2x4_local/checkpoint.safetensors" "$tmp/pixelcnn_1x8/checkpoint.safetensors"; then
    echo "FAILED: per-rank BatchNorm statistics matched one process: the comparison cannot tell"; exit 1
fi

wgan="train wgan-gp --steps 10 --batch-size 4 --deterministic $common"
"$here/mpirun2.sh" "$bin" $wgan --bucket-mb 0.05 --out "$tmp/wgan_on" >/dev/null
"$here/mpirun2.sh" "$bin" $wgan --overlap off --out "$tmp/wgan_off" >/dev/null
"$py" "$here/compare_checkpoints.py" "$tmp/wgan_on/checkpoint.safetensors" "$tmp/wgan_off/checkpoint.safetensors"

"$here/mpirun2.sh" "$bin" train vae --steps 5 --batch-size 16 --zero 1 $common --out "$tmp/vae_2x16_zero" >/dev/null
"$py" "$here/compare_checkpoints.py" --tolerance 1e-5 "$tmp/vae_2x16_zero/checkpoint.safetensors" "$tmp/vae_1x32/checkpoint.safetensors"
