#!/usr/bin/env bash
# CPU seconds per training step of a workload row, minigen and PyTorch, for a machine shared
# with others (where wall-clock step times measure the other processes as much as the step).
# Each side runs the row twice, with STEPS_A and STEPS_B timed steps; the difference of the
# two runs' CPU time (perf stat's task-clock: time on a CPU, this process only) divided by
# STEPS_B - STEPS_A is one step's, with start-up, model building, warm-up and minigen's peak
# measurement cancelled out. Sides alternate, ROUNDS times; prints one line per run and the
# per-round ms per step. At 1 thread (the default), as the workloads' targets are stated.
# Usage: tools/reference/cpu_time_per_step.sh ROW STEPS_A STEPS_B [ROUNDS] [MINIGEN]
#   tools/reference/cpu_time_per_step.sh dcgan-rgb64 1 4 3 build/tools/minigen
set -eu
row="$1"; a="$2"; b="$3"; rounds="${4:-3}"; minigen="${5:-build/tools/minigen}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# PyTorch's reference configuration, as torch_env.py defines it (one definition).
read -r -a torch_env < <(cd "$here" && /usr/bin/python3 -c \
    'from torch_env import TORCH_ENV; print("env", *(f"{k}={v}" for k, v in TORCH_ENV.items()))')
cpu_ms() {  # cpu_ms COMMAND...: the command's task-clock in ms
    perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'
}
for r in $(seq "$rounds"); do
    declare -A ms=()
    for side in minigen torch; do
        for n in "$a" "$b"; do
            if [ "$side" = minigen ]; then
                ms[$side$n]="$(cpu_ms "$minigen" bench --workloads --filter "^$row\$" --threads 1 --repeat "$n")"
            else
                ms[$side$n]="$(cpu_ms "${torch_env[@]}" /usr/bin/python3 "$here/torch_ref.py" --workload "$row" \
                    --threads 1 --steps "$n")"
            fi
            echo "round $r $side $row steps $n: task-clock ${ms[$side$n]} ms (load $(cut -d' ' -f1 /proc/loadavg))"
        done
    done
    awk -v r="$r" -v row="$row" -v d="$((b - a))" -v m1="${ms[minigen$a]}" -v m2="${ms[minigen$b]}" \
        -v t1="${ms[torch$a]}" -v t2="${ms[torch$b]}" 'BEGIN {
        mg = (m2 - m1) / d; th = (t2 - t1) / d
        printf "round %d %s: minigen %.1f ms CPU per step, PyTorch %.1f, PyTorch / minigen %.2f\n", r, row, mg, th, th / mg }'
    unset ms
done
