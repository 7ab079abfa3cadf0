#!/usr/bin/env python3
"""Side-by-side timings: `minigen bench` against the PyTorch reference (torch_ref.py).

Runs `minigen bench --json` and `torch_ref.py --json -` at the same --threads, optionally
several times, alternating the two (--rounds N: minigen, torch, minigen, torch, ...), so
that a slow patch on a shared machine hits both sides alike; each figure is then the
median over the rounds of each run's median.  Prints a markdown table per group:
workload, minigen ms, PyTorch ms, speed-up (PyTorch ms / minigen ms), and the targets of
the "Fast CPU kernels" issue with the measured gap where one is not met.

PyTorch runs in its reference configuration (see torch_ref.py's docstring): the OpenMP
build of OpenBLAS (which shares torch's thread pool) and jemalloc with purging off.
torch.mm on float32 is then exactly OpenBLAS's sgemm, which gives the OpenBLAS GFLOP/s
line.

Usage:
  tools/bench_compare.py --minigen build/tools/minigen --torch-ref tools/reference/torch_ref.py \\
      --threads 2 --rounds 3 [--filter REGEX] [--wait-idle 15] [--json-out all.json] [--full]
  tools/bench_compare.py --from-json all.json --full    # re-render a saved comparison
  tools/bench_compare.py --threads 1 --group workloads --markdown docs/results --what workloads-1-thread

--markdown DIR writes a dated result file DIR/YYYY-MM-DD-WHAT.md (a path ending in .md: that
file): the machine (CPU model, cores, logical CPUs, threads used), the minigen commit, every
command that made the numbers, then the tables. --json-out records the same, so that
--from-json renders the result file of the original sitting.

--full adds every minigen row (all variants, medians over rounds); --wait-idle PCT waits before
each run until other processes leave the CPUs at most PCT percent busy; the load before and
during each run is printed with the tables.

Only the standard library is needed.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
from torch_env import TORCH_ENV, tuned_env  # noqa: E402  (tools/reference/torch_env.py)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TORCH_MODELS = ["gan2d", "dcgan", "dcgan-rgb32", "dcgan-rgb64", "wgan-gp", "cgan", "vae", "pixelcnn",
                "classifier"]
TORCH_KERNELS = ["sgemm", "conv2d", "conv_transpose2d", "masked_conv7x7", "add", "sum",
                 "softmax_xent", "attention", "lstm_cell", "overhead"]

# Targets of the issue "Fast CPU kernels and the kernel lab".
SPEEDUP_TARGETS = {"gan2d": 1.5, "dcgan": 1.25, "dcgan-rgb32": 1.25, "dcgan-rgb64": 1.25, "cgan": 1.25, "wgan-gp": 1.25, "vae": 1.2,
                   "classifier": 1.5, "pixelcnn": 1.5}
SGEMM_TARGET = ("1024x1024x1024", 0.90)  # of OpenBLAS, at 1 thread
BANDWIDTH_TARGET = 0.80                  # add / sum, of the measured bandwidth


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- machine load ---------------------------------------------------------------------------

def cpu_busy_fraction(seconds=2.0):
    """Fraction of all CPUs busy (any process) over `seconds`, from /proc/stat."""
    def snapshot():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return idle, sum(fields)
    try:
        i0, t0 = snapshot()
        time.sleep(seconds)
        i1, t1 = snapshot()
    except OSError:
        return None
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def stat_snapshot():
    """(idle ticks, total ticks) of all CPUs, and the CPU seconds our finished children used."""
    import resource
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return fields[3] + (fields[4] if len(fields) > 4 else 0), sum(fields), ru.ru_utime + ru.ru_stime


def others_busy(before, after):
    """Fraction of the machine that other processes kept busy between two snapshots."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = after[1] - before[1]
    busy = total - (after[0] - before[0])
    ours = (after[2] - before[2]) * ticks
    return max(0.0, (busy - ours) / max(1, total))


def load_state():
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = None
    return {"loadavg1": load1, "busy": cpu_busy_fraction(1.0)}


