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
# A bench filter that matches nothing says so (before measuring anything) and lists the rows.
expect 2 "--filter 'conv2d_forward.*zzz' matches no row.*conv2d \(conv2d_backward_input, conv2d_backward_weight, conv2d_forward\)" -- bench --kernels --filter 'conv2d_forward.*zzz'
expect 2 "--filter 'nothing-here' matches no row.*busy-machine rows: dcgan, gan2d, vae; models: .*dcgan" -- bench --workloads --filter nothing-here
expect 2 "bench --eval: .*--filter and --device do not apply" -- bench --eval --filter fid
# --cpu-time is a step's time only at one thread; with --threads 1 the table says what it timed.
expect 2 "--cpu-time: .*add --threads 1 \(got 2 threads\)" -- bench --cpu-time --threads 2 --filter relu
expect 0 "times: this process's CPU time per call \(--cpu-time\)" -- bench --kernels --cpu-time --threads 1 --repeat 3 --filter '^relu .*reference'
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
for cmd in train sample report info demo profile; do expect 0 "Usage" -- "$cmd" --help; done

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

# The step profiler: JSON whose parts sum to the step, a roofline PNG with --out; bad input exits 2.
out="$("$minigen" profile gan2d --steps 2 --warmup 1 --threads 1 --json --out "$work/prof" 2>/dev/null)"
if python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert d['model'] == 'gan2d' and d['steps'] == 2 and d['kernels'] and d['nodes']
assert abs(d['accounted_ms'] - d['step_ms']) <= 0.05 * d['step_ms'], d
assert any(k['name'].startswith('gemm/') for k in d['kernels'])
" "$out" && [ -s "$work/prof/roofline.png" ] && [ -s "$work/prof/profile.json" ]; then
    passes=$((passes + 1))
else
    echo "FAIL: profile gan2d --json printed: ${out:0:300}"; failures=$((failures + 1))
fi
# The failure-mode lab: --bug list, refusals, and a bug recorded, flagged, kept on resume, in the report's title.
expect 0 "labels-swapped .*d-prefers-fakes" -- train --bug list
expect 2 "unknown bug 'nope' \(known: none, gp-channel-norm" -- train gan2d --bug nope --out "$work/b0"
expect 2 "--bug vae-kl-sum: applies to vae, cvae, convvae, not 'gan2d'" -- train gan2d --bug vae-kl-sum --out "$work/b0"
[ ! -e "$work/b0" ] && passes=$((passes + 1)) || { echo "FAIL: a refused --bug wrote $work/b0"; failures=$((failures + 1)); }
out="$("$minigen" train gan2d-vanilla --bug labels-swapped --steps 400 --out "$work/bug" --json --threads 1 2>/dev/null)"
if python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert [e['monitor'] for e in d['health']][:1] == ['d-prefers-fakes'], d['health']
assert json.load(open(sys.argv[2]))['config']['bug'] == 'labels-swapped'
" "$out" "$work/bug/config.json" && grep -q "(bug: labels-swapped)" "$work/bug/report/index.html" &&
    grep -q "d-prefers-fakes" "$work/bug/report/index.html"; then
    passes=$((passes + 1))
else
    echo "FAIL: train --bug labels-swapped printed: ${out:0:300}"; failures=$((failures + 1))
fi
expect 0 "steps" -- train gan2d-vanilla --resume --steps 410 --out "$work/bug" --threads 1 --no-report
grep -q '"bug": "labels-swapped"' "$work/bug/config.json" && passes=$((passes + 1)) ||
    { echo "FAIL: the resumed run lost its bug"; failures=$((failures + 1)); }
expect 2 "other settings: bug .*--allow-changes" -- train gan2d-vanilla --resume --steps 420 --bug no-detach --out "$work/bug" --threads 1
# report --compare: the buggy run beside a correct one, on one page (docs/failure-modes.md).
"$minigen" train gan2d-vanilla --steps 400 --out "$work/correct" --threads 1 --no-report >/dev/null 2>&1
expect 0 "bug/report/compare.html" -- report --compare "$work/bug" "$work/correct" --plots svg
page="$work/bug/report/compare.html"
if grep -q "A: bug</h2>" "$page" && grep -q "B: correct</h2>" "$page" && grep -q "bug: labels-swapped" "$page" &&
    grep -q "correct (no bug)" "$page" && grep -q "<b>d-prefers-fakes</b> at step" "$page" &&
    [ "$(grep -o 'src="compare_[a-z0-9_]*\.svg"' "$page" | sort -u | wc -l)" -ge 4 ] &&
    [ "$(grep -o 'src="compare_[a-z0-9_]*\.svg"' "$page" | wc -l)" = "$(grep -o 'src="compare_[a-z0-9_]*\.svg"' "$page" | sort -u | wc -l)" ] &&
    grep -q "stroke-dasharray=\"7,3\"" "$work/bug/report/compare_losses.svg" && grep -q ">B: correct<" "$work/bug/report/compare_losses.svg" &&
    [ -s "$work/bug/report/index.html" ]; then
    passes=$((passes + 1))
