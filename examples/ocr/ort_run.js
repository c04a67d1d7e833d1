// ort_run.js: runs an ONNX model with onnxruntime-node on .npy inputs and
// writes its first output as .npy. The reference executor of ocr_example.py.
//
//   node ort_run.js MODEL.onnx OUT.npy NAME=IN.npy ...
//
// onnxruntime-node is resolved from NODE_PATH (ocr_example.py points it at
// its cache); .npy files: little-endian float32 / int64, C order.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
    .split(',').map(s => s.trim()).filter(s => s).map(Number);
  const data = buf.subarray(start + hlen);
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  if (descr === '<f4') return new ort.Tensor('float32', new Float32Array(ab), shape);
  if (descr === '<i8') return new ort.Tensor('int64', new BigInt64Array(ab), shape);
  throw new Error(`${file}: dtype ${descr} (expected <f4 or <i8)`);
}

function writeNpy(file, tensor) {
  if (tensor.type !== 'float32') throw new Error(`output type ${tensor.type}`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [model, out, ...inputs] = process.argv.slice(2);
  if (!model || !out) throw new Error('usage: node ort_run.js MODEL.onnx OUT.npy NAME=IN.npy ...');
  const feeds = {};
  for (const arg of inputs) {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new Error(`expected NAME=FILE, got '${arg}'`);
    feeds[arg.slice(0, eq)] = readNpy(arg.slice(eq + 1));
  }
  const session = await ort.InferenceSession.create(model);
  const result = await session.run(feeds);
  writeNpy(out, result[session.outputNames[0]]);
}

main().catch(e => {
  console.error(`ort_run.js: error: ${e.message}`);
  process.exit(1);
});
