// NumPy .npy files: the tensors `run` reads and writes and the reference outputs tests compare with.
// Read: float32/float64/int and uint types, little- or big-endian, C or Fortran order; write: float32, C order.
import { CaffeToolError } from '../errors.js';

export interface NpyArray {
  data: Float32Array;
  shape: number[];
}

const MAGIC = '\x93NUMPY';

export function readNpy(bytes: Uint8Array, file = 'input'): NpyArray {
  const head = Buffer.from(bytes.subarray(0, 10)).toString('latin1');
  if (!head.startsWith(MAGIC)) throw new CaffeToolError(`${file} is not a .npy file (no \\x93NUMPY header)`);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([<>|=]?)([fiub])(\d+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shapeText) throw new CaffeToolError(`${file}: cannot read the .npy header '${header.trim()}'`);
  const shape = shapeText[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const [, endian, kind, sizeText] = descr;
  const size = Number(sizeText);
  const little = endian !== '>';
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (offset + n * size > bytes.length) throw new CaffeToolError(`${file}: the .npy data is cut short (${shape.join('x')} of ${kind}${size} needs ${n * size} bytes)`);
  const read: Record<string, (o: number) => number> = {
    f4: (o) => dv.getFloat32(o, little), f8: (o) => dv.getFloat64(o, little),
    i1: (o) => dv.getInt8(o), i2: (o) => dv.getInt16(o, little), i4: (o) => dv.getInt32(o, little), i8: (o) => Number(dv.getBigInt64(o, little)),
    u1: (o) => dv.getUint8(o), u2: (o) => dv.getUint16(o, little), u4: (o) => dv.getUint32(o, little), u8: (o) => Number(dv.getBigUint64(o, little)),
    b1: (o) => dv.getUint8(o),
  };
  const get = read[`${kind}${size}`];
  if (!get) throw new CaffeToolError(`${file}: .npy element type ${kind}${size} is not supported`);
  let data: Float32Array;
  if (kind === 'f' && size === 4 && little && (bytes.byteOffset + offset) % 4 === 0) {
    data = new Float32Array(bytes.buffer, bytes.byteOffset + offset, n).slice();
  } else {
    data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = get(offset + i * size);
  }
  return { data: order[1] === 'True' ? toCOrder(data, shape) : data, shape };
}

function toCOrder(data: Float32Array, shape: number[]): Float32Array {
  const out = new Float32Array(data.length);
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < data.length; f++) {
    // f walks Fortran order (first axis fastest); compute the C-order position of the same index.
    let c = 0;
    for (let a = 0; a < shape.length; a++) c = c * shape[a] + idx[a];
    out[c] = data[f];
    for (let a = 0; a < shape.length; a++) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

export function writeNpy(arr: NpyArray): Uint8Array {
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + arr.data.byteLength);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), 10 + header.length);
  return out;
}
