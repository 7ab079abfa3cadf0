#!/bin/sh
# mpirun2.sh PROGRAM ARGS...: PROGRAM on 2 ranks (NP) of this machine, launched by $MPIRUN
# (default mpirun; mpirun.mpich for MPICH). More ranks than cores is fine: Open MPI needs
# --oversubscribe for that, and --allow-run-as-root in a root CI; MPICH's Hydra needs neither.
set -e
launcher=${MPIRUN:-mpirun}
flags=""
if "$launcher" --version 2>/dev/null | grep -q "Open MPI"; then
    flags="--oversubscribe"
    [ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
fi
exec "$launcher" $flags -np "${NP:-2}" "$@"
