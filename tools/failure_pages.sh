#!/usr/bin/env bash
# The pictures of docs/failure-modes.md: for each bug, one run with the bug and one correct run
# of the same model and budget, `minigen report --compare BUGGY CORRECT`, and the compare
# page's key plot copied to docs/images/failure-modes/BUG.png; for mask-b-first also the
# receptive field the causality monitor drew at step 1 (samples/receptive_field.png) of both
# runs. Runs go two at a time; a correct run is shared by the bugs of its model and budget.
# The plots are reduced to a 32-colour palette (Python's PIL) to keep the repository small.
#
#   tools/failure_pages.sh [-g "bug ..."] [-w WORK_DIR] [-j JOBS] [-b MINIGEN]
#
#   -g  the bugs (default: all of the table below)
#   -w  where the runs and compare pages go (default: a temporary folder, removed at the end)
#   -j  runs at a time (default 2)
#   -b  the minigen executable (default: build/tools/minigen)
set -euo pipefail

# bug | model | steps | more train flags | the compare page's key plot (compare_<stem>.png)
cases="
gp-channel-norm  | wgan-gp       | 600  | --sample-every 300 --grid 16 | grad_norms
gp-pixel-mix     | wgan-gp       | 600  | --sample-every 300 --grid 16 | grad_norms
gp-on-sigmoid    | wgan-gp       | 600  | --sample-every 300 --grid 16 | grad_norms
critic-batchnorm | wgan-gp       | 600  | --sample-every 300 --grid 16 | discriminator
d-lr-10x         | gan2d-vanilla | 3000 |                              | discriminator
g-no-batchnorm   | dcgan         | 400  | --sample-every 200 --grid 16 | discriminator
checkerboard     | dcgan         | 200  | --sample-every 50 --grid 16  | metric_checkerboard
no-detach        | gan2d         | 3000 |                              | metric_hq_fraction
labels-swapped   | gan2d         | 3000 |                              | discriminator
vae-kl-sum       | vae           | 800  |                              | metric_kl
mask-b-first     | pixelcnn      | 500  | --config \$work/pixelcnn.json --lr 0.003 | metric_bits_per_dim
"

only="" work="" jobs=2 minigen="${MINIGEN:-build/tools/minigen}"
while [ $# -gt 1 ]; do
    case "$1" in
        -g) only="$2" ;; -w) work="$2" ;; -j) jobs="$2" ;; -b) minigen="$2" ;;
        *) sed -n '2,14p' "$0" >&2; exit 2 ;;
    esac
    shift 2
done
[ $# -eq 0 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
[ -x "$minigen" ] || { echo "failure_pages: no executable $minigen (build first, or pass -b)" >&2; exit 1; }
images="$(cd "$(dirname "$0")/.." && pwd)/docs/images/failure-modes"
mkdir -p "$images"
if [ -z "$work" ]; then
    work="$(mktemp -d /tmp/failure-pages-XXXXXX)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
echo '{"width": 16, "layers": 2}' > "$work/pixelcnn.json"  # the lesson's small pixelcnn

# The chosen rows, without spaces around the fields.
rows="$(echo "$cases" | sed '/^$/d; s/ *| */|/g; s/ *$//' |
        awk -F'|' -v only=" $only " 'only == "  " || index(only, " " $1 " ")')"
[ -n "$rows" ] || { echo "failure_pages: none of '$only' is in the table" >&2; exit 2; }

# A run's folder: the model, its budget and the bug ("none": correct).
run_dir() { echo "$work/$2-$3-$1"; }

# bug model steps "flags": trains one run (seed 1, one thread) unless its summary is there.
one_run() {
    local bug="$1" model="$2" steps="$3" flags="$4" out
    out="$(run_dir "$bug" "$model" "$steps")"
    [ -s "$out.json" ] && return 0
    local bug_flag=()
    [ "$bug" != none ] && bug_flag=(--bug "$bug")
    eval "extra=($flags)"
    OMP_NUM_THREADS=1 "$minigen" train "$model" "${bug_flag[@]}" "${extra[@]}" --steps "$steps" --seed 1 \
        --threads 1 --json --no-report --overwrite --out "$out" > "$out.json.tmp" 2> "$out.log" ||
        { cat "$out.log" >&2; return 1; }
    mv "$out.json.tmp" "$out.json"
    echo "trained $model $bug ($steps steps)" >&2
}
export -f one_run run_dir
export work minigen

echo "$rows" | awk -F'|' '{ print $1 "|" $2 "|" $3 "|" $4; print "none|" $2 "|" $3 "|" $4 }' | sort -u |
    tr '\n' '\0' | xargs -0 -P "$jobs" -I{} bash -c 'IFS="|" read -r b m n f <<< "$1"; one_run "$b" "$m" "$n" "$f"' _ {}

# The plots cut to a 32-colour palette (tools/small_png.py).
small_png() { /usr/bin/python3 "$(dirname "$0")/small_png.py" "$1" "$2"; }

echo "$rows" | while IFS='|' read -r bug model steps flags key; do
    page="$work/compare-$bug"
    "$minigen" report --compare "$(run_dir "$bug" "$model" "$steps")" "$(run_dir none "$model" "$steps")" \
        --plots png --out "$page" > /dev/null
    small_png "$page/compare_$key.png" "$images/$bug.png"
    echo "$images/$bug.png ($page/index.html)"
    if [ "$bug" = mask-b-first ]; then
        cp "$(run_dir "$bug" "$model" "$steps")/samples/receptive_field.png" "$images/receptive_field_mask-b-first.png"
        cp "$(run_dir none "$model" "$steps")/samples/receptive_field.png" "$images/receptive_field_correct.png"
    fi
done
