#!/bin/sh
# timeout_mpi_test.sh MINIGEN: a hung rank ends the run (ctest mpi_timeout).
# Rank 1 stops before one of its collectives (MINIGEN_TEST_STALL); rank 0 must end every rank
# within --dist-timeout with a message naming itself and the collective, and the last
# checkpoint must still load and resume.
set -eu
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common="--threads 1 --no-report --grid 4 --log-every 1 --batch-size 8"

start=$(date +%s)
status=0
MINIGEN_TEST_STALL=1:100 timeout 120 "$here/mpirun2.sh" "$bin" train dcgan --steps 1000 --checkpoint-every 1 \
    --dist-timeout 2 $common --out "$tmp/run" >"$tmp/out" 2>"$tmp/err" || status=$?
took=$(( $(date +%s) - start ))
if [ "$status" = 0 ] || [ "$status" = 124 ]; then
    echo "FAILED: the run with a hung rank ended with status $status after ${took}s"; cat "$tmp/err"; exit 1
fi
grep -q "rank 0 of 2: MPI_[A-Za-z_]* waited more than 2 s for the other ranks (--dist-timeout)" "$tmp/err" || {
    echo "FAILED: no timeout message"; cat "$tmp/err"; exit 1
}
echo "a hung rank ended the run in ${took}s (status $status)"

# The checkpoint written before the hang: resume it on 2 ranks for one more step.
step=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, '$here/../../tools')
from read_checkpoint import load_checkpoint; print(load_checkpoint('$tmp/run/checkpoint.safetensors')['step'])")
[ "$step" -ge 1 ] || { echo "FAILED: checkpoint at step $step"; exit 1; }
"$here/mpirun2.sh" "$bin" train dcgan --resume --steps $((step + 1)) --threads 1 --no-report --out "$tmp/run" \
    >/dev/null 2>"$tmp/err" || { echo "FAILED: resume"; cat "$tmp/err"; exit 1; }
echo "the checkpoint at step $step resumed"