else
    echo "FAIL: report --compare wrote no side-by-side page: $(grep -o 'src="[^"]*"' "$page" 2>&1 | head -12 | tr '\n' ' ')"
    failures=$((failures + 1))
fi
expect 0 "cmp/index.html" -- report --compare "$work/bug" "$work/correct" --out "$work/cmp"
expect 2 "is not a directory|does not exist" -- report --compare "$work/bug" "$work/nothing-here"
expect 2 "--compare needs two run directories" -- report --compare "$work/bug"
expect 2 "two with --compare" -- report "$work/bug" "$work/correct"
expect 2 "--out" -- report "$work/bug" --out "$work/cmp2"

expect 2 "unknown model 'nosuchmodel'" -- profile nosuchmodel
expect 2 "--steps" -- profile gan2d --steps 0
expect 2 "--device cuda: the profiler times CPU kernels only" -- profile gan2d --device cuda
expect 2 "checkpoint of 'gan2d', not 'dcgan'" -- sample dcgan --checkpoint "$work/run/checkpoint.safetensors"
# What a model cannot do is a request refused (exit 2), naming the models that can.
expect 2 "sample --complete: model 'gan2d' cannot complete images; models that can: vae, cvae, convvae, pixelcnn" -- \
  sample gan2d --checkpoint "$work/run/checkpoint.safetensors" --complete test:2
expect 2 "sample --class: model 'gan2d' cannot sample given class labels; models that can: cgan, cvae, gated-pixelcnn-cond" -- \
  sample gan2d --checkpoint "$work/run/checkpoint.safetensors" --class 3
expect 2 "sample --interpolate: model 'gan2d' cannot interpolate in a latent space; models that can: dcgan" -- \
  sample gan2d --checkpoint "$work/run/checkpoint.safetensors" --interpolate
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
# ---- A run is never lost or damaged (docs/checkpoints.md, "Runs: overwrite, resume, signals").
ok() {  # ok CONDITION MESSAGE: a shell condition that must hold
    if eval "$1"; then passes=$((passes + 1)); else echo "FAIL: $2"; failures=$((failures + 1)); fi
}
steps_of() {  # the steps of the training lines of a metrics.jsonl, one per line
    python3 -c "import json,sys; [print(j['step']) for j in map(json.loads, open(sys.argv[1])) if 'images_per_s' in j]" "$1"
}
run="$work/safe"
"$minigen" train gan2d --steps 20 --log-every 1 --out "$run" --threads 1 --no-report >/dev/null 2>&1
ckpt_sum="$(cksum < "$run/checkpoint.safetensors")"; metrics_sum="$(cksum < "$run/metrics.jsonl")"
config_sum="$(cksum < "$run/config.json")"
unchanged() { [ "$(cksum < "$run/checkpoint.safetensors")" = "$ckpt_sum" ] && [ "$(cksum < "$run/metrics.jsonl")" = "$metrics_sum" ] && [ "$(cksum < "$run/config.json")" = "$config_sum" ]; }
expect 2 "--out '.*safe' is not empty.*--resume.*--overwrite" -- train gan2d --steps 5 --out "$run" --threads 1
ok unchanged "a refused train --out touched the run in it"
expect 2 "fashion-mnist: directory .*does not exist" -- train dcgan --overwrite --data "$work/no-data" --out "$run" --threads 1
ok unchanged "a run that failed at start-up touched the run it was to replace"
ok "python3 -c \"import json,sys; c=json.load(open(sys.argv[1])); assert 'train gan2d --steps 20 --log-every 1 --out' in c['run']['command']\" '$run/config.json'" \
   "config.json's run.command is not the command line"
expect 2 "at step 20, so a run of 5 steps has nothing left" -- train gan2d --resume --steps 5 --out "$run" --threads 1
expect 2 "other settings: batch_size [0-9]+ -> 16.*--allow-changes" -- train gan2d --resume --steps 30 --batch-size 16 --out "$run" --threads 1
expect 2 "other settings: seed 0 -> 5" -- train gan2d --resume --steps 30 --seed 5 --out "$run" --threads 1
ok unchanged "a refused resume touched the run"
expect 2 "--resume.*--overwrite|excludes" -- train gan2d --resume --overwrite --out "$run"
# A checkpoint written before an option existed resumes: the option counts as its default.
old="$work/older"
expect 0 "checkpoint" -- train dcgan --steps 1 --threads 1 --no-report --out "$old"
python3 - "$old/checkpoint.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
c = json.loads(h["__metadata__"]["config"])
for k in ("crop", "jitter", "hflip"):
    del c[k]
h["__metadata__"]["config"] = json.dumps(c)
head = json.dumps(h).encode()
head += b" " * (-len(head) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(head)) + head + b[8 + n:])
PY
expect 0 "resumed .* at step 1" -- train dcgan --resume --steps 2 --threads 1 --no-report --out "$old"
# minigen quantize: an int8 checkpoint that sample loads like any other; bad inputs name what is wrong.
q="$work/older-int8.safetensors"
expect 0 "dcgan int8, 3 layers, calibrated on 2 batches of 8 \(percentile\)" -- quantize dcgan --checkpoint "$old/checkpoint.safetensors" --calib 2 \
    --calib-batch-size 8 --method percentile --out "$q" --threads 1
expect 0 "png" -- sample dcgan --checkpoint "$q" --out "$work/int8.png" -n 4 --threads 1
expect 2 "checkpoint of 'dcgan', not 'cgan'" -- quantize cgan --checkpoint "$old/checkpoint.safetensors"
expect 2 "already quantized" -- quantize dcgan --checkpoint "$q" --out "$work/int8-again.safetensors"
expect 2 "--out .*is the checkpoint being quantized" -- quantize dcgan --checkpoint "$old/checkpoint.safetensors" \
    --out "$old/checkpoint.safetensors"
expect 2 "--calib" -- quantize dcgan --checkpoint "$old/checkpoint.safetensors" --calib 0
expect 2 "--method" -- quantize dcgan --checkpoint "$old/checkpoint.safetensors" --method kl
expect 2 "--percentile" -- quantize dcgan --checkpoint "$old/checkpoint.safetensors" --percentile 0
expect 2 "quantize: model 'gan2d' has no int8 form yet.*quantizable: dcgan" -- quantize gan2d \
    --checkpoint "$run/checkpoint.safetensors" --out "$work/gan2d-int8.safetensors"
python3 - "$q" "$work/int8-cgan.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
q = json.loads(h["__metadata__"]["quantization"])
q["model"] = "cgan"
h["__metadata__"]["quantization"] = json.dumps(q)
head = json.dumps(h).encode()
head += b" " * (-len(head) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(head)) + head + b[8 + n:])
PY
expect 2 "int8-cgan.safetensors: quantized for model 'cgan', not 'dcgan'" -- sample dcgan --checkpoint "$work/int8-cgan.safetensors"
# What kill -9 during a save leaves: a temporary of a dead pid, metrics past the checkpoint.
dead="$(sh -c 'echo $$')"
echo "half a file" > "$run/checkpoint.safetensors.tmp.$dead"
echo '{"step": 21, "images_per_s": 1, "loss_d": 1}' >> "$run/metrics.jsonl"
expect 0 "gan2d: 10 steps" -- train gan2d --resume --steps 30 --batch-size 16 --allow-changes --log-every 1 --out "$run" --threads 1 --no-report
ok "[ ! -e '$run/checkpoint.safetensors.tmp.$dead' ]" "a dead writer's temporary survived the resume"
ok "[ \"\$(steps_of '$run/metrics.jsonl' | sort -n | uniq -d)\" = '' ] && [ \"\$(steps_of '$run/metrics.jsonl' | wc -l)\" -eq 30 ]" \
   "after a resume metrics.jsonl logs a step twice or misses one"
ok "python3 -c \"import json,sys; c=json.load(open(sys.argv[1])); h=c['history'][0]; assert c['config']['batch_size']!=16 and h['changed']['batch_size']['to']==16 and h['start_step']==20 and '--allow-changes' in h['command']\" '$run/config.json'" \
   "config.json lost the original settings or has no history of the resume"
mkdir -p "$run/report"; echo old > "$run/samples/step_0999999.png"; echo old > "$run/report/index.html"
expect 0 "gan2d: 3 steps" -- train gan2d --overwrite --steps 3 --log-every 1 --out "$run" --threads 1 --no-report
ok "[ ! -e '$run/samples/step_0999999.png' ] && [ ! -e '$run/report/index.html' ] && [ \"\$(steps_of '$run/metrics.jsonl' | tr '\n' ' ')\" = '1 2 3 ' ]" \
   "--overwrite left the old run's files"
# Where --out cannot be.
echo "a file" > "$work/file"
expect 2 "--out '.*file' exists and is not a directory" -- train gan2d --steps 1 --out "$work/file"
expect 2 "is not a directory" -- train gan2d --steps 1 --out "$work/file/run"
# A file system error the early checks cannot foresee is still a user error naming the path.
[ -d /proc/self ] && expect 2 "^minigen: error: .*'/proc[^']*'$" -- train gan2d --steps 1 --out /proc/minigen-run
if [ "$(id -u)" != 0 ]; then  # root may write anywhere
    mkdir -p "$work/ro"; chmod 555 "$work/ro"
    expect 2 "cannot write in '.*ro'" -- train gan2d --steps 1 --out "$work/ro/run"
