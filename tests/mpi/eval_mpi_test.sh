#!/bin/sh
# eval_mpi_test.sh MINIGEN: sharded `minigen eval` on 2 ranks (ctest mpi_eval).
# Each rank classifies its block of every image set and rank 0 computes the metrics from all
# of them, so the result must be one process's bit for bit (features are per image: the same
# at any batch), but for its time: vae after one step, scored on 101 samples (an odd count:
# the ranks' blocks differ), the 10,000 test images and the training images of the floor and
# the memorisation check, with its test likelihood (rank 0's). Rank 1 writes nothing.
# (A --samples file goes through the same sharded feature extraction; with the floor and
# ceiling it is 20,000 more images per run, too slow for CI on 2 cores.)
set -eu
bin=$1 here=$(cd "$(dirname "$0")" && pwd) tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3; [ -x "$py" ] || py=python3

same_json() {  # same_json A B: equal but for "seconds"
    "$py" - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for j in (a, b):
    j.pop("seconds", None)
if a != b:
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    sys.exit(f"FAILED: {sys.argv[1]} and {sys.argv[2]} differ in {diff}")
print(f"{len(a)} fields equal ({sys.argv[1].rsplit('/', 1)[-1]})")
PY
}

"$bin" train vae --steps 1 --batch-size 8 --threads 1 --no-report --grid 4 --out "$tmp/vae" >/dev/null 2>&1
flags="--threads 1 --json --count 101 --test-images 20 --iwae-k 2 --memorisation-images 300 --no-floors"
"$bin" eval vae --checkpoint "$tmp/vae/checkpoint.safetensors" $flags >"$tmp/one.json" 2>/dev/null
"$here/mpirun2.sh" "$bin" eval vae --checkpoint "$tmp/vae/checkpoint.safetensors" $flags >"$tmp/two.json" 2>"$tmp/err"
same_json "$tmp/one.json" "$tmp/two.json"
grep -q '"nll_bits_per_dim"' "$tmp/two.json" || { echo "FAILED: no likelihood in the sharded result"; exit 1; }
[ "$(grep -c '"model": "vae"' "$tmp/two.json")" = 1 ] || { echo "FAILED: more than one rank wrote its result"; exit 1; }
