#!/usr/bin/env bash
# The stabilizer table of docs/models.md: gan2d-vanilla alone and with each stabilizer alone,
# and the default gan2d, each over seeds 1..10 with tools/gan2d_seeds.sh (one run at a time,
# one thread), printed as the markdown rows the page holds.
#
#   tools/gan2d_table.sh [-b MINIGEN] [-s "1 2 ... 10"] [-n STEPS]   (as gan2d_seeds.sh takes them)
#
# 10 configurations x 10 seeds x 10,000 steps: about 20 minutes of CPU.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d /tmp/gan2d-table-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# label | model | options (JSON)
rows=(
    "vanilla|gan2d-vanilla|{}"
    "label smoothing 0.1|gan2d-vanilla|{\"label_smoothing\": 0.1}"
    "instance noise 0.02|gan2d-vanilla|{\"instance_noise\": 0.02}"
    "lsgan|gan2d-vanilla|{\"loss\": \"lsgan\"}"
    "hinge|gan2d-vanilla|{\"loss\": \"hinge\"}"
    "R1 0.1|gan2d-vanilla|{\"r1_gamma\": 0.1}"
    "spectral norm|gan2d-vanilla|{\"spectral_norm\": true}"
    "EMA 0.999|gan2d-vanilla|{\"ema_decay\": 0.999}"
    "pack 2|gan2d-vanilla|{\"pack\": 2}"
    "the default (pack 2, R1 0.1, EMA 0.999)|gan2d|{}"
)
for row in "${rows[@]}"; do
    IFS="|" read -r label model options <<< "$row"
    echo "$options" > "$tmp/options.json"
    # -b, -s and -n go to gan2d_seeds.sh as given (it checks them); the row sets -m and -c
    "$here/gan2d_seeds.sh" "$@" -m "$model" -c "$tmp/options.json" > "$tmp/out"
    # "seed 3   modes 8  hq 0.9520  cpu 17.9 s" lines, then the summary line
    if [ "$row" = "${rows[0]}" ]; then  # the header names the seeds, as the first run took them
        awk '/^seed / { seeds = seeds sep $2; sep = ", " }
             END { printf "| options | modes covered, seeds %s | hq_fraction | 8/8 and hq >= 0.9 | max CPU s |\n", seeds
                   print "| --- | --- | --- | --- | --- |" }' "$tmp/out"
    fi
    awk -v label="$label" '
        /^seed / { modes = modes sep $4; hq = hq sep sprintf("%.2f", $6); sep = ", ";
                   ok += ($4 >= 8 && $6 >= 0.9); n++; if ($8 > cpu) cpu = $8 }
        END { printf "| %s | %s | %s | %d / %d | %.1f |\n", label, modes, hq, ok, n, cpu }' "$tmp/out"
done