fi
# Numbers: the real range, the flag and the value; no truncation, no wrap-around.
expect 2 "--batch-size: must be an integer in 1\.\.[0-9]+, got 0" -- train gan2d --batch-size 0 --steps 1 --out "$work/num"
expect 2 "--seed: must be an integer >= 0, got -1" -- train gan2d --seed -1 --steps 1 --out "$work/num"
expect 2 "--steps: must be an integer >= 1, got '1.5' \(not a whole number\)" -- train gan2d --steps 1.5 --out "$work/num"
expect 2 "--lr: must be a number > 0" -- train gan2d --lr 0 --steps 1 --out "$work/num"
expect 2 "--lr: .*not a number" -- train gan2d --lr fast --steps 1 --out "$work/num"
expect 2 "--grid: must be an integer in 1\.\.1024, got 0" -- train gan2d --grid 0 --steps 1 --out "$work/num"
expect 2 "--count: must be an integer in 1\.\.4096, got 0" -- sample gan2d --checkpoint "$run/checkpoint.safetensors" -n 0
expect 2 "--iwae-k: .*'2.5' \(not a whole number\)" -- eval vae --checkpoint "$run/checkpoint.safetensors" --iwae-k 2.5
expect 2 "--repeat: must be an integer in 1\.\.[0-9]+, got 0" -- bench --repeat 0
expect 2 "--min-time: must be a number > 0" -- bench --min-time -1
expect 2 "--threads: must be an integer in 1\.\.[0-9]+, got 99999999999999999999 \(out of range\)" -- info --threads 99999999999999999999
# SIGTERM and SIGHUP stop like Ctrl-C: a checkpoint, then 128 + the signal.
for sig in TERM:143 HUP:129 INT:130; do
    "$minigen" train gan2d --steps 1000000 --out "$work/sig${sig%%:*}" --threads 1 --no-report >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do [ -s "$work/sig${sig%%:*}/metrics.jsonl" ] && break; sleep 0.05; done
    kill -"${sig%%:*}" "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null  # a run that ignores the signal fails the test instead of hanging it
    wait "$pid"; rc=$?
    ok "[ $rc -eq ${sig##*:} ] && [ -s '$work/sig${sig%%:*}/checkpoint.safetensors' ]" \
       "SIG${sig%%:*}: exit $rc (want ${sig##*:}) or no checkpoint"
done
# NaN/Inf: a diverging run stops (exit 3) without a checkpoint; NaN weights are refused by name.
echo '{"lr": 1e30}' > "$work/diverge.json"
expect 3 "non-finite value: step 1: 'loss_.*' = .*nan.*--allow-nonfinite" -- train gan2d --steps 50 --config "$work/diverge.json" --out "$work/nan" --threads 1 --no-report
ok "[ ! -e '$work/nan/checkpoint.safetensors' ]" "a diverged run wrote a checkpoint"
python3 - "$run/checkpoint.safetensors" "$work/nan.safetensors" <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
name = next(k for k, v in h.items() if k.startswith("model.") and v["dtype"] == "F32")
at = 8 + n + h[name]["data_offsets"][0]
b[at:at + 4] = struct.pack("<f", float("nan"))
open(sys.argv[2], "wb").write(b)
PY
expect 2 "nan.safetensors: tensor 'model\..*' \(nan at element 0.*--allow-nonfinite" -- sample gan2d --checkpoint "$work/nan.safetensors" --out "$work/nan.png"
expect 0 "png" -- sample gan2d --checkpoint "$work/nan.safetensors" --out "$work/nan.png" --allow-nonfinite
cp "$work/nan.safetensors" "$run/checkpoint.safetensors"
expect 2 "checkpoint.safetensors: tensor 'model\..*nan" -- train gan2d --resume --steps 50 --out "$run" --threads 1
# The sample grid's size.
"$minigen" train vae --steps 1 --grid 4 --out "$work/g4" --threads 2 --no-report >/dev/null 2>&1
"$minigen" train vae --steps 1 --grid 16 --out "$work/g16" --threads 2 --no-report >/dev/null 2>&1
png_width() { python3 -c "import struct,sys; print(struct.unpack('>I', open(sys.argv[1],'rb').read()[16:20])[0])" "$1"; }
ok "[ \"\$(png_width '$work/g4/samples/step_0000001.png')\" -lt \"\$(png_width '$work/g16/samples/step_0000001.png')\" ]" \
   "--grid does not change the sample grid"