def wait_until_idle(max_busy, max_wait_s):
    """Waits until the CPUs are at most max_busy busy (other engineers' builds), up to max_wait_s."""
    deadline = time.time() + max_wait_s
    while True:
        busy = cpu_busy_fraction(3.0)
        if busy is None or busy <= max_busy:
            return busy
        if time.time() > deadline:
            log(f"  machine still {100 * busy:.0f}% busy after waiting {max_wait_s:.0f} s; running anyway")
            return busy
        log(f"  machine {100 * busy:.0f}% busy; waiting for it to quiet down")
        time.sleep(10)


# ---- provenance: where a result file's numbers come from ------------------------------------------

def machine_info():
    """CPU model, physical cores and logical CPUs (/proc/cpuinfo), memory (/proc/meminfo)."""
    model, logical, cores, physical_id = None, 0, set(), ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "processor":
                    logical += 1
                elif key == "model name" and model is None:
                    model = value
                elif key == "physical id":
                    physical_id = value
                elif key == "core id":
                    cores.add((physical_id, value))
    except OSError:
        pass
    memory_gib = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory_gib = round(int(line.split()[1]) / 2 ** 20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": model or platform.processor() or "unknown", "cores": len(cores) or None,
            "logical_cpus": logical or os.cpu_count(), "memory_gib": memory_gib,
            "os": platform.platform()}


def source_commit():
    """The checkout's commit, marked when tracked files differ from it."""
    def git(*argv):
        proc = subprocess.run(["git", "-C", REPO, *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else None
    commit = git("rev-parse", "--short=12", "HEAD")
    if commit is None:
        return "unknown (not a git checkout)"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def shown_command(argv, env=None):
    """One shell line, with this checkout's paths relative to it."""
    words = [f"{k}={v}" for k, v in (env or {}).items()] + [str(a) for a in argv]
    return shlex.join(words).replace(REPO + os.sep, "")


def provenance():
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"date": now.strftime("%Y-%m-%d"), "time": now.strftime("%H:%M UTC"),
            "machine": machine_info(), "commit": source_commit(),
            "commands": [shown_command(["tools/bench_compare.py"] + sys.argv[1:])]}


# ---- the two sides ------------------------------------------------------------------------------

def run_minigen(args):
    cmd = [args.minigen, "bench", "--json", "--threads", str(args.threads)]
    if args.device == "cuda":
        cmd += ["--device", "cuda"]
    if args.filter:
        cmd += ["--filter", args.filter]
    if args.group != "all":
        cmd.append("--" + args.group)
    cmd += args.minigen_arg
    log("  $ " + " ".join(cmd))
    record_command(args, shown_command(cmd))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode not in (0, 1):  # 1: a variant failed its check; the timings still count
        sys.exit(f"bench_compare: minigen bench exited with {proc.returncode}")
    if proc.returncode == 1:
        log("  warning: minigen bench reports a failed variant check")
    return rows


def record_command(args, line):
    """Each distinct command once, in the order first run (the rounds repeat them)."""
    if line not in args.provenance["commands"]:
        args.provenance["commands"].append(line)


def run_torch(args, workloads):
    env = tuned_env(os.environ, lambda message: log(f"  warning: {message}"))
    cmd = [args.python, args.torch_ref, "--json", "-", "--threads", str(args.threads),
           "--workload", ",".join(workloads)]
    if args.device == "cuda":  # the same script, every tensor on the GPU
        cmd.insert(1, os.path.join(REPO, "tools", "reference", "torch_ref_cuda.py"))
    log("  $ " + " ".join(f"{k}={env[k]}" for k in TORCH_ENV if k in env) + " " + " ".join(cmd))
    record_command(args, shown_command(cmd, {k: env[k] for k in TORCH_ENV if k in env}))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"bench_compare: torch_ref.py exited with {proc.returncode}")
    return json.loads(proc.stdout)


# ---- joining ------------------------------------------------------------------------------------

def minigen_key(row):
    if row["kind"] == "model":
        return ("model", row["name"], "")
    return ("kernel", row["name"], row.get("shape", ""))


