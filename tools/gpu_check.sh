#!/usr/bin/env bash
# Everything the CUDA backend needs a GPU for, in one run (docs/cuda.md, "On a machine with a GPU"):
#   1. build for the GPU (sm_90 unless CUDA_ARCH says otherwise)
#   2. the gpu test label: every CUDA variant against the CPU reference, the gradcheck list on
#      CUDA tensors, one training step of every model against the CPU step
#   3. compute-sanitizer memcheck and racecheck over the kernel tests
#   4. minigen bench --device cuda (peaks, every variant, the models' steps)
#   5. PyTorch's same workloads on the same GPU (TORCH_REF, default tools/reference/torch_ref.py)
# Logs and JSON go to OUT_DIR; a summary is printed last. Steps after a failed build are skipped;
# the others run whatever the earlier ones gave.
#
#   tools/gpu_check.sh OUT_DIR [steps...]        steps: build tests sanitize bench torch (default: all)
# Environment: BUILD_DIR (default build-gpu), CUDA_ARCH (default 90), TORCH_REF, DEPS (a folder of
# .debs from tools/offline_deps.sh fetch, for a machine without a package mirror).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
out="${1:?usage: tools/gpu_check.sh OUT_DIR [build tests sanitize bench torch]}"
shift
steps="${*:-build tests sanitize bench torch}"
mkdir -p "$out"
build="${BUILD_DIR:-build-gpu}"
summary="$out/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }
wants() { [[ " $steps " == *" $1 "* ]]; }

if [ -n "${DEPS:-}" ]; then
    eval "$(tools/offline_deps.sh unpack "$DEPS" /tmp/minigen-deps)"
fi
export PATH="/usr/local/cuda/bin:$PATH"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"

if wants build; then
    start=$SECONDS
    if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMINIGEN_CUDA=ON \
            -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" >"$out/configure.log" 2>&1 &&
        cmake --build "$build" -j "$(nproc)" >"$out/build.log" 2>&1; then
        note "build: ok ($((SECONDS - start)) s)"
    else
        note "build: FAILED (see configure.log, build.log)"
        tail -25 "$out/build.log" "$out/configure.log" 2>/dev/null
        exit 1
    fi
fi
tests="$build/tests/gpu/minigen_gpu_tests"
minigen="$build/tools/minigen"
"$minigen" info >"$out/info.txt" 2>&1

if wants tests; then
    start=$SECONDS
    "$tests" --duration=true >"$out/gpu-tests.log" 2>&1
    note "gpu tests: exit $? ($((SECONDS - start)) s): $(grep -E '^\[doctest\] (test cases|assertions)' "$out/gpu-tests.log" | tr '\n' ' ')"
fi

if wants sanitize; then
    # The kernel tests only: the model steps and the gradcheck list launch the same kernels
    # thousands of times, which the sanitizers would take long over.
    kernel_cases='--test-case-exclude=*models*,*gradcheck*,*data loader*'
    for tool in memcheck racecheck; do
        start=$SECONDS
        compute-sanitizer --tool "$tool" --error-exitcode 99 "$tests" "$kernel_cases" >"$out/$tool.log" 2>&1
        note "compute-sanitizer $tool: exit $? ($((SECONDS - start)) s): $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/$tool.log" | tail -1)"
    done
fi

if wants bench; then
    start=$SECONDS
    "$minigen" bench --device cuda --json >"$out/bench-cuda.jsonl" 2>"$out/bench-cuda.err"
    note "minigen bench --device cuda: exit $? ($((SECONDS - start)) s)"
    python3 - "$out/bench-cuda.jsonl" >"$out/bench-cuda.txt" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["kind"] == "peak":
        print(f"peak {r['name']:<16} {r.get('gflops', r.get('gbps', 0)):10.0f} {'GFLOP/s' if 'gflops' in r else 'GB/s'}")
    elif r["kind"] == "kernel":
        rate = f"{r['gflops']:9.0f} GFLOP/s" if "gflops" in r else f"{r.get('gbps', 0):9.0f} GB/s   "
        peak = f"{100 * r['peak_fraction']:4.0f}%" if "peak_fraction" in r else "     "
        print(f"{r['name']:<14} {r['shape']:<34} {r['variant'] + ('*' if r.get('default') else ''):<18} "
              f"{r.get('median_ms', float('nan')):10.4f} ms {rate} {peak} {r['check']}")
    elif r["kind"] == "model" and "median_ms" in r:
        print(f"model {r['name']:<12} batch {r['batch']:<4} {r['median_ms']:10.3f} ms")
PY
fi

if wants torch; then
    TORCH_REF="${TORCH_REF:-tools/reference/torch_ref.py}"
    if [ -f "$TORCH_REF" ]; then
        start=$SECONDS
        python3 tools/reference/torch_ref_cuda.py "$TORCH_REF" --workload all --json "$out/torch-cuda.json" \
            >"$out/torch-cuda.txt" 2>&1
        note "torch_ref on the GPU: exit $? ($((SECONDS - start)) s)"
    else
        note "torch_ref on the GPU: skipped (set TORCH_REF to torch_ref.py)"
    fi
fi

echo
cat "$summary"
[ -f "$out/bench-cuda.txt" ] && { echo; cat "$out/bench-cuda.txt"; }