# GANs on one's own images: a folder of 2 classes, trained at 32x32x3 for 2 steps, sampled
# (with --post), and refused by eval (no classifier of that data: exit 2); a size mismatch with the
# checkpoint and bad --data values are errors. The image cache goes to the test's folder.
export MINIGEN_CACHE_DIR="$work/cache"
python3 - "$work/pics" "$work/pairs" <<'PY'
import os, struct, sys, zlib
def png(path, w, h, rgb):
    raw = b"".join(b"\0" + b"".join(bytes(rgb(x, y)) for x in range(w)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for c, name in enumerate(["cats", "dogs"]):
    os.makedirs(os.path.join(sys.argv[1], name))
    for i in range(4):
        png(os.path.join(sys.argv[1], name, f"{i}.png"), 40, 36, lambda x, y: ((x * 6 + i * 20) % 256, (y * 7) % 256, 200 * c))
# For pix2pix: one class of 12 diamonds (every 10th image of a class is held out: one here).
os.makedirs(os.path.join(sys.argv[2], "shapes"))
for i in range(12):
    png(os.path.join(sys.argv[2], "shapes", f"{i}.png"), 32, 32,
        lambda x, y: (255, 40 * (i % 6), 0) if abs(x - 16) + abs(y - 16) < 4 + i else (20, 20, 90))
PY
for model in dcgan cgan; do
    expect 0 "checkpoint" -- train $model --data "folder:$work/pics" --image-size 32 --batch-size 4 --steps 2 \
        --threads 1 --no-report --out "$work/img-$model"
    ok "python3 -c \"import json; c=json.load(open('$work/img-$model/config.json'))['config']; assert (c['image_size'], c['channels'], c['data']) == (32, 3, 'folder:$work/pics'), c\"" \
       "$model: config.json does not record the image data"
    expect 0 "png" -- sample $model --checkpoint "$work/img-$model/checkpoint.safetensors" --out "$work/img-$model.png" -n 4
    expect 2 "no classifier of .*folder:.*minigen train classifier --data" -- eval $model --checkpoint "$work/img-$model/checkpoint.safetensors"
done
ok "[ \"\$(png_width '$work/img-dcgan.png')\" -gt 32 ]" "sample at 32x32: the grid is too small"
expect 0 "png" -- sample dcgan --checkpoint "$work/img-dcgan/checkpoint.safetensors" --out "$work/img-post.png" -n 4 \
    --post median:3,unsharp,grey-world,histmatch,upscale:2
ok "[ \"\$(png_width '$work/img-post.png')\" -gt \"\$(png_width '$work/img-dcgan.png')\" ]" "--post upscale:2 did not enlarge the grid"
expect 2 "--post: unknown step sharpen" -- sample dcgan --checkpoint "$work/img-dcgan/checkpoint.safetensors" --post sharpen
expect 2 "--image-size 64: .*was trained with image_size 32" -- sample dcgan --checkpoint "$work/img-dcgan/checkpoint.safetensors" --image-size 64
expect 2 "--data fashion-mnist: .* was trained with data .*folder:" -- sample dcgan --checkpoint "$work/img-dcgan/checkpoint.safetensors" --data fashion-mnist
expect 2 "--data flder:x: unknown data set 'flder'" -- train dcgan --data flder:x --steps 1 --out "$work/bad1"
expect 2 "image size 30 is not offered" -- train dcgan --data "folder:$work/pics" --image-size 30 --steps 1 --out "$work/bad2"
expect 2 "--channels" -- train dcgan --data "folder:$work/pics" --channels 2 --steps 1 --out "$work/bad3"
expect 2 "--data .*'gan2d' trains on Fashion-MNIST only" -- train gan2d --data "folder:$work/pics" --steps 1 --out "$work/bad4"
expect 2 "Fashion-MNIST is 28x28" -- train dcgan --image-size 32 --steps 1 --out "$work/bad5"
expect 2 "diffaug.*'colour'" -- train dcgan --diffaug colour --steps 1 --out "$work/bad6"
# Training augmentation: recorded in the config; bad values are one line naming the flag.
expect 0 "checkpoint" -- train dcgan --data "folder:$work/pics" --image-size 32 --batch-size 4 --steps 2 --threads 1 \
    --no-report --hflip --crop 4 --jitter 0.2,0.2,0.2,0.05 --out "$work/img-aug"
ok "python3 -c \"import json; c=json.load(open('$work/img-aug/config.json'))['config']; assert (c['crop'], c['jitter'], c['hflip']) == (4, '0.2,0.2,0.2,0.05', True), c\"" \
   "--crop/--jitter are not recorded in config.json"
expect 2 "'crop' 32 must be smaller than the image size 32" -- train dcgan --data "folder:$work/pics" --image-size 32 --crop 32 --steps 1 --out "$work/bad8"
expect 2 "--crop" -- train dcgan --crop -1 --steps 1 --out "$work/bad9"
expect 2 "--jitter 0.2,0.2: expected one number .* or four" -- train dcgan --jitter 0.2,0.2 --steps 1 --out "$work/bad10"
expect 2 "--jitter 0.1,0.1,0.1,0.7: .*hue 0.7 in \[0, 0.5\]" -- train dcgan --jitter 0.1,0.1,0.1,0.7 --steps 1 --out "$work/bad11"
expect 2 "--jitter bright: bright is not a number" -- train dcgan --jitter bright --steps 1 --out "$work/bad12"
expect 2 "--crop: 'gan2d' takes no image augmentation \(models that do: .*dcgan" -- train gan2d --crop 2 --steps 1 --out "$work/bad13"
expect 2 "folder.*(does not exist|no such|not a directory)" -- train dcgan --data "folder:$work/none" --steps 1 --out "$work/bad7"
# pix2pix on paired data: the edges of the folder of 12 diamonds (one held out), trained 2 steps at
# 32x32, sampled (rows of input, output, target) and scored (L1, PSNR, SSIM; no classifier of
# that folder, so no class accuracy); unpaired data, mismatched sides and bad specs are refused.
echo '{"width": 4}' > "$work/p2p.json"
expect 0 "checkpoint" -- train pix2pix --data "edges:folder:$work/pairs" --image-size 32 --batch-size 4 --steps 2 \
    --threads 1 --no-report --config "$work/p2p.json" --out "$work/p2p"
expect 0 "sample: 3 images" -- sample pix2pix --checkpoint "$work/p2p/checkpoint.safetensors" --out "$work/p2p.png"
expect 0 "ssim +[-0-9]" -- eval pix2pix --checkpoint "$work/p2p/checkpoint.safetensors"
ok "$minigen eval pix2pix --checkpoint $work/p2p/checkpoint.safetensors --json 2>/dev/null | python3 -c \"import json,sys; j=json.load(sys.stdin); assert j['test_images'] == 1 and 0 <= j['l1'] <= 1 and -1 <= j['ssim'] <= 1 and 'class_accuracy' not in j, j\"" \
   "pix2pix eval --json: l1/ssim of the one held-out pair"
expect 2 "'data' .*folder:.* is not a paired data set; .*edges:SPEC" -- train pix2pix --data "folder:$work/pairs" --steps 1 --out "$work/bad-p1"
expect 2 "'data' edges:emoji is a paired data set .*pix2pix" -- train dcgan --data edges:emoji --steps 1 --out "$work/bad-p2"
expect 2 "--data emoji-pair:google: expected emoji-pair:A,B with two different vendors" -- train pix2pix --data emoji-pair:google --steps 1 --out "$work/bad-p3"
expect 2 "--data edges:edges:emoji: edges of what" -- train pix2pix --data edges:edges:emoji --steps 1 --out "$work/bad-p4"
expect 2 "Fashion-MNIST is 28x28; 'image_size' 32" -- train pix2pix --data edges:fashion-mnist --image-size 32 --steps 1 --out "$work/bad-p5"
expect 2 "'image_size' 8 not in 16..256" -- train pix2pix --data "edges:folder:$work/pairs" --image-size 8 --steps 1 --out "$work/bad-p6"
expect 2 "'jitter' 0.2 does not apply to paired data" -- train pix2pix --data "edges:folder:$work/pairs" --jitter 0.2 --steps 1 --out "$work/bad-p7"
# Colorization: the same diamonds as L* -> a*b* pairs, both models 2 steps; sample in RGB rows,
# eval with the colourfulness of outputs and targets; grey data and a both-zero loss refused.
for model in colorize colorize-l1; do
    expect 0 "checkpoint" -- train $model --data "lab:folder:$work/pairs" --image-size 32 --batch-size 4 --steps 2 \
        --threads 1 --no-report --config "$work/p2p.json" --out "$work/$model"
    expect 0 "sample: 3 images" -- sample $model --checkpoint "$work/$model/checkpoint.safetensors" --out "$work/$model.png"
    ok "$minigen eval $model --checkpoint $work/$model/checkpoint.safetensors --json 2>/dev/null | python3 -c \"import json,sys; j=json.load(sys.stdin); assert j['colorfulness'] >= 0 and j['target_colorfulness'] > 10, j\"" \
       "$model eval --json: colourfulness of outputs and targets"
done
expect 2 "--data lab:fashion-mnist: Fashion-MNIST is grey" -- train colorize --data lab:fashion-mnist --steps 1 --out "$work/bad-c1"
expect 2 "colorization needs colour images; 'channels' is 1" -- train colorize --data "lab:folder:$work/pairs" --image-size 32 --channels 1 --steps 1 --out "$work/bad-c2"
ok "[ ! -e '$work/bad-c2' ]" "a refused colorize run left its --out behind"
echo '{"l1_weight": 0}' > "$work/c-l1.json"
expect 2 "'adv_weight' and 'l1_weight' are both 0" -- train colorize-l1 --config "$work/c-l1.json" --steps 1 --out "$work/bad-c3"
# CycleGAN: the diamonds' grey edges <-> the grey diamonds, the pairing broken (B drawn in its own
# order), 3 steps with a pool of 2 (full after the first step); sample rows A, G(A), F(G(A)),
# B, F(B), G(F(B)) of the one held-out pair; eval's L1/PSNR/SSIM; resumed to step 4. Sides of
# different channels (edges of colour), sizes G cannot halve twice, bad weights are refused.
echo '{"width": 4, "blocks": 1, "pool_size": 2}' > "$work/cyc.json"
expect 0 "checkpoint" -- train cyclegan --data "edges:folder:$work/pairs" --channels 1 --image-size 32 --batch-size 2 \
    --steps 3 --threads 1 --no-report --config "$work/cyc.json" --out "$work/cyc"
expect 0 "sample: 6 images" -- sample cyclegan --checkpoint "$work/cyc/checkpoint.safetensors" --out "$work/cyc.png"
expect 0 "ssim +[-0-9]" -- eval cyclegan --checkpoint "$work/cyc/checkpoint.safetensors"
expect 0 "steps" -- train cyclegan --resume --steps 4 --out "$work/cyc" --threads 1 --no-report
expect 2 "'data' edges:folder:.* gives A images of 1 channel\(s\) and B images of 3; .*same channels" -- train cyclegan --data "edges:folder:$work/pairs" --image-size 32 --steps 1 --out "$work/bad-cy1"
ok "[ ! -e '$work/bad-cy1' ]" "a refused cyclegan run left its --out behind"
expect 2 "'data' .*folder:.* is not a paired data set" -- train cyclegan --data "folder:$work/pairs" --steps 1 --out "$work/bad-cy2"
expect 2 "'image_size' 30 must be a multiple of 4" -- train cyclegan --data "edges:folder:$work/pairs" --channels 1 --image-size 30 --steps 1 --out "$work/bad-cy3"
echo '{"lambda_cycle": -1}' > "$work/cyc-bad.json"
expect 2 "'lambda_cycle' -1 must be >= 0" -- train cyclegan --config "$work/cyc-bad.json" --steps 1 --out "$work/bad-cy4"
expect 2 "--data \"edges:fashion-mnist\": .* was trained with data .*edges:folder:" -- eval pix2pix --checkpoint "$work/p2p/checkpoint.safetensors" --data edges:fashion-mnist
expect 2 "--channels 1: .* was trained with channels 3" -- sample pix2pix --checkpoint "$work/p2p/checkpoint.safetensors" --channels 1
# progan on the diamonds at 16x16: a tiny schedule through every phase in 6 steps, a grid per
# finished phase, samples at the data's size; schedules that cannot reach the data refused.
echo '{"width": 8, "z_dim": 8, "fade_images": 8, "stable_images": 4, "batch_size": 4}' > "$work/pg.json"
expect 0 "checkpoint" -- train progan --data "folder:$work/pairs" --image-size 16 --config "$work/pg.json" --steps 6 \
    --log-every 1 --threads 1 --no-report --trace --out "$work/pg"
ok "[ -e '$work/pg/samples/phase_00_4x4_stable.png' ] && [ -e '$work/pg/samples/phase_03_16x16_fade.png' ]" \
   "progan wrote no grid at the end of each phase"
ok "grep -q conv2d '$work/pg/trace_d_step.dot'" "progan's --trace has no D step graph"
ok "grep -q '\"resolution\":16' '$work/pg/metrics.jsonl' && grep -q '\"alpha\":0.5' '$work/pg/metrics.jsonl'" \
   "progan's metrics.jsonl has no resolution or alpha"
expect 0 "sample: 4 images" -- sample progan --checkpoint "$work/pg/checkpoint.safetensors" -n 4 --out "$work/pg.png"
expect 2 "'image_size' 24: growing 4 -> 8 -> 16 ... by doubling cannot reach 24x24" -- train progan --data "folder:$work/pairs" --image-size 24 --steps 1 --out "$work/bad-pg1"
echo '{"final_resolution": 32}' > "$work/pg-bad.json"
expect 2 "pg-bad.json: progan options: 'final_resolution' 32 does not reach the data's 16x16" -- train progan --data "folder:$work/pairs" --image-size 16 --config "$work/pg-bad.json" --steps 1 --out "$work/bad-pg2"
echo '{"start_resolution": 6}' > "$work/pg-bad.json"
expect 2 "'start_resolution' 6 must be a power of two" -- train progan --data "folder:$work/pairs" --image-size 16 --config "$work/pg-bad.json" --steps 1 --out "$work/bad-pg3"
ok "[ ! -e '$work/bad-pg2' ]" "a refused progan run left its --out behind"
# The VAEs on one's own images: an RGB .npy of 10 images, convvae at 32x32 (3 down-blocks),
# sampled from its checkpoint; another size, or a Fashion-MNIST checkpoint, is an error.
# rgb_npy FILE N S: N uint8 RGB images of S x S (NHWC) in an .npy, a fixed pattern.
rgb_npy() {
    python3 - "$@" <<'PY'
import sys
path, n, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d, 3), }" % (n, s, s)
header += " " * (63 - (10 + len(header)) % 64) + "\n"
pixels = bytes((i * 37 + y * 11 + x * 5 + c * 80) % 256 for i in range(n) for y in range(s) for x in range(s) for c in range(3))
open(path, "wb").write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + pixels)
PY
}
rgb_npy "$work/rgb.npy" 10 32
expect 2 "--samples .*rgb.npy: --data edges:emoji is paired data" -- eval --samples "$work/rgb.npy" --data edges:emoji
expect 0 "checkpoint" -- train convvae --data "npy:$work/rgb.npy" --image-size 32 --batch-size 4 --steps 2 \
    --threads 1 --no-report --out "$work/img-convvae"
