#!/usr/bin/env bash
# Trains gan2d (or gan2d-vanilla) once per seed, one at a time on one thread, and prints
# the modes covered, the high-quality fraction and the CPU time of each run, then the
# summary the gan2d table in docs/models.md quotes.
#
#   tools/gan2d_seeds.sh [-m MODEL] [-c options.json] [-s "1 2 ... 10"] [-n STEPS] [-b MINIGEN]
#
#   -m  gan2d (default) or gan2d-vanilla
#   -c  a JSON file of options (--config), e.g. {"label_smoothing": 0.1}; default: none
#   -s  the seeds (default 1..10)
#   -n  steps (default: the model's)
#   -b  the minigen executable (default: build/tools/minigen)
#
# Runs go to a temporary directory that is removed at the end. Output, one line a seed:
#   seed 3  modes 8  hq 0.9520  cpu 17.9 s
# and a last line:
#   gan2d {...}: 8/8 modes in 10 of 10 seeds; hq >= 0.90 in 9 of 10; both in 9; mean hq 0.93; max cpu 18.4 s
set -euo pipefail

model=gan2d
config=""
seeds="1 2 3 4 5 6 7 8 9 10"
steps=""
minigen="${MINIGEN:-build/tools/minigen}"
while getopts "m:c:s:n:b:" opt; do
    case "$opt" in
        m) model="$OPTARG" ;;
        c) config="$OPTARG" ;;
        s) seeds="$OPTARG" ;;
        n) steps="$OPTARG" ;;
        b) minigen="$OPTARG" ;;
        *) sed -n '2,17p' "$0" >&2; exit 2 ;;
    esac
done
[ -x "$minigen" ] || { echo "gan2d_seeds: no executable $minigen (build first, or pass -b)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/gan2d-seeds-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

args=(train "$model" --threads 1 --json --no-report)
[ -n "$config" ] && args+=(--config "$config")
[ -n "$steps" ] && args+=(--steps "$steps")
options="$( [ -n "$config" ] && tr -d '\n ' < "$config" || echo '{}')"

TIMEFORMAT="%U %S"  # bash's time: user and system CPU seconds of the run
for s in $seeds; do
    { time OMP_NUM_THREADS=1 nice "$minigen" "${args[@]}" --seed "$s" --out "$tmp/run$s" \
        > "$tmp/summary.json" 2> "$tmp/log" || { cat "$tmp/log" >&2; exit 1; }; } 2> "$tmp/time"
    python3 -c 'import json, sys; q = json.load(open(sys.argv[1]))["quality"]; print(int(q["modes_covered"]), q["hq_fraction"])' \
        "$tmp/summary.json" > "$tmp/quality"
    read -r modes hq < "$tmp/quality"
    read -r user sys < "$tmp/time"
    awk -v s="$s" -v m="$modes" -v h="$hq" -v u="$user" -v y="$sys" \
        'BEGIN { printf "seed %-3s modes %d  hq %.4f  cpu %.1f s\n", s, m, h, u + y }'
    rm -rf "$tmp/run$s"
done | tee "$tmp/lines"
awk -v what="$model $options" '
    { n++; full += ($4 >= 8); sharp += ($6 >= 0.9); both += ($4 >= 8 && $6 >= 0.9); hq += $6; if ($8 > cpu) cpu = $8 }
    END { printf "%s: 8/8 modes in %d of %d seeds; hq >= 0.90 in %d of %d; both in %d; mean hq %.3f; max cpu %.1f s\n",
          what, full, n, sharp, n, both, hq / n, cpu }' "$tmp/lines"
