#!/usr/bin/env bash
# The profile pages of docs/results: `minigen profile` of each workload at one thread, before
# and after the convolution work, with their roofline pictures.
#
#   "before": the same build with the conv faces forced to `implicit`, the default before the
#             polyphase and winograd variants (MINIGEN_KERNELS, docs/kernels.md);
#   "after":  the build's defaults.
#
# Writes docs/results/DATE-profiles.md (the step times side by side, each profile's top kernels
# and where the step went) and docs/images/profiles/WORKLOAD-{before,after}.png (cut to a
# 32-colour palette). Run it on an idle machine: the profiler times by the wall clock.
#
#   tools/profile_pages.sh [-b MINIGEN] [-s STEPS] [-o PAGE] [-w "workload ..."]
set -euo pipefail

# workload | minigen profile arguments (docs/workloads.md)
cases="
gan2d       | gan2d
dcgan       | dcgan
cgan        | cgan
wgan-gp     | wgan-gp
vae         | vae
classifier  | classifier
pixelcnn    | pixelcnn
dcgan-rgb64 | dcgan --data emoji --image-size 64 --channels 3
"
before_kernels="conv2d_forward=implicit,conv2d_backward_input=implicit,conv2d_backward_weight=implicit"

here="$(cd "$(dirname "$0")/.." && pwd)"
minigen="${MINIGEN:-$here/build/tools/minigen}" steps=5 only="" page="$here/docs/results/$(date -u +%F)-profiles.md"
usage() { sed -n '2,13p' "$0" >&2; exit 2; }
while getopts "b:s:o:w:" flag; do
    case "$flag" in b) minigen="$OPTARG" ;; s) steps="$OPTARG" ;; o) page="$OPTARG" ;; w) only="$OPTARG" ;; *) usage ;; esac
done
[ "$OPTIND" -gt $# ] || usage
[ -x "$minigen" ] || { echo "profile_pages: no executable $minigen (build first, or pass -b)" >&2; exit 1; }
images="$here/docs/images/profiles"
mkdir -p "$images"
work="$(mktemp -d /tmp/profile-pages-XXXXXX)"
trap 'rm -rf "$work"' EXIT

small_png() { /usr/bin/python3 "$(dirname "$0")/small_png.py" "$1" "$2"; }

# profile NAME WHEN ARGS...: the text table in $work/NAME-WHEN.txt, the picture in docs/images.
profile() {
    local name="$1" when="$2"
    shift 2
    local env=()
    [ "$when" = before ] && env=(env "MINIGEN_KERNELS=$before_kernels")
    "${env[@]}" "$minigen" profile "$@" --threads 1 --steps "$steps" --top 8 --out "$work/$name-$when" \
        > "$work/$name-$when.txt" 2> /dev/null
    small_png "$work/$name-$when/roofline.png" "$images/$name-$when.png"
}

# step_ms FILE: the unprofiled median step of a profile's text.
step_ms() { sed -n 's/.*, \([0-9.]*\) ms without the profiler.*/\1/p' "$1"; }

rows=$(echo "$cases" | sed '/^$/d' | while IFS='|' read -r name args; do
    name=$(echo "$name" | xargs)
    if [ -z "$only" ] || [[ " $only " == *" $name "* ]]; then echo "$name|$args"; fi
done)

echo "$rows" | while IFS='|' read -r name args; do
    # shellcheck disable=SC2086 # args are words
    for when in before after; do
        echo "profile_pages: $name ($when)" >&2
        profile "$name" "$when" $args
    done
done

{
    echo "# Where each workload's step goes, before and after the convolution work ($(date -u +%F))"
    echo
    echo "\`tools/profile_pages.sh\` at $(git -C "$here" rev-parse --short HEAD) on $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1),"
    echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) when it finished. Every profile is"
    echo "\`minigen profile WORKLOAD --threads 1 --steps $steps --top 8\`; **before** is the same build with"
    echo "\`MINIGEN_KERNELS=$before_kernels\`"
    echo "(the convolution default before the polyphase and winograd variants; the batch norm + activation"
    echo "fusion and the GEMM blocking are in both), **after** the build's defaults. How to read the tables"
    echo "and the pictures: [../profiling.md](../profiling.md). The profiler times by the wall clock:"
    echo "single steps vary by a few percent between runs."
    echo
    echo "| workload | before, ms per step | after | speed-up |"
    echo "|---|---:|---:|---:|"
    echo "$rows" | while IFS='|' read -r name args; do
        b=$(step_ms "$work/$name-before.txt") a=$(step_ms "$work/$name-after.txt")
        echo "| $name | $b | $a | $(awk -v b="$b" -v a="$a" 'BEGIN { printf "%.2fx", b / a }') |"
    done
    echo "$rows" | while IFS='|' read -r name args; do
        echo
        echo "## $name"
        echo
        echo "\`minigen profile $(echo "$args" | xargs) --threads 1 --steps $steps --top 8\`"
        echo
        echo "| before | after |"
        echo "|---|---|"
        echo "| ![$name before](../images/profiles/$name-before.png) | ![$name after](../images/profiles/$name-after.png) |"
        for when in before after; do
            echo
            echo "$when:"
            echo
            echo '```'
            sed -n '/^minigen profile/,$p' "$work/$name-$when.txt"
            echo '```'
        done
    done
} > "$page"
echo "wrote $page and $images/*.png"