ok "python3 -c \"import json; c=json.load(open('$work/img-convvae/config.json'))['config']; assert (c['image_size'], c['channels']) == (32, 3), c\"" \
   "convvae: config.json does not record the image size"
expect 0 "png" -- sample convvae --checkpoint "$work/img-convvae/checkpoint.safetensors" --out "$work/img-convvae.png" -n 4
ok "[ \"\$(png_width '$work/img-convvae.png')\" -gt 32 ]" "convvae sample at 32x32: the grid is too small"
expect 0 "png" -- sample convvae --checkpoint "$work/img-convvae/checkpoint.safetensors" --complete test:1 --per-image 2 \
    --out "$work/img-convvae-complete.png"
ok "[ \"\$(png_width '$work/img-convvae-complete.png')\" -gt 128 ]" "convvae --complete at 32x32: the grid is too small"
expect 2 "--complete test:5: the held-out images are only 1" -- sample convvae --checkpoint "$work/img-convvae/checkpoint.safetensors" --complete test:5
expect 2 "--keep-rows 32: the images have 32 rows" -- sample convvae --checkpoint "$work/img-convvae/checkpoint.safetensors" --complete test:1 --keep-rows 32
expect 2 "--image-size 64: .*was trained with image_size 32" -- sample convvae --checkpoint "$work/img-convvae/checkpoint.safetensors" --image-size 64
expect 2 "--data .*npy:.*was trained with data .fashion-mnist" -- sample vae --checkpoint "$work/g4/checkpoint.safetensors" --data "npy:$work/rgb.npy"
expect 2 "image size 30 is not offered" -- train convvae --data "npy:$work/rgb.npy" --image-size 30 --steps 1 --out "$work/bad8"
npm_dir="${MINIGEN_NPM_DIR:-$HOME/.cache/minigen/npm}"
if [ -d "$npm_dir/node_modules/emoji-datasource-google" ]; then
    MINIGEN_NPM_DIR="$npm_dir" expect 0 "checkpoint" -- train dcgan --data emoji:google --batch-size 8 --steps 1 \
        --threads 1 --no-report --diffaug color,translation,cutout --hflip --out "$work/emoji"
else
    echo "skip: emoji at 64x64 (no $npm_dir/node_modules/emoji-datasource-google)"
fi
# The PixelCNNs on one's own images: 12 RGB 8x8 images in an .npy, 2 steps, the shape in the
# config, samples from the checkpoint; a checkpoint's channels contradicted is an error.
rgb_npy "$work/rgb.npy" 12 8
expect 0 "checkpoint" -- train pixelcnn --data "npy:$work/rgb.npy" --image-size 8 --steps 2 --batch-size 4 \
    --grid 4 --threads 1 --no-report --out "$work/img-pixelcnn"
ok "python3 -c \"import json; c=json.load(open('$work/img-pixelcnn/config.json'))['config']; assert (c['image_size'], c['channels'], c['width']) == (8, 3, 66), c\"" \
   "pixelcnn: config.json does not record the image shape (and the width rounded to 66)"
