#!/usr/bin/env bash
# The minigen CLI as a user meets it: bad flags, values and files get one clear line
# on stderr and exit code 2; --help works on every subcommand; --json prints JSON.
# Usage: cli_test.sh path/to/minigen
set -u
minigen="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0; passes=0

# expect CODE PATTERN -- ARGS...: exit code CODE and stderr+stdout matching PATTERN
expect() {
    local code="$1" pattern="$2"; shift 3
    local out rc
    out="$("$minigen" "$@" 2>&1)"; rc=$?
    if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL: minigen $* -> exit $rc (want $code), output:"; echo "$out" | head -5
        failures=$((failures + 1))
    else
        passes=$((passes + 1))
    fi
}

expect 2 "unknown|not expected|Extras" -- train gan2d --no-such-flag
expect 2 "unknown model 'nope'.*known: gan2d" -- train nope --steps 1 --out "$work/x"
expect 2 "--steps" -- train gan2d --steps -3
expect 2 "--device" -- train gan2d --device tpu
expect 2 "--amp bf16: mixed precision needs --device cuda" -- train gan2d --amp bf16 --steps 1 --out "$work/a"
expect 2 "--amp" -- train gan2d --amp fp8 --steps 1 --out "$work/a"
# Without a usable GPU, --device cuda is one line naming why (with one, tests/gpu trains there).
if "$minigen" info --json | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['cuda']['available'] else 1)"; then
    passes=$((passes + 1))
else
    expect 2 "--device cuda: .*(without CUDA|no usable CUDA device|no CUDA device)" -- train gan2d --device cuda --steps 1 --out "$work/c"
    expect 2 "--device cuda: .*(without CUDA|no usable CUDA device|no CUDA device)" -- bench --device cuda --kernels
fi
expect 2 "--threads" -- info --threads 0
expect 2 "no such file" -- sample dcgan --checkpoint "$work/missing.safetensors"
echo "not a checkpoint" > "$work/bad.safetensors"
expect 2 "bad.safetensors" -- sample dcgan --checkpoint "$work/bad.safetensors"
expect 2 "--config .*cannot open" -- train gan2d --config "$work/none.json" --out "$work/y"
echo "{ not json" > "$work/bad.json"
expect 2 "not valid JSON" -- train gan2d --config "$work/bad.json" --out "$work/y"
echo '{"no_such_option": 1}' > "$work/unknown.json"
expect 2 "unknown option 'no_such_option'" -- train gan2d --config "$work/unknown.json" --out "$work/y"
expect 2 "is not a directory|does not exist" -- report "$work/nothing-here"
expect 2 "" --
for cmd in train sample report info demo; do expect 0 "Usage" -- "$cmd" --help; done

# A short real run: train, JSON summary, sample from its checkpoint, report.
out="$("$minigen" train gan2d --steps 20 --out "$work/run" --json --threads 1 2>/dev/null)"
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['steps']==20 and d['model']=='gan2d'" "$out"; then
    passes=$((passes + 1))
else
    echo "FAIL: train --json printed: $out"; failures=$((failures + 1))
fi
expect 0 "png" -- sample gan2d --checkpoint "$work/run/checkpoint.safetensors" --out "$work/s.png"
[ -s "$work/s.png" ] && passes=$((passes + 1)) || { echo "FAIL: no sample PNG"; failures=$((failures + 1)); }
[ -s "$work/run/report/index.html" ] && passes=$((passes + 1)) || { echo "FAIL: no report"; failures=$((failures + 1)); }
expect 2 "checkpoint of 'gan2d', not 'dcgan'" -- sample dcgan --checkpoint "$work/run/checkpoint.safetensors"
if "$minigen" info --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['kernels'] and d['models']"; then
    passes=$((passes + 1))
else
    echo "FAIL: info --json"; failures=$((failures + 1))
fi

# minigen report on a run directory someone else wrote: names that would run code in gnuplot
# or on the page run nothing; broken logs are one line and exit 2 (a FIFO does not hang);
# --table prints rows and names unknown columns.
hostile="$work/hostile"; mkdir -p "$hostile"
python3 - "$hostile" <<'PY'
import json, sys
d = sys.argv[1]
names = ["loss_x\n!touch %s/PWNED_BANG" % d, "`touch %s/PWNED_BACKQUOTE`" % d, "<script>alert(1)</script>"]
with open(d + "/metrics.jsonl", "w") as f:
    for s in range(1, 30):
        f.write(json.dumps(dict({"step": s, "loss_d": 1.0 / s}, **{n: s + k for k, n in enumerate(names)})) + "\n")
PY
expect 0 "index.html" -- report "$hostile"
if ls "$hostile" | grep -q PWNED || grep -q "<script>" "$hostile/report/index.html"; then
    echo "FAIL: report ran a metric name or put it on the page unescaped"; failures=$((failures + 1))
else
    passes=$((passes + 1))
fi
mkdir -p "$work/deep" "$work/fifo"
python3 -c "print('{\"step\": 1}'); print('{\"step\": 2, \"x\": ' + '[' * 100000 + ']' * 100000 + '}')" > "$work/deep/metrics.jsonl"
expect 2 "metrics.jsonl:2: JSON nested 100001 levels deep" -- report "$work/deep"
echo '{"step": 1, "loss_d": 1e400}' > "$work/deep/metrics.jsonl"
expect 2 "metrics.jsonl:1: not valid JSON.*1e400" -- report "$work/deep"
mkfifo "$work/fifo/metrics.jsonl"
out="$(timeout 20 "$minigen" report "$work/fifo" 2>&1)"; rc=$?
if [ "$rc" -eq 2 ] && grep -q "is a FIFO" <<<"$out"; then passes=$((passes + 1)); else
    echo "FAIL: report on a FIFO -> exit $rc: $out"; failures=$((failures + 1)); fi
expect 0 "^ *step +loss_d +loss_g +d_real +d_fake" -- report "$work/run" --table --every 10
expect 0 "^\| step \| d_real \|" -- report "$work/run" --table --columns d_real --markdown
expect 0 "^step,loss_d" -- report "$work/run" --table --csv --columns loss_d
expect 2 "unknown metrics 'nope', 'nada'.*loss_d" -- report "$work/run" --table --columns loss_d,nope,nada
expect 2 "--every" -- report "$work/run" --every 10

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
