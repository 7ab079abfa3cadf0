#!/usr/bin/env bash
# The failure-mode lab's check (docs/failure-modes.md): trains MODEL once per seed with no bug
# and with each bug given, and writes a markdown table of how often the health monitors
# flagged the run (models/health.h). A bug should be flagged on at least 9 of 10 seeds, the
# correct run ("none") on at most 1.
#
#   tools/bug_table.sh [-p LESSON] [-m MODEL] [-c JSON] [-g "none d-lr-10x ..."] [-s "1 2 ... 10"]
#                      [-n STEPS] [-e EVERY] [-j JOBS] [-b MINIGEN] [-x FLAGS]
#
#   -p  a lesson's settings, each run in under 2 minutes on the 2-core box (flags after it win):
#         gan2d    gan2d, 3000 steps, its bugs
#         vae      vae, 800 steps, its bugs
#         dcgan    dcgan {"width": 16}, 220 steps, a sample point every 50
#         cgan     cgan {"width": 16}, 300 steps, a sample point every 50, none and labels-swapped
#         wgan-gp  wgan-gp {"width": 16}, 260 steps, a sample point every 50, none and the penalty
#                  bugs seen in that time (gp-on-sigmoid, critic-batchnorm)
#   -m  the model (default gan2d)
#   -c  the model's options as JSON text (--config; default none)
#   -g  the bugs, "none" for the correct run (default: none and every bug of the model)
#   -s  the seeds (default 1..10)
#   -n  steps (default 3000)
#   -e  steps between sample points, where the sample monitors look (default: the trainer's)
#   -j  runs at a time (default 2)
#   -b  the minigen executable (default: build/tools/minigen)
#   -x  more flags for every run of minigen train (e.g. "--grid 4 --config small.json")
#
# One line per run on stderr; the table on stdout:
#   | bug | flagged | monitors that fired (runs) | seconds per run |
set -euo pipefail

usage() { sed -n '2,28p' "$0" >&2; exit 2; }
model=gan2d config="" bugs="" seeds="1 2 3 4 5 6 7 8 9 10" steps=3000 every="" jobs=2 minigen="${MINIGEN:-build/tools/minigen}" extra=""
lesson() {  # the settings of the lesson $1
    case "$1" in
        gan2d) model=gan2d steps=3000 ;;
        vae) model=vae steps=800 ;;
        dcgan) model=dcgan config='{"width": 16}' steps=220 every=50
               bugs="none g-no-batchnorm checkerboard no-detach labels-swapped" ;;
        cgan) model=cgan config='{"width": 16}' steps=300 every=50 bugs="none labels-swapped" ;;
        wgan-gp) model=wgan-gp config='{"width": 16}' steps=260 every=50 bugs="none gp-on-sigmoid critic-batchnorm" ;;
        *) echo "bug_table: no lesson '$1' (gan2d, vae, dcgan, cgan, wgan-gp)" >&2; exit 2 ;;
    esac
}
while [ $# -gt 1 ]; do  # flag value pairs
    case "$1" in
        -p) lesson "$2" ;; -m) model="$2" ;; -c) config="$2" ;; -g) bugs="$2" ;; -s) seeds="$2" ;;
        -n) steps="$2" ;; -e) every="$2" ;; -j) jobs="$2" ;; -b) minigen="$2" ;; -x) extra="$2" ;;
        *) usage ;;
    esac
    shift 2
done
[ $# -eq 0 ] || usage
[ -x "$minigen" ] || { echo "bug_table: no executable $minigen (build first, or pass -b)" >&2; exit 1; }
if [ -z "$bugs" ]; then  # none, then the bugs whose model list names MODEL
    bugs="none $("$minigen" train --bug list | awk -v m="$model" '
        /^[a-z]/ && NR > 1 { line = $0; sub(/^[^ ]+ +/, "", line); n = split(line, w, /[ ,]+/);
                             for (i = 1; i <= n; i++) if (w[i] == m) { print $1; break } }' | tr '\n' ' ')"
fi

tmp="$(mktemp -d /tmp/bug-table-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# One run: its summary's fired monitors, comma-separated ("-" when none), and its seconds.
one_run() {
    local bug="$1" seed="$2" out="$tmp/$1-$2"
    local flag=()
    [ "$bug" != none ] && flag=(--bug "$bug")
    [ -n "$config" ] && flag+=(--config "$tmp/config.json")
    [ -n "$every" ] && flag+=(--sample-every "$every" --grid 16)
    OMP_NUM_THREADS=1 "$minigen" train "$model" "${flag[@]}" $extra --steps "$steps" --seed "$seed" --threads 1 --json \
        --no-report --out "$out" > "$out.json" 2> "$out.log" || { cat "$out.log" >&2; exit 1; }
    python3 - "$out.json" "$bug" "$seed" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
fired = ",".join(e["monitor"] for e in s["health"]) or "-"
print(sys.argv[2], sys.argv[3], fired, f'{s["seconds"]:.1f}')
PY
    rm -rf "$out"
}
export -f one_run
export tmp model steps minigen config every extra
[ -n "$config" ] && printf '%s\n' "$config" > "$tmp/config.json"

for bug in $bugs; do for seed in $seeds; do echo "$bug $seed"; done; done |
    xargs -P "$jobs" -n 2 bash -c 'one_run "$0" "$1"' | tee "$tmp/lines" >&2

echo "| bug | flagged | monitors that fired (runs) | seconds per run |"
echo "|---|---|---|---|"
for bug in $bugs; do
    awk -v bug="$bug" '
        $1 == bug { n++; t += $4; if ($3 != "-") { flagged++; k = split($3, m, ","); for (i = 1; i <= k; i++) c[m[i]]++ } }
        END {
            list = ""; for (name in c) list = list (list ? ", " : "") name " (" c[name] ")"
            printf "| %s | %d of %d | %s | %.1f |\n", bug, flagged, n, list ? list : "-", n ? t / n : 0
        }' "$tmp/lines"
done