def torch_key(res):
    if res["kind"] == "model":
        return ("model", res["workload"], "")
    return ("kernel", res["workload"], res["shape"])


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def collect(rounds_minigen, rounds_torch):
    """{key: {...}} with per-round medians folded into medians over rounds."""
    table = {}
    for rows in rounds_minigen:
        for r in rows:
            if r["kind"] not in ("kernel", "ops", "model") or "median_ms" not in r:
                continue
            if r["kind"] != "model" and not r.get("default"):
                continue  # the active variant is what a model runs, and what we compare
            e = table.setdefault(minigen_key(r), {"mg": [], "torch": [], "mg_rows": [], "torch_rows": []})
            e["mg"].append(r["median_ms"])
            e["mg_rows"].append(r)
    for doc in rounds_torch:
        for res in doc["results"]:
            e = table.setdefault(torch_key(res), {"mg": [], "torch": [], "mg_rows": [], "torch_rows": []})
            e["torch"].append(res["median_ms"])
            e["torch_rows"].append(res)
    for e in table.values():
        e["mg_ms"] = median_or_none(e["mg"])
        e["torch_ms"] = median_or_none(e["torch"])
        e["mg_spread"] = (min(e["mg"]), max(e["mg"])) if e["mg"] else None
        e["torch_spread"] = (min(e["torch"]), max(e["torch"])) if e["torch"] else None
    return table


def fmt_ms(ms):
    if ms is None:
        return "-"
    if ms < 0.01:
        return f"{ms * 1e3:.2f} us"
    if ms < 10:
        return f"{ms:.3f}"
    return f"{ms:.1f}"


def rate_of(e):
    """'x GFLOP/s / y GFLOP/s' (or GB/s) from the medians over rounds."""
    mg = e["mg_rows"][0] if e["mg_rows"] else {}
    th = e["torch_rows"][0] if e["torch_rows"] else {}
    if "gflop" in th and e["mg_ms"] and e["torch_ms"]:
        flop = th["gflop"]
        return f"{flop / (e['mg_ms'] * 1e-3):.1f} / {flop / (e['torch_ms'] * 1e-3):.1f} GFLOP/s"
    if "gbytes" in th and e["mg_ms"] and e["torch_ms"]:
        gb = th["gbytes"]
        return f"{gb / (e['mg_ms'] * 1e-3):.1f} / {gb / (e['torch_ms'] * 1e-3):.1f} GB/s"
    if "gflops" in mg:
        return f"{mg['gflops']:.1f} GFLOP/s / -"
    return ""


