"""PyTorch's reference configuration on the CPU: the environment every comparison with
minigen runs torch in (bench_compare.py and the tools/reference/train_*_torch.py scripts).

Debian's python3-torch calls the system BLAS (libblas.so.3) for its matrix products and for
the im2col convolutions (ConvTranspose2d among them). Where that alternative is the
reference BLAS, a 64x64 dcgan step is about 4x slower than with OpenBLAS (2.6 s against
0.6 s at one thread on a Zen 4), which would make any comparison meaningless. So torch runs
with the OpenMP build of OpenBLAS (it shares torch's OpenMP thread pool) and jemalloc with
purging off, the configuration torch_ref.py's docstring describes.

No torch import here: bench_compare.py imports this module without loading torch.
"""

import os
import sys

TORCH_ENV = {
    "LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1",
    "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/openblas-openmp",
}
# The entries that name files, and what to install when one is missing.
MISSING_HINT = {
    "LD_PRELOAD": "apt-get install libjemalloc2; torch runs with glibc malloc",
    "LD_LIBRARY_PATH": "apt-get install libopenblas0-openmp; torch runs with the system BLAS",
}
# Set in the re-executed process, so it re-executes once at most.
REEXEC_MARK = "MINIGEN_TORCH_ENV"


def tuned_env(base, warn):
    """base (a dict like os.environ) plus the TORCH_ENV entries whose files exist; calls
    warn(message) once for each one that is missing."""
    env = dict(base)
    for key, value in TORCH_ENV.items():
        if key in MISSING_HINT and not os.path.exists(value):  # the others are settings, not files
            warn(f"{value} missing ({MISSING_HINT[key]})")
            continue
        env[key] = value
    return env


def reexec_in_tuned_env():
    """Runs this script again in the reference environment, before torch is imported (the
    preload must be in place when the process starts). Returns when it already runs there,
    or when MINIGEN_TORCH_PLAIN=1 asks for the environment as it is."""
    if os.environ.get(REEXEC_MARK) == "1" or os.environ.get("MINIGEN_TORCH_PLAIN") == "1":
        return
    env = tuned_env(os.environ, lambda m: print(f"warning: {m}", file=sys.stderr))
    env[REEXEC_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
