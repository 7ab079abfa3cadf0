#!/usr/bin/env bash
# minigen export --format onnx, checked outside minigen: models trained for two steps are exported,
# each file must pass onnx.checker (Debian python3-onnx) and, run in ONNX Runtime (npm
# onnxruntime-node, tests/reference/onnx_run.js) on fixed inputs, give minigen's own samples for
# them within 1e-4. Then the exports that must fail, fail cleanly and leave no file.
# Usage: onnx_export_test.sh path/to/minigen
# Exit 77 (a skip) when this minigen was built without ONNX.
set -u
minigen="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0; passes=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The GANs sample from their EMA generator: the export must write that one.
echo '{"width": 8, "ema_decay": 0.5}' > "$work/gan.json"
echo '{"width": 8, "layers": 1, "kernel": 3}' > "$work/pixelcnn.json"
train() {  # train MODEL [--config FILE]: two steps, batch 8, into $work/MODEL
    local m="$1"; shift
    "$minigen" train "$m" --steps 2 --batch-size 8 --threads 1 --no-report --out "$work/$m" "$@" >"$work/$m.log" 2>&1 ||
        { fail "train $m: $(tail -1 "$work/$m.log")"; return 1; }
}

train dcgan --config "$work/gan.json" || exit 1
out="$("$minigen" export dcgan --checkpoint "$work/dcgan/checkpoint.safetensors" --out "$work/x.onnx" 2>&1)"
if grep -q "built without ONNX" <<<"$out"; then echo "skip: $out"; exit 77; fi

# The checker and ONNX Runtime are optional, like the emoji data: a missing one skips its part.
have_checker=1; $python -c "import onnx" 2>/dev/null || { have_checker=0; echo "skip: onnx.checker (no python3-onnx)"; }
have_ort=1
if ! command -v node >/dev/null; then have_ort=0; echo "skip: ONNX Runtime (no node)"; fi

check_file() {  # check_file FILE DIR TOLERANCE: onnx.checker, then ONNX Runtime against DIR/expected.npy
    local file="$1" dir="$2" tolerance="$3"
    if [ "$have_checker" = 1 ]; then
        if $python -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$file"; then
            passes=$((passes + 1))
        else
            fail "onnx.checker refuses $(basename "$file")"
        fi
    fi
    if [ "$have_ort" = 1 ]; then
        local rc
        node "$here/reference/onnx_run.js" check "$file" "$dir" "$tolerance"; rc=$?
        if [ "$rc" = 77 ]; then have_ort=0
        elif [ "$rc" = 0 ]; then passes=$((passes + 1))
        else fail "ONNX Runtime's output of $(basename "$file") differs from minigen's"
        fi
    fi
}

check_model() {  # check_model MODEL [train args...]: train, export with --check-dir, checker, ONNX Runtime
    local m="$1" dir="$work/check-$1"; shift
    [ -f "$work/$m/checkpoint.safetensors" ] || train "$m" "$@" || return
    mkdir -p "$dir"
    if ! "$minigen" export "$m" --checkpoint "$work/$m/checkpoint.safetensors" --out "$work/$m.onnx" --check-dir "$dir" \
            --check-count 4 >"$work/$m.export.log" 2>&1; then
        fail "export $m: $(cat "$work/$m.export.log")"; return
    fi
    passes=$((passes + 1))
    check_file "$work/$m.onnx" "$dir" 1e-4
}

check_model dcgan
check_model cgan --config "$work/gan.json"
check_model vae
check_model convvae
check_model pixelcnn --config "$work/pixelcnn.json"

# An int8 checkpoint (minigen quantize) exports as QDQ: QuantizeLinear / DequantizeLinear around
# each Linear / Conv / ConvTranspose input, its int8 weights through DequantizeLinear (per channel).
# ONNX Runtime computes the layer in float on the dequantized values, minigen in exact int32: the
# two differ by float32 rounding (~1e-7 of a layer's output), and where that moves a value across
# a rounding boundary of the next layer's QuantizeLinear (ONNX divides by the scale, minigen
# multiplies by its inverse), by one input level there: a_scale * max|w| per output, about 1e-4
# at these scales (measured: 4.5e-8 to 1.2e-7 here, 8.2e-5 with one such flip). Hence 1e-3.
check_int8() {  # check_int8 MODEL: quantize the trained MODEL, export, checker, ONNX Runtime
    local m="$1" dir="$work/check-$1-int8"
    mkdir -p "$dir"
    if ! "$minigen" quantize "$m" --checkpoint "$work/$m/checkpoint.safetensors" --calib 2 --calib-batch-size 8 \
            --out "$work/$m-int8.safetensors" >"$work/$m.quantize.log" 2>&1; then
        fail "quantize $m: $(cat "$work/$m.quantize.log")"; return
    fi
    if ! "$minigen" export "$m" --checkpoint "$work/$m-int8.safetensors" --out "$work/$m-int8.onnx" --check-dir "$dir" \
            --check-count 4 --json >"$work/$m.export-int8.log" 2>&1; then
        fail "export int8 $m: $(cat "$work/$m.export-int8.log")"; return
    fi
    grep -q '"QuantizeLinear"' "$work/$m.export-int8.log" && grep -q '"DequantizeLinear"' "$work/$m.export-int8.log" &&
        passes=$((passes + 1)) || fail "export int8 $m: no QDQ nodes: $(cat "$work/$m.export-int8.log")"
    check_file "$work/$m-int8.onnx" "$dir" 1e-3
}
check_int8 dcgan
check_int8 cgan
check_int8 vae

# expect CODE PATTERN -- ARGS...: exit code CODE and output matching PATTERN
expect() {
    local code="$1" pattern="$2"; shift 3
    local out rc
    out="$("$minigen" "$@" 2>&1)"; rc=$?
    if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
        fail "minigen $* -> exit $rc (want $code): $(head -3 <<<"$out")"
    else
        passes=$((passes + 1))
    fi
}
train gated-pixelcnn --config "$work/pixelcnn.json"
echo "an older export" > "$work/kept.onnx"
expect 2 "^minigen: error: export: model 'gated-pixelcnn' uses GatedPixelCnnNet .*which has no ONNX form yet" -- \
    export gated-pixelcnn --checkpoint "$work/gated-pixelcnn/checkpoint.safetensors" --out "$work/kept.onnx"
[ "$(cat "$work/kept.onnx")" = "an older export" ] && passes=$((passes + 1)) || fail "a failed export changed its --out file"
train gan2d
expect 2 "export: model 'gan2d' makes 2-D points, not images" -- export gan2d --checkpoint "$work/gan2d/checkpoint.safetensors" \
    --out "$work/y.onnx"
expect 2 "checkpoint of 'dcgan', not 'cgan'" -- export cgan --checkpoint "$work/dcgan/checkpoint.safetensors"
expect 2 "--format" -- export dcgan --checkpoint "$work/dcgan/checkpoint.safetensors" --format tflite
expect 2 "--check-dir .*not a directory" -- export dcgan --checkpoint "$work/dcgan/checkpoint.safetensors" \
    --out "$work/y.onnx" --check-dir "$work/none"
[ ! -e "$work/y.onnx" ] && passes=$((passes + 1)) || fail "a refused export wrote its --out file"
leftovers=("$work"/*.tmp.*)
[ ! -e "${leftovers[0]}" ] && passes=$((passes + 1)) || fail "temporaries left behind: ${leftovers[*]}"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
