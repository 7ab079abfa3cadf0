#!/usr/bin/env node
// Runs an ONNX file written by `minigen export` in ONNX Runtime (the npm package onnxruntime-node,
// CPU), the second runtime the export is checked in.
//
//   node onnx_run.js check MODEL.onnx DIR [TOLERANCE]
//       feeds DIR/z.npy (and DIR/labels.npy, or DIR/x.npy) -- the draws `minigen export --check-dir`
//       wrote -- and compares the output with DIR/expected.npy, minigen's samples for them: prints
//       the largest absolute difference; exit 1 when it is over TOLERANCE (default 1e-4).
//   node onnx_run.js bench MODEL.onnx DIR REPS
//       samples/s of ONNX Runtime on those inputs at 1 thread (intraOpNumThreads = interOpNumThreads
//       = 1), one warm-up run then REPS timed runs; prints one JSON line.
//
// onnxruntime-node is looked up in $MINIGEN_NPM_DIR, else the cache folder tools/run installs it
// into (${MINIGEN_CACHE_DIR or $XDG_CACHE_HOME/minigen or ~/.cache/minigen}/npm). Without it: exit 77
// (a skip) with the reason.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');

function npmDir() {
    if (process.env.MINIGEN_NPM_DIR) return process.env.MINIGEN_NPM_DIR;
    const base = process.env.MINIGEN_CACHE_DIR ||
        (process.env.XDG_CACHE_HOME ? path.join(process.env.XDG_CACHE_HOME, 'minigen') : path.join(os.homedir(), '.cache', 'minigen'));
    return path.join(base, 'npm');
}

function loadOrt() {
    const where = path.join(npmDir(), 'node_modules', 'onnxruntime-node');
    try {
        return require(where);
    } catch (e) {
        console.log(`skip: no onnxruntime-node in ${where} (tools/run installs it): ${e.message.split('\n')[0]}`);
        process.exit(77);
    }
}

// A .npy file (format 1.x/2.x, little-endian float32 or int64, C order) -> {dtype, shape, data}.
function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
    const major = buf[6];
    const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = (major === 1 ? 10 : 12) + headerLen;
    const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
    const descr = /'descr':\s*'([^']+)'/.exec(header);
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
    if (!descr || !shape || /'fortran_order':\s*True/.test(header)) throw new Error(`${file}: unsupported header ${header}`);
    const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
    const count = dims.reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
    if (descr[1] === '<f4') return { dtype: 'float32', shape: dims, data: new Float32Array(bytes.buffer, 0, count) };
    if (descr[1] === '<i8') return { dtype: 'int64', shape: dims, data: new BigInt64Array(bytes.buffer, 0, count) };
    throw new Error(`${file}: dtype ${descr[1]} (want <f4 or <i8)`);
}

// The session's inputs from DIR: each input name's .npy.
function feeds(ort, session, dir) {
    const out = {};
    for (const name of session.inputNames) {
        const a = readNpy(path.join(dir, `${name}.npy`));
        out[name] = new ort.Tensor(a.dtype, a.data, a.shape);
    }
    return out;
}

async function main() {
    const [mode, model, dir, arg] = process.argv.slice(2);
    if (!['check', 'bench'].includes(mode) || !model || !dir) {
        console.error('usage: onnx_run.js check MODEL.onnx DIR [TOLERANCE] | bench MODEL.onnx DIR REPS');
        process.exit(2);
    }
    const ort = loadOrt();
    const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'],
    });
    const inputs = feeds(ort, session, dir);
    const run = async () => (await session.run(inputs))[session.outputNames[0]];
    if (mode === 'check') {
        const tolerance = arg === undefined ? 1e-4 : Number(arg);
        const got = await run();
        const want = readNpy(path.join(dir, 'expected.npy'));
        if (JSON.stringify(got.dims) !== JSON.stringify(want.shape)) {
            console.log(`FAIL: ONNX Runtime's output is [${got.dims}], minigen's [${want.shape}]`);
            process.exit(1);
        }
        let worst = 0;
        for (let i = 0; i < want.data.length; ++i) {
            const d = Math.abs(got.data[i] - want.data[i]);
            if (Number.isNaN(d)) { worst = NaN; break; }  // fails the comparison below
            if (d > worst) worst = d;
        }
        const ok = worst <= tolerance;
        console.log(`${ok ? 'ok' : 'FAIL'}: ${path.basename(model)}: max |onnxruntime - minigen| = ${worst.toExponential(3)} ` +
                    `over ${want.data.length} values (tolerance ${tolerance}; onnxruntime ${ort.env.versions.node})`);
        process.exit(ok ? 0 : 1);
    }
    const reps = Number(arg || 20);
    const batch = Object.values(inputs)[0].dims[0];
    await run();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; ++i) await run();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(JSON.stringify({ runtime: `onnxruntime-node ${ort.env.versions.node}`, batch, reps,
                                 samples_per_s: (reps * batch) / seconds }));
}

main().catch((e) => { console.error(`onnx_run.js: ${e.message}`); process.exit(1); });