def markdown(args, table, peaks, loads):
    out = []
    nr = args.rounds
    out.append(f"threads {args.threads}, {nr} round{'s' if nr > 1 else ''} "
               f"(each figure: the median over rounds of each run's median)\n")
    models = [k for k in table if k[0] == "model" and table[k]["mg_ms"] and table[k]["torch_ms"]]
    kernels = [k for k in table if k[0] == "kernel" and table[k]["mg_ms"] and table[k]["torch_ms"]]
    # minigen's own order (that of workloads.md)
    order = {k: i for i, k in enumerate(table)}
    models.sort(key=lambda k: order[k])
    kernels.sort(key=lambda k: order[k])
    if models:
        out.append("| workload (one training step) | minigen ms | PyTorch ms | speed-up |")
        out.append("|---|---:|---:|---:|")
        for k in models:
            e = table[k]
            out.append(f"| {k[1]} | {fmt_ms(e['mg_ms'])} | {fmt_ms(e['torch_ms'])} | "
                       f"{e['torch_ms'] / e['mg_ms']:.2f}x |")
        out.append("")
    if kernels:
        out.append("| kernel | shape | minigen variant | minigen ms | PyTorch ms | speed-up | "
                   "rate (minigen / PyTorch) |")
        out.append("|---|---|---|---:|---:|---:|---|")
        for k in kernels:
            e = table[k]
            variant = e["mg_rows"][0].get("variant", "")
            out.append(f"| {k[1]} | {k[2]} | {variant} | {fmt_ms(e['mg_ms'])} | {fmt_ms(e['torch_ms'])} | "
                       f"{e['torch_ms'] / e['mg_ms']:.2f}x | {rate_of(e)} |")
        out.append("")

    # OpenBLAS sgemm through torch.mm, and the targets
    out.append("Targets:")
    shape, need = SGEMM_TARGET
    e = table.get(("kernel", "sgemm", shape))
    if e and e["mg_ms"] and e["torch_ms"]:
        flop = 2 * 1024 ** 3
        blas = flop / (e["torch_ms"] * 1e-3) / 1e9
        mine = flop / (e["mg_ms"] * 1e-3) / 1e9
        ratio = mine / blas
        verdict = "met" if ratio >= need else f"not met (gap {100 * (need - ratio):.0f} points)"
        note = "" if args.threads == 1 else " (the target is stated at 1 thread)"
        out.append(f"- sgemm 1024^3: minigen {mine:.1f} GFLOP/s, OpenBLAS (torch.mm, OpenMP build) "
                   f"{blas:.1f} GFLOP/s = {100 * ratio:.0f}% (target >= {100 * need:.0f}%): {verdict}{note}")
    for name, need in SPEEDUP_TARGETS.items():
        e = table.get(("model", name, ""))
        if not e or not e["mg_ms"] or not e["torch_ms"]:
            continue
        s = e["torch_ms"] / e["mg_ms"]
        goal = e["torch_ms"] / need
        verdict = "met" if s >= need else \
            f"not met (needs <= {fmt_ms(goal)} ms per step; measured {fmt_ms(e['mg_ms'])} ms, " \
            f"{e['mg_ms'] / goal:.2f}x too slow)"
        out.append(f"- {name}: {s:.2f}x PyTorch (target >= {need}x): {verdict}")
    for name, pattern in (("add", "triad"), ("sum", "read")):
        rows = [r for k, e in table.items() if k[0] == "kernel" and k[1] == name for r in e["mg_rows"]]
        fr = fraction_of_best_peak(rows)
        gb = median_or_none([r.get("gbps") for r in rows])
        bw = peaks.get(pattern)
        if fr is None:
            continue
        verdict = "met" if fr >= BANDWIDTH_TARGET else \
            f"not met (gap {100 * (BANDWIDTH_TARGET - fr):.0f} points)"
        out.append(f"- {name}: {gb:.1f} GB/s = {100 * fr:.0f}% of the measured {pattern} bandwidth "
                   f"({bw:.1f} GB/s, best round) (target >= {100 * BANDWIDTH_TARGET:.0f}%): {verdict}")
    out.append("")
    def describe(l):
        text = f"{l['side']} (round {l['round']}): load {l['loadavg1']:.1f}"
        if l.get("busy") is not None:
            text += f", CPUs {100 * l['busy']:.0f}% busy just before"
        if "others_during" in l:
            text += f", other processes {100 * l['others_during']:.0f}% during"
        return text
    out.append("Machine load per run: " + "; ".join(describe(l) for l in loads))
    return "\n".join(out)


def fraction_of_best_peak(rows):
    """The median rate over rounds as a fraction of the best peak any round measured.

    Each row's peak_fraction is relative to the peak its own run measured (peak = rate /
    peak_fraction); a round disturbed by other processes measures a low peak, so the best
    round's peak is the yardstick."""
    rates, peaks = [], []
    for r in rows:
        rate = r.get("gflops") or r.get("gbps")
        if rate and r.get("peak_fraction"):
            rates.append(rate)
            peaks.append(rate / r["peak_fraction"])
    if not rates:
        return None
    return statistics.median(rates) / max(peaks)


