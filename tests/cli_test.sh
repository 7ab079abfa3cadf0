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
expect 2 "--config .*(cannot open|no such file)" -- train gan2d --config "$work/none.json" --out "$work/y"
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

# Hostile input files: exit 2 and one line naming the file; a FIFO is refused, never waited on
# (a wrapper with a timeout turns a hang into a failure).
printf '#!/bin/sh\nexec timeout 60 "%s" "$@"\n' "$minigen" > "$work/minigen-with-timeout"
chmod +x "$work/minigen-with-timeout"
real_minigen="$minigen"; minigen="$work/minigen-with-timeout"
mkfifo "$work/fifo"
ln -s "$work/loop" "$work/loop"
expect 2 "--config $work/fifo: is a FIFO, not a regular file" -- train gan2d --config "$work/fifo" --out "$work/h1"
expect 2 "$work/fifo: is a FIFO" -- sample gan2d --checkpoint "$work/fifo"
expect 2 "$work/fifo: is a FIFO" -- eval gan2d --checkpoint "$work/fifo"
expect 2 "--samples $work/fifo: is a FIFO" -- eval --samples "$work/fifo"
expect 2 "--samples $work: is a directory" -- eval --samples "$work"
expect 2 "--checkpoint $work/loop: too many levels of symbolic links" -- sample gan2d --checkpoint "$work/loop"
python3 -c "print('[' * 100000 + ']' * 100000)" > "$work/deep.json"
expect 2 "--config $work/deep.json: JSON nested 100000 levels" -- train gan2d --config "$work/deep.json" --out "$work/h2"
echo '{"loss": 5}' > "$work/typed.json"
expect 2 "--config $work/typed.json: gan options: 'loss' has the wrong type: expected a string, got 5" -- \
    train gan2d --config "$work/typed.json" --out "$work/h3"
echo '{"width": 4611686018427387904}' > "$work/wide.json"
expect 2 "--config $work/wide.json: gan options: 'width' = 4611686018427387904 is out of range" -- \
    train dcgan --config "$work/wide.json" --out "$work/h4"
echo '{"z_dim": 64.5}' > "$work/half.json"
expect 2 "--config $work/half.json: gan options: 'z_dim' must be an integer, got 64.5" -- \
    train gan2d --config "$work/half.json" --out "$work/h5"
minigen="$real_minigen"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
