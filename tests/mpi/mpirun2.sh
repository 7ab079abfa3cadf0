#!/bin/sh
# mpirun2.sh PROGRAM ARGS...: PROGRAM on 2 ranks of this machine (more ranks than cores is
# fine: Open MPI needs --oversubscribe for that, and --allow-run-as-root in a root CI).
set -e
flags=""
if mpirun --version 2>/dev/null | grep -q "Open MPI"; then
    flags="--oversubscribe"
    [ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
fi
exec mpirun $flags -np "${NP:-2}" "$@"