def full_table(rounds_minigen):
    """Every minigen row (all variants), medians over rounds, as markdown."""
    rows = {}
    for rnd in rounds_minigen:
        for r in rnd:
            if r["kind"] in ("kernel", "ops", "model"):
                rows.setdefault((r["kind"], r["name"], r.get("shape", ""), r.get("variant", "")), []).append(r)
    out = ["| kind | name | shape | variant | median ms | min ms | max ms | rate | % of peak | check |",
           "|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for (kind, name, shape, variant), rs in rows.items():
        timed = [r for r in rs if "median_ms" in r]
        med = median_or_none([r["median_ms"] for r in timed])
        lo = min((r["min_ms"] for r in timed), default=None)
        hi = max((r["max_ms"] for r in timed), default=None)
        rate = ""
        if median_or_none([r.get("gflops") for r in timed]):
            rate = f"{median_or_none([r.get('gflops') for r in timed]):.1f} GFLOP/s"
        elif median_or_none([r.get("gbps") for r in timed]):
            rate = f"{median_or_none([r.get('gbps') for r in timed]):.1f} GB/s"
        elif kind == "model" and timed:
            unit = timed[0]["unit"]
            rate = f"{median_or_none([r.get(unit + '_per_s') for r in timed]):.0f} {unit}/s"
        frac = fraction_of_best_peak(timed)
        r0 = rs[0]
        check = r0.get("check", "skipped")
        if kind == "model":
            check = ""
        elif check == "skipped":
            check = "-"
        else:
            check += f" {r0['max_rel_error']:.1e}"
            if r0.get("check_note"):
                check += f" ({r0['check_note']})"
        if not timed:
            note = r0.get("note", "not timed")
            check = note if check in ("", "-") else check + "; " + note
        star = "*" if r0.get("default") and kind == "kernel" else ""
        out.append(f"| {kind} | {name} | {shape} | {variant}{star} | {fmt_ms(med)} | {fmt_ms(lo)} | {fmt_ms(hi)} | "
                   f"{rate} | {'' if frac is None else f'{100 * frac:.0f}%'} | {check} |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--minigen", default=os.path.join(REPO, "build", "tools", "minigen"),
                   help="the minigen binary (default: build/tools/minigen)")
    p.add_argument("--torch-ref", default=os.environ.get("MINIGEN_TORCH_REF",
                                                         os.path.join(REPO, "tools", "reference", "torch_ref.py")),
                   help="torch_ref.py (default: $MINIGEN_TORCH_REF or tools/reference/torch_ref.py)")
    p.add_argument("--python", default="/usr/bin/python3", help="the Python that has torch")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: minigen bench --device cuda beside torch_ref.py run on the GPU "
                        "(tools/reference/torch_ref_cuda.py; the python must have a CUDA torch)")
    p.add_argument("--rounds", type=int, default=1, help="alternating runs of each side (default 1)")
    p.add_argument("--filter", default="", help="passed to minigen bench --filter")
    p.add_argument("--group", choices=["all", "kernels", "workloads"], default="all")
    p.add_argument("--minigen-arg", action="append", default=[], help="extra argument for minigen bench")
    p.add_argument("--wait-idle", type=float, default=None, metavar="PCT",
                   help="before each run, wait until the CPUs are at most PCT%% busy")
    p.add_argument("--max-wait", type=float, default=600, help="longest wait for --wait-idle, seconds")
    p.add_argument("--json-out", default=None, help="write every raw result to this file")
    p.add_argument("--markdown", default=None, metavar="DIR",
                   help="write a dated result file DIR/YYYY-MM-DD-WHAT.md (a path ending in .md: "
                        "that file) naming the machine, the commit and the commands")
    p.add_argument("--what", default=None,
                   help="the WHAT of the result file's name and title (default: GROUP-N-threads)")
    p.add_argument("--from-json", default=None, metavar="PATH",
                   help="render the tables from a --json-out file instead of running anything")
    p.add_argument("--full", action="store_true",
                   help="also print every minigen row (all variants, medians over rounds)")
    args = p.parse_args()
    if args.markdown and not args.markdown.endswith(".md") and not os.path.isdir(args.markdown):
        sys.exit(f"bench_compare: --markdown {args.markdown}: no such directory (a file name must end in .md)")
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        args.threads, args.rounds = saved["threads"], saved["rounds"]
        rounds_mg, rounds_torch, loads = saved["minigen"], saved["torch"], saved["loads"]
        args.provenance = saved.get("provenance") or {}  # files saved before it was recorded lack it
    else:
        args.provenance = provenance()
        rounds_mg, rounds_torch, loads = run_rounds(args)
    report(args, rounds_mg, rounds_torch, loads)


def run_rounds(args):
    for path, what in ((args.minigen, "--minigen"), (args.torch_ref, "--torch-ref")):
        if not os.path.exists(path):
            sys.exit(f"bench_compare: {what} {path} does not exist")
    rounds_mg, rounds_torch, loads = [], [], []
    torch_names = None
    for rnd in range(args.rounds):
        log(f"round {rnd + 1}/{args.rounds}")
        for side in ("minigen", "torch"):
            if args.wait_idle is not None:
                wait_until_idle(args.wait_idle / 100.0, args.max_wait)
            state = load_state()
            state.update(side=side, round=rnd + 1)
            before = stat_snapshot()
            if side == "minigen":
                rows = run_minigen(args)
                rounds_mg.append(rows)
                if torch_names is None:  # the workloads minigen measured, in torch_ref's names
                    timed = {r["name"] for r in rows if "median_ms" in r}
                    torch_names = [n for n in TORCH_MODELS + TORCH_KERNELS if n in timed]
            elif torch_names:
                rounds_torch.append(run_torch(args, torch_names))
            state["others_during"] = others_busy(before, stat_snapshot())
            log(f"  other processes kept {100 * state['others_during']:.0f}% of the CPUs busy during the run")
            loads.append(state)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"threads": args.threads, "rounds": args.rounds, "loads": loads,
                       "provenance": args.provenance,
                       "minigen": rounds_mg, "torch": rounds_torch}, f, indent=1)
    return rounds_mg, rounds_torch, loads


