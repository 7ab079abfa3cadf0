#!/usr/bin/env bash
# minigen's samples/s beside ONNX Runtime's for one exported model, both at 1 thread, on the same
# batch of fixed inputs (docs/export.md's table). Rounds alternate the two, to share the
# machine's ups and downs; each prints one line, then the medians.
#   tools/onnx_speed.sh MODEL CHECKPOINT [BATCH=64] [REPS=20] [ROUNDS=5]
# Needs a minigen built with ONNX (build/tools/minigen, or $MINIGEN) and onnxruntime-node (tools/run).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minigen="${MINIGEN:-$here/build/tools/minigen}"
model="$1" checkpoint="$2" batch="${3:-64}" reps="${4:-20}" rounds="${5:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$minigen" export "$model" --checkpoint "$checkpoint" --out "$work/m.onnx" --check-dir "$work" \
    --check-count "$batch" --threads 1 >/dev/null
node "$here/tests/reference/onnx_run.js" check "$work/m.onnx" "$work"
for ((r = 1; r <= rounds; r++)); do
    mg=$("$minigen" export "$model" --checkpoint "$checkpoint" --out "$work/m.onnx" --check-count "$batch" \
        --time "$reps" --threads 1 --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['minigen_samples_per_s'])")
    ort=$(node "$here/tests/reference/onnx_run.js" bench "$work/m.onnx" "$work" "$reps" |
        /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['samples_per_s'])")
    printf 'round %d: minigen %.1f samples/s, onnxruntime %.1f samples/s\n' "$r" "$mg" "$ort"
    echo "$mg $ort" >> "$work/rounds"
done
/usr/bin/python3 - "$work/rounds" "$model" "$batch" <<'EOF'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
mg, ort = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
print(f"median of {len(rows)} rounds, {sys.argv[2]} batch {sys.argv[3]}, 1 thread: "
      f"minigen {mg:.0f} samples/s, onnxruntime {ort:.0f} samples/s (onnxruntime / minigen = {ort / mg:.2f})")
EOF
