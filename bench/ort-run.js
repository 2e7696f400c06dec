#!/usr/bin/env node
// Runs a model in ONNX Runtime (onnxruntime-node, CPU) on .npy inputs: the
// reference outputs for tern's model tests and the baseline of its
// benchmarks.
//
//   node bench/ort-run.js MODEL.onnx --input NAME=FILE.npy ... [--output-dir DIR]
//        [--benchmark --warmup W --runs N] [--threads T] [--json] [--no-optimize]
//
// With --output-dir it writes each output as DIR/<name>.npy; with
// --benchmark it prints the median and minimum milliseconds of N runs
// (one JSON object with --json, the fields tern-run prints).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const DTYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array], '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array], '<u2': ['uint16', Uint16Array],
  '<u4': ['uint32', Uint32Array], '<u8': ['uint64', BigUint64Array], '<f2': ['float16', Uint16Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const [type, Ctor] = DTYPES[descr] || [];
  if (!type) throw new Error(file + ': dtype ' + descr + ' is not supported');
  const bytes = buf.subarray(start + headerLen);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  let data = new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
  if (type === 'bool') data = Uint8Array.from(data);
  return new ort.Tensor(type, type === 'bool' ? Array.from(data, v => !!v) : data, shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(DTYPES).find(k => DTYPES[k][0] === tensor.type);
  if (!descr) throw new Error('cannot write ' + tensor.type);
  const dims = tensor.dims.join(', ') + (tensor.dims.length === 1 ? ',' : '');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let data = tensor.data;
  if (tensor.type === 'bool') data = Uint8Array.from(data, v => (v ? 1 : 0));
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const args = process.argv.slice(2);
  const opts = { inputs: {}, outputDir: '', benchmark: false, warmup: 3, runs: 10, threads: 1, json: false };
  let model = '';
  for (let i = 0; i < args.length; ++i) {
    const a = args[i];
    const value = () => (a.includes('=') && a.startsWith('--') ? a.slice(a.indexOf('=') + 1) : args[++i]);
    const key = a.startsWith('--') ? a.split('=')[0] : a;
    if (key === '--input') { const v = value(); const eq = v.indexOf('='); opts.inputs[v.slice(0, eq)] = v.slice(eq + 1); }
    else if (key === '--output-dir') opts.outputDir = value();
    else if (key === '--benchmark') opts.benchmark = true;
    else if (key === '--json') opts.json = true;
    else if (key === '--no-optimize') opts.noOptimize = true;
    else if (key === '--warmup') opts.warmup = Number(value());
    else if (key === '--runs') opts.runs = Number(value());
    else if (key === '--threads') opts.threads = Number(value());
    else if (!model) model = a;
    else throw new Error('unexpected argument ' + a);
  }
  if (!model) throw new Error('usage: ort-run.js MODEL.onnx --input NAME=FILE.npy ... [--output-dir DIR]');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: opts.noOptimize ? 'disabled' : 'all',
  });
  const feeds = {};
  for (const name of session.inputNames) {
    if (!opts.inputs[name]) throw new Error('no value for input ' + name);
    feeds[name] = readNpy(opts.inputs[name]);
  }
  let results;
  if (opts.benchmark) {
    for (let i = 0; i < opts.warmup; ++i) await session.run(feeds);
    const ms = [];
    for (let i = 0; i < opts.runs; ++i) {
      const t0 = process.hrtime.bigint();
      results = await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
    const r = { model: path.basename(model), median_ms: median, min_ms: ms[0], runs: opts.runs, warmup: opts.warmup,
                threads: opts.threads };
    console.log(opts.json ? JSON.stringify(r) : `${r.model}: median ${median.toFixed(3)} ms, min ${ms[0].toFixed(3)} ms`);
  } else {
    results = await session.run(feeds);
  }
  if (opts.outputDir) {
    fs.mkdirSync(opts.outputDir, { recursive: true });
    for (const name of session.outputNames)
      writeNpy(path.join(opts.outputDir, name.replace(/\//g, '_') + '.npy'), results[name]);
  }
}

main().catch(e => { console.error('ort-run: error: ' + e.message); process.exit(2); });