def report(args, rounds_mg, rounds_torch, loads):
    peaks = {}  # the best over rounds: a disturbed round measures too little
    for rows in rounds_mg:
        for r in rows:
            if r.get("name") == "peak_bandwidth":
                peaks[r["variant"]] = max(peaks.get(r["variant"], 0), r["gbps"])
            elif r.get("name") == "peak_fma":
                key = f"fma@{r['threads']}"
                peaks[key] = max(peaks.get(key, 0), r["gflops"])
    table = collect(rounds_mg, rounds_torch)
    text = markdown(args, table, peaks, loads)
    cfg = rounds_torch[0]["config"] if rounds_torch else {}
    header = (f"CPU: {cfg.get('processor', '?')}; torch {cfg.get('torch', '?')}; "
              f"BLAS: {' '.join(cfg.get('blas_library', [])) or '?'}\n"
              "measured peaks (minigen bench, best over rounds; GFLOP/s, GB/s): " +
              ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()) + "\n")
    if args.full:
        text += "\n\nEvery minigen row (* = the active variant):\n\n" + full_table(rounds_mg)
    print(header)
    print(text)
    if args.markdown:
        path = result_file_path(args.markdown, args.provenance.get("date"), what_of(args))
        with open(path, "w") as f:
            f.write(result_file(args, path, cfg, header, text))
        log(f"wrote {path}")


# ---- the dated result file ------------------------------------------------------------------------

def what_of(args):
    return args.what or f"{args.group}-{args.threads}-thread{'s' if args.threads > 1 else ''}"


def result_file_path(target, date, what):
    if target.endswith(".md"):
        return target
    date = date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return os.path.join(target, f"{date}-{what}.md")


def result_file(args, path, torch_cfg, header, text):
    """The markdown of a result file: where and how it was measured, then the tables."""
    prov = args.provenance
    unknown = "not recorded (a --json-out file from before provenance was saved)"
    m = prov.get("machine")
    if m:
        cores = f"{m['cores']} cores, " if m.get("cores") else ""
        memory = f", {m['memory_gib']} GiB of memory" if m.get("memory_gib") else ""
        machine = f"{m['cpu']} ({cores}{m['logical_cpus']} logical CPUs{memory}; {m.get('os', '?')})"
    else:
        machine = f"CPU {torch_cfg.get('processor', '?')}; the rest {unknown}"
    guide = os.path.join(REPO, "docs", "benchmarks.md")
    if os.path.commonpath([REPO, os.path.abspath(path)]) == REPO:  # a link that works inside the tree
        guide = os.path.relpath(guide, os.path.dirname(os.path.abspath(path)))
    when = f"{prov['date']} {prov.get('time', '')}".strip() if prov.get("date") else unknown
    lines = [f"# {what_of(args)}: minigen against PyTorch ({prov.get('date', 'date not recorded')})", "",
             f"Written by `tools/bench_compare.py --markdown`; how to read the tables: "
             f"[benchmarks.md]({guide}#reading-the-tables).", "",
             f"- Measured: {when}",
             f"- Machine: {machine}",
             f"- Threads used: {args.threads}, {args.rounds} round{'s' if args.rounds > 1 else ''} per side",
             f"- minigen commit: {prov.get('commit', unknown)}",
             f"- PyTorch: {torch_cfg.get('torch', '?')}; BLAS: {' '.join(torch_cfg.get('blas_library', [])) or '?'}",
             "", "Commands:", "", "```"]
    lines += [f"$ {c}" for c in prov.get("commands", [])] or [unknown]
    lines += ["```", "", header.split("\n", 1)[1].strip(), "", text, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