expect 0 "png" -- sample pixelcnn --checkpoint "$work/img-pixelcnn/checkpoint.safetensors" --out "$work/img-pixelcnn.png" -n 2
expect 2 "--channels 1: .*was trained with channels 3" -- sample pixelcnn --checkpoint "$work/img-pixelcnn/checkpoint.safetensors" --channels 1
expect 2 "Fashion-MNIST is grey; .channels. 3 needs an image data set" -- train pixelcnn --channels 3 --steps 1 --out "$work/bad9"
echo '{"width": 12, "channels": 12}' > "$work/both.json"
expect 2 "gated-pixelcnn options: 'channels' = 12 is out of range" -- train gated-pixelcnn --config "$work/both.json" --steps 1 --out "$work/bad8"
# A classifier of one's own images (an npy set of 2 classes at 16x16 RGB), frozen and used to
# score a sample file of NHWC uint8 images against that set's held-out images.
python3 - "$work/npyset" <<'PY'
import os, random, struct, sys
def npy(path, descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join(f"{d}, " for d in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
os.makedirs(sys.argv[1])
random.seed(1)
image = lambda c: bytes(min(255, (8 * x if c == 0 else 120 + 8 * y) + random.randrange(30)) for y in range(16) for x in range(16) for _ in range(3))
npy(os.path.join(sys.argv[1], "images.npy"), "|u1", (40, 16, 16, 3), b"".join(image(i % 2) for i in range(40)))
npy(os.path.join(sys.argv[1], "labels.npy"), "<i8", (40,), b"".join(struct.pack("<q", i % 2) for i in range(40)))
npy(os.path.join(sys.argv[1], "samples.npy"), "|u1", (12, 16, 16, 3), b"".join(image(i % 2) for i in range(12)))
PY
npyset="npy:$work/npyset/images.npy,labels=$work/npyset/labels.npy"
expect 0 "checkpoint" -- train classifier --data "$npyset" --image-size 16 --batch-size 8 --steps 2 --threads 1 \
    --no-report --out "$work/npy-cls"
expect 0 "\"reference_sha256\"" -- eval classifier --checkpoint "$work/npy-cls/checkpoint.safetensors" \
    --save-reference "$work/npy-cls.safetensors" --json
expect 0 "\"protocol\"" -- eval classifier --checkpoint "$work/npy-cls/checkpoint.safetensors" --json
"$minigen" eval --samples "$work/npyset/samples.npy" --data "$npyset" --classifier "$work/npy-cls.safetensors" \
    --threads 1 --json > "$work/npy-eval.json" 2>/dev/null
ok "python3 -c \"import json, math; j=json.load(open('$work/npy-eval.json')); assert j['data'] == '$npyset' and j['classifier_input'] == [3, 16, 16] and j['test_images'] == 4 and j['samples'] == 12, j; assert all(math.isfinite(j[k]) for k in ('fid', 'kid', 'classifier_test_accuracy')), j; assert j['floor']['fid'] < j['ceiling']['fid'], j\"" \
   "eval --samples --data npy: did not score the samples against the npy set"
"$minigen" eval --samples "$work/npyset/samples.npy" --data "$npyset" --classifier "$work/npy-cls.safetensors" \
    --memorisation-grid "$work/npy-nearest.png" --no-floors --threads 1 --json > "$work/npy-eval-m.json" 2>/dev/null
ok "python3 -c \"import json, math; j=json.load(open('$work/npy-eval-m.json')); m=j['memorisation']; assert m['train_images'] == 36 and 0 <= m['closer_than_test_p1'] <= 1, j; assert all(math.isfinite(j[k]) for k in ('density', 'coverage', 'fid_infinity')), j; assert len(j['fid_infinity_points']) == 5, j\" && [ -s '$work/npy-nearest.png' ]" \
   "eval --samples --memorisation-grid: no memorisation check, density, coverage or FID-infinity, or no grid"
expect 2 "--cas: needs a conditional model's labelled samples, not --samples" -- \
    eval --samples "$work/npyset/samples.npy" --data "$npyset" --cas --threads 1
expect 2 "--memorisation-grid $work/g.png: needs --memorisation-images > 0" -- \
    eval --samples "$work/npyset/samples.npy" --memorisation-images 0 --memorisation-grid "$work/g.png"
# The protocol card, and eval --compare: agreeing results side by side; a differing field, a
# file without a card or a corrupt one refused (exit 2) naming the field or the file; another
# commit only warned about. The same evaluation at another batch size and thread count agrees.
"$minigen" eval --samples "$work/npyset/samples.npy" --data "$npyset" --classifier "$work/npy-cls.safetensors" \
    --threads 2 --eval-batch 1 --json > "$work/npy-eval-b1.json" 2>/dev/null
ok "python3 -c \"import json; a=json.load(open('$work/npy-eval.json')); b=json.load(open('$work/npy-eval-b1.json')); p=a['protocol']; assert p['generated']['count'] == 12 and p['preprocessing']['values'] == 'uint8 from the file, / 255' and p['reference']['count'] == 4 and len(p['feature_extractor']['sha256']) == 64 and 'commit' in p['minigen'], p; a.pop('seconds', 0); b.pop('seconds', 0); assert a == b, (a, b)\"" \
   "eval --samples: no protocol card, or --eval-batch 1 --threads 2 changed the results"
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
a = json.load(open(os.path.join(w, "npy-eval.json")))
def save(name, j): json.dump(j, open(os.path.join(w, name), "w"))
b = json.loads(json.dumps(a)); b["fid"] = 123.5; save("cmp-b.json", b)
c = json.loads(json.dumps(a)); c["protocol"]["generated"]["seed"] = 7; c["protocol"]["metrics"]["pr_k"] = 5; save("cmp-seed.json", c)
d = json.loads(json.dumps(a)); d["protocol"]["minigen"]["commit"] = "0" * 40; save("cmp-commit.json", d)
e = json.loads(json.dumps(a)); del e["protocol"]; save("cmp-old.json", e)
open(os.path.join(w, "cmp-corrupt.json"), "w").write(json.dumps(a)[:100])
PY
expect 0 "^fid .* 123\.5" -- eval --compare "$work/npy-eval.json" "$work/cmp-b.json"
expect 0 "\"metrics\"" -- eval --compare "$work/npy-eval.json" "$work/cmp-b.json" --json
expect 2 "generated.seed: 0 in .*npy-eval.json, 7 in .*cmp-seed.json" -- eval --compare "$work/npy-eval.json" "$work/cmp-seed.json"
expect 2 "metrics.pr_k: 3 in .*npy-eval.json, 5 in .*cmp-seed.json" -- eval --compare "$work/npy-eval.json" "$work/cmp-seed.json"
expect 2 "protocols differ \(generated.seed, metrics.pr_k\)" -- eval --compare "$work/npy-eval.json" "$work/cmp-seed.json"
expect 0 "warning: protocol field minigen.commit" -- eval --compare "$work/npy-eval.json" "$work/cmp-commit.json"
expect 2 "cmp-old.json: has no protocol card: rerun minigen eval" -- eval --compare "$work/npy-eval.json" "$work/cmp-old.json"
expect 2 "cmp-corrupt.json" -- eval --compare "$work/npy-eval.json" "$work/cmp-corrupt.json"
expect 2 "two or more eval results" -- eval --compare "$work/npy-eval.json"
expect 2 "no such file|cannot open|does not exist" -- eval --compare "$work/npy-eval.json" "$work/none.json"
expect 2 "no classifier of .*npy:.*minigen train classifier --data npy:.*--save-reference" -- \
    eval --samples "$work/npyset/samples.npy" --data "$npyset" --threads 1
expect 2 "no classifier of .*npy:" -- train dcgan --data "$npyset" --image-size 16 --eval 8 --steps 1 --threads 1 \
    --out "$work/npy-dcgan"
ok "[ ! -e '$work/npy-dcgan/checkpoint.safetensors' ]" "train --eval without a classifier of the data trained anyway"
expect 0 "checkpoint" -- train dcgan --data "$npyset" --image-size 16 --eval 8 --classifier "$work/npy-cls.safetensors" \
    --steps 1 --batch-size 8 --threads 1 --no-report --out "$work/npy-dcgan"
ok "grep -q '\"fid\"' '$work/npy-dcgan/metrics.jsonl'" "train --eval --classifier FILE logged no FID"
expect 2 "--cas: 'dcgan' is not a conditional model" -- eval dcgan --checkpoint "$work/npy-dcgan/checkpoint.safetensors" \
    --cas --threads 1
expect 2 "samples must be images \\[N, 1, H, W\\]" -- eval --samples "$work/npyset/samples.npy" --threads 1
unset MINIGEN_CACHE_DIR

# Hostile input files: exit 2 and one line naming the file; a FIFO is refused, never waited on
# (a wrapper with a timeout turns a hang into a failure).
printf '#!/bin/sh\nexec timeout 60 "%s" "$@"\n' "$minigen" > "$work/minigen-with-timeout"
chmod +x "$work/minigen-with-timeout"
real_minigen="$minigen"; minigen="$work/minigen-with-timeout"
mkfifo "$work/input-fifo"
ln -s "$work/loop" "$work/loop"
expect 2 "--config $work/input-fifo: is a FIFO, not a regular file" -- train gan2d --config "$work/input-fifo" --out "$work/h1"
expect 2 "$work/input-fifo: is a FIFO" -- sample gan2d --checkpoint "$work/input-fifo"
expect 2 "$work/input-fifo: is a FIFO" -- eval gan2d --checkpoint "$work/input-fifo"
expect 2 "--samples $work/input-fifo: is a FIFO" -- eval --samples "$work/input-fifo"
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

# minigen data export: an image set's split as .npy, exactly the images training sees. A tiny
# npy: set of 30 RGB 64x64 images in 3 classes (the 10th of each class held out: 3 test images).
export MINIGEN_CACHE_DIR="$work/cache"
python3 - "$work/tiny" <<'PY'
import struct, sys
def npy(path, descr, shape, data):
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    head += " " * (-(10 + len(head) + 1) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + data)
n = 30
npy(sys.argv[1] + "_images.npy", "|u1", (n, 3, 64, 64), bytes((i * 37 + p * 11 + (p >> 12) * 50) % 256 for i in range(n) for p in range(3 * 64 * 64)))
npy(sys.argv[1] + "_labels.npy", "<i8", (n,), b"".join(struct.pack("<q", i % 3) for i in range(n)))
PY
tiny="npy:$work/tiny_images.npy,labels=$work/tiny_labels.npy"
py_ok() {  # py_ok MESSAGE ARGS... <<'PY' (a Python check on stdin that must pass)
    local message="$1"; shift
    if python3 - "$@"; then passes=$((passes + 1)); else echo "FAIL: $message"; failures=$((failures + 1)); fi
}
# npy_summary FILE: "dtype shape" from the header (no numpy needed)
npy_summary() {
    python3 - "$1" <<'PY'
import ast, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<H", b[8:10])[0]
h = ast.literal_eval(b[10:10 + n].decode())
print(h["descr"], list(h["shape"]))
PY
}
expect 0 "ex_train.npy: 27 images uint8 \[27, 3, 64, 64\] \(train split of .*\), 3 classes; labels int64 \[27\]" -- \
    data export --data "$tiny" --out "$work/ex_train.npy" --labels "$work/ex_train_labels.npy"
expect 0 "\"images\":3" -- data export --data "$tiny" --split test --out "$work/ex_test.npy" --json
expect 0 "\"shape\":\[30,1,32,32\]" -- data export --data "$tiny" --split all --image-size 32 --channels 1 --out "$work/ex_all32.npy" --json
expect 0 "30 images" -- data export --data "$tiny" --split all --out "$work/ex_all.npy" --labels "$work/ex_all_labels.npy"
ok "[ \"\$(npy_summary '$work/ex_train.npy')\" = '|u1 [27, 3, 64, 64]' ] && [ \"\$(npy_summary '$work/ex_train_labels.npy')\" = '<i8 [27]' ]" \
   "data export: the train split's files have the wrong type or shape"
# The images and labels are the source's own, unchanged at their size; the split is held out
# as training does it (the same images every time), train and test together are all of them.
py_ok "data export: the exported split is not the source's images and labels" "$work" <<'PY'
import struct, sys
d = sys.argv[1]
def data(name):
    b = open(d + '/' + name, 'rb').read()
    return b[10 + struct.unpack('<H', b[8:10])[0]:]
src, size = data('tiny_images.npy'), 3 * 64 * 64
imgs = lambda b: [b[i:i + size] for i in range(0, len(b), size)]
labs = lambda b: [struct.unpack('<q', b[i:i + 8])[0] for i in range(0, len(b), 8)]
assert data('ex_all.npy') == src and labs(data('ex_all_labels.npy')) == [i % 3 for i in range(30)]
train, test = imgs(data('ex_train.npy')), imgs(data('ex_test.npy'))
assert sorted(train + test) == sorted(imgs(src)) and not set(train) & set(test)
assert labs(data('ex_train_labels.npy')) == [imgs(src).index(x) % 3 for x in train]
PY
expect 0 "Usage" -- data export --help
expect 2 "--data fashion-mnist: not an image data set" -- data export --data fashion-mnist --out "$work/ex_bad.npy"
expect 2 "--out .*: directory .*no-dir.* does not exist" -- data export --data "$tiny" --out "$work/no-dir/x.npy"
expect 2 "--out .*: is a directory" -- data export --data "$tiny" --out "$work"
expect 2 "--labels .*: the same file as --out" -- data export --data "$tiny" --out "$work/ex_same.npy" --labels "$work/ex_same.npy"
expect 2 "--split" -- data export --data "$tiny" --split validation --out "$work/ex_bad.npy"
expect 2 "--image-size" -- data export --data "$tiny" --image-size 0 --out "$work/ex_bad.npy"
expect 2 "--out.*required|required.*--out" -- data export --data "$tiny"
expect 2 "missing_images.npy" -- data export --data "npy:$work/missing_images.npy" --out "$work/ex_bad.npy"
cp "$work/ex_test.npy" "$work/ex_keep.npy"; keep_sum="$(cksum < "$work/ex_keep.npy")"
expect 2 "missing_images.npy" -- data export --data "npy:$work/missing_images.npy" --out "$work/ex_keep.npy"
ok "[ ! -e '$work/ex_bad.npy' ] && [ \"\$(cksum < '$work/ex_keep.npy')\" = '$keep_sum' ]" \
   "a failed data export wrote or damaged its --out file"
# The PyTorch reference's networks are minigen's (tests/reference/make_gan_network_fixture.py):
# every parameter and buffer of G and D with the same name and shape in a checkpoint minigen
# writes for the same model, size and options.
fixture="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/reference/fixtures/gan_networks.json"
for case in dcgan-rgb32 dcgan-rgb64 cgan-w32-rgb64; do
    python3 -c "import json,sys; c=json.load(open(sys.argv[1]))[sys.argv[2]]; json.dump(c['options'], open(sys.argv[3], 'w')); print(c['model'], c['image_size'], c['channels'])" \
        "$fixture" "$case" "$work/net-$case.json" > "$work/net-$case.txt"
    read -r model size channels < "$work/net-$case.txt"
    "$minigen" train "$model" --data "$tiny" --image-size "$size" --channels "$channels" --config "$work/net-$case.json" \
        --batch-size 2 --steps 1 --grid 1 --threads 1 --no-report --out "$work/net-$case" >/dev/null 2>&1
    py_ok "$case: minigen's networks differ from the PyTorch reference's (names or shapes)" \
        "$fixture" "$case" "$work/net-$case/checkpoint.safetensors" <<'PY'
import json, struct, sys
want = json.load(open(sys.argv[1]))[sys.argv[2]]
b = open(sys.argv[3], 'rb').read()
header = json.loads(b[8:8 + struct.unpack('<Q', b[:8])[0]])
got = {k[len('model.'):]: v['shape'] for k, v in header.items() if k.startswith('model.')}
for net in ('G', 'D'):
    mine = {k[2:]: s for k, s in got.items() if k.startswith(net + '.')}
    ref = want[net]['state_dict']
    diff = [(k, mine.get(k), ref.get(k)) for k in sorted(set(mine) | set(ref)) if mine.get(k) != ref.get(k)]
    assert not diff, f'{net} (name, minigen, PyTorch): {diff[:5]}'
PY
done
unset MINIGEN_CACHE_DIR

# Style transfer. stylize (Gatys): a few steps on two of the pictures above; a style or content
# image that cannot be read, a bad feature network or output folder: one line naming it, exit 2.
# fast-style (Johnson): trained 2 steps for one style image, then one forward pass per --input
# (a file or a folder); a bad --style-image or --input names the file; other models refuse --input.
content="$work/pairs/shapes/0.png" style_png="$work/pics/cats/0.png"
expect 0 "stylize.png" -- stylize --content "$content" --style "$style_png" --steps 3 --size 16 --threads 1 \
    --out "$work/stylize.png"
ok "[ \"\$(png_width '$work/stylize.png')\" -eq 16 ]" "stylize --size 16: the result is not 16 wide"
expect 0 "stylize.png" -- stylize --content "$content" --style "$style_png" --steps 2 --features fashion --threads 1 \
    --out "$work/stylize.png"
expect 2 "^minigen: error: --style: .*no-style.png" -- stylize --content "$content" --style "$work/no-style.png" --out "$work/s.png"
echo "not an image" > "$work/style.txt"
expect 2 "^minigen: error: --style: .*style.txt.*not a PNG or JPEG" -- stylize --content "$content" --style "$work/style.txt" --out "$work/s.png"
expect 2 "^minigen: error: --content: .*no-content.png" -- stylize --content "$work/no-content.png" --style "$style_png" --out "$work/s.png"
expect 2 "features 'vgg': expected emoji, fashion or random" -- stylize --content "$content" --style "$style_png" --features vgg --out "$work/s.png"
expect 2 "--out .*: directory .* does not exist" -- stylize --content "$content" --style "$style_png" --out "$work/none/s.png"
echo '{"width": 4, "residual_blocks": 1}' > "$work/fast.json"
expect 0 "checkpoint" -- train fast-style --data "folder:$work/pairs" --image-size 32 --batch-size 4 --steps 2 \
    --threads 1 --no-report --config "$work/fast.json" --style-image "$style_png" --out "$work/fast"
ok "python3 -c \"import json,hashlib; c=json.load(open('$work/fast/config.json'))['config']; assert c['style_sha256'] == hashlib.sha256(open('$style_png','rb').read()).hexdigest(), c\"" \
   "fast-style: config.json does not record the style image's SHA-256"
rm -f "$work/fast-in.png"; cp "$content" "$work/fast-in.png"
expect 0 "fast.png" -- sample fast-style --checkpoint "$work/fast/checkpoint.safetensors" --input "$work/fast-in.png" --out "$work/fast.png"
expect 0 "sample: 24 images" -- sample fast-style --checkpoint "$work/fast/checkpoint.safetensors" --input "$work/pairs/shapes" --out "$work/fast.png"
expect 2 "--input: .*no-input.png" -- sample fast-style --checkpoint "$work/fast/checkpoint.safetensors" --input "$work/no-input.png"
expect 2 "fast-style --style-image: .*no-style.png" -- train fast-style --data "folder:$work/pairs" --image-size 32 --steps 1 \
    --style-image "$work/no-style.png" --out "$work/bad-fast"
expect 2 "sample --input: model 'dcgan' cannot stylize images.*fast-style" -- sample dcgan --checkpoint "$work/img-dcgan/checkpoint.safetensors" --input "$content"

# The reduced-precision kernels: info names the instruction sets found and the active variants.
expect 0 "^lowp +(none|[a-z0-9_ ()]+); active: .*gemm_int8=(reference|avx512_vnni)" -- info

# The GEMM blocking: `minigen info` shows the caches and, per instruction set and dtype, the
# blocking and why; a bad MINIGEN_GEMM_BLOCKING is one line naming it; `bench --tune --quick`
# writes this CPU's tuned file (atomically: nothing else left in the folder), which info then
# uses; a corrupt or foreign tuned file is ignored with one warning naming it.
if "$minigen" info | grep -qE "^gemm "; then
    export MINIGEN_CACHE_DIR="$work/tune-cache"
    expect 0 "^caches +L1d [0-9]+ KiB.*, L2 [0-9]+ [KM]iB" -- info
    expect 0 "^gemm +avx[0-9]+ float32 [0-9]+x[0-9]+: mc [0-9]+, kc [0-9]+, nc [0-9]+ \(derived: L1d " -- info
    MINIGEN_GEMM_BLOCKING=28,17,64 expect 0 "float32 [0-9]+x[0-9]+: mc [0-9]+, kc 17, nc 64 \(env MINIGEN_GEMM_BLOCKING=28,17,64\)" -- info
    MINIGEN_GEMM_BLOCKING=336,256 expect 2 "^minigen: error: MINIGEN_GEMM_BLOCKING: '336,256' is not three integers" -- info
    MINIGEN_GEMM_BLOCKING=336,0,4096 expect 2 "MINIGEN_GEMM_BLOCKING: '336,0,4096' is out of bounds" -- bench --tune --quick
    expect 0 "wrote .*/tune-cache/tune/[a-z0-9_]+\.json" -- bench --tune --quick --threads 1
    tuned=("$work"/tune-cache/tune/*)
    if [ "${#tuned[@]}" -ne 1 ] || [ ! -f "${tuned[0]}" ]; then
        echo "FAIL: bench --tune left ${tuned[*]}"; failures=$((failures + 1))
    else
        passes=$((passes + 1))
        expect 0 "float32 [0-9]+x[0-9]+: .*\(tuned file ${tuned[0]}\)" -- info
        echo '{"cpu_model": "Some Other CPU", "blocking": {}}' > "${tuned[0]}"
        expect 0 "warning: ignoring the tuned GEMM blocking ${tuned[0]}: tuned for 'Some Other CPU'" -- info
        echo '{"cpu_model": ' > "${tuned[0]}"
        expect 0 "warning: ignoring the tuned GEMM blocking ${tuned[0]}: " -- info
        expect 0 "float32 [0-9]+x[0-9]+: .*\(derived: " -- info
    fi
    unset MINIGEN_CACHE_DIR
else
    passes=$((passes + 1))  # no SIMD GEMM to block on this CPU
fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
