#!/bin/sh
# tools/mpich_check.sh [BUILD_DIR]: minigen's MPI parts built and run against MPICH, beside the
# Open MPI build CI uses (docs/distributed.md, "Building"). Needs Debian's libmpich-dev and
# mpich (apt-get install -y libmpich-dev mpich); Open MPI stays the system's default mpirun.
#   1. configures BUILD_DIR (default build-mpich) with MPICH's compiler wrappers, so that
#      CMake's FindMPI takes MPICH's mpi.h and libmpich (ccache makes the rest of the library
#      a cache hit when the Open MPI build exists);
#   2. runs the collectives test (SyncBatchNorm included) on 2 ranks with mpirun.mpich;
#   3. trains vae on 2 ranks x 16 and in 1 process x 32 and compares the checkpoints, as the
#      Open MPI test does, and dcgan --sync-bn --deterministic twice, bit for bit.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-mpich}
command -v mpicxx.mpich >/dev/null && command -v mpirun.mpich >/dev/null || {
    echo "mpich_check: MPICH is not installed (apt-get install -y libmpich-dev mpich)"; exit 77; }
launcher=""
command -v ccache >/dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIGEN_CUDA=OFF -DMINIGEN_MPI=ON $launcher \
    -DMPI_C_COMPILER=mpicc.mpich -DMPI_CXX_COMPILER=mpicxx.mpich >/dev/null
grep -q "mpich" "$build/CMakeCache.txt" || { echo "mpich_check: CMake did not take MPICH"; exit 1; }
cmake --build "$build" -j"${JOBS:-2}" --target minigen_cli minigen_mpi_tests
ldd "$build/tools/minigen" | grep -q libmpich || { echo "mpich_check: minigen is not linked to libmpich"; exit 1; }

export MPIRUN=mpirun.mpich
run2="$src/tests/mpi/mpirun2.sh"
"$run2" "$build/tests/minigen_mpi_tests"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin="$build/tools/minigen"
common="--threads 1 --no-report --grid 4 --log-every 1"
"$run2" "$bin" train vae --steps 5 --batch-size 16 $common --out "$tmp/vae_2x16" >/dev/null
"$bin" train vae --steps 5 --batch-size 32 $common --out "$tmp/vae_1x32" >/dev/null
/usr/bin/python3 "$src/tests/mpi/compare_checkpoints.py" --tolerance 1e-5 "$tmp/vae_2x16/checkpoint.safetensors" \
    "$tmp/vae_1x32/checkpoint.safetensors"
for run in a b; do
    "$run2" "$bin" train dcgan --steps 3 --batch-size 8 --sync-bn --deterministic $common --out "$tmp/dcgan_$run" >/dev/null
done
/usr/bin/python3 "$src/tests/mpi/compare_checkpoints.py" "$tmp/dcgan_a/checkpoint.safetensors" "$tmp/dcgan_b/checkpoint.safetensors"
echo "mpich_check: $(mpirun.mpich --version | grep -i -m1 version | tr -s ' ') ok"
