// The MAT v5 reader against files scipy.io.savemat wrote (fixtures/make_matlab.py), and the writer against
// the reader and against a file scipy.io.loadmat checked (fixtures/matlab/tiny_to_matlab.mat).
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { CaffeToolError } from '../../src/errors.js';
import { encodeMat, isMatlabName, type MatArray, type MatNumeric, matToFloat32, matVersion, parseMat, readMatFile } from '../../src/io/mat.js';
import { fixture, fixtureValue, readFixture } from '../helpers.js';

const numeric = (a: MatArray | undefined): MatNumeric => {
  assert.ok(a && a.kind === 'numeric', `expected a numeric array, got ${a?.kind}`);
  return a;
};

/** Blob k of fixtures/make_matlab.py (conv1 w = 0, b = 1, ...) in Caffe's row-major order. */
const blobValue = (k: number, i: number) => fixtureValue(1000 * k + i);

/** Element (r, c) of a column-major rows x cols array. */
const at2 = (data: ArrayLike<number>, rows: number, r: number, c: number) => data[r + rows * c];

describe('MAT v5 reader', () => {
  for (const file of ['tiny_reversed.mat', 'tiny_reversed_z.mat']) {
    it(`reads scipy's ${file.endsWith('_z.mat') ? 'compressed' : 'uncompressed'} file: names, classes, dims, column-major values`, () => {
      const mat = readMatFile(fixture('matlab', file));
      assert.equal(mat.littleEndian, true);
      assert.match(mat.header, /^MATLAB 5\.0 MAT-file/);
      assert.deepEqual(mat.variables.map((v) => v.name).sort(), [
        'bn1_mean', 'bn1_scale_factor', 'bn1_variance', 'conv1_b', 'conv1_w', 'conv2_2x2_b', 'conv2_2x2_w', 'ip1_b', 'ip1_w',
      ]);
      const w = numeric(mat.variables.find((v) => v.name === 'ip1_w')!.value);
      assert.equal(w.class, 'single');
      assert.deepEqual(w.dims, [125, 6]);
      // ip1_w is B.T for the 6x125 blob B (blob 7): element (r, c) of the 125x6 array is B[c][r].
      for (const [r, c] of [[0, 0], [1, 0], [0, 1], [124, 5], [7, 3]]) assert.equal(at2(w.data as Float32Array, 125, r, c), blobValue(7, c * 125 + r));
      const b = numeric(mat.variables.find((v) => v.name === 'conv1_b')!.value);
      assert.deepEqual(b.dims, [4, 1]);
      assert.deepEqual([...(b.data as Float32Array)], [0, 1, 2, 3].map((i) => blobValue(1, i)));
      // The memory of a reversed array is the Caffe blob's memory, value for value.
      const conv = numeric(mat.variables.find((v) => v.name === 'conv1_w')!.value);
      assert.deepEqual(conv.dims, [3, 3, 3, 4]);
      for (let i = 0; i < 108; i++) assert.equal(conv.data[i], blobValue(0, i));
    });
  }

  it('reads doubles (tiny_colmajor.mat) and an N x C x H x W array in column-major order', () => {
    const mat = readMatFile(fixture('matlab', 'tiny_colmajor.mat'));
    const w = numeric(mat.variables.find((v) => v.name === 'conv1_w')!.value);
    assert.equal(w.class, 'double');
    assert.deepEqual(w.dims, [4, 3, 3, 3]);
    // Element (n, c, h, x) sits at n + 4*(c + 3*(h + 3*x)) and is B[n][c][h][x] = value(((n*3 + c)*3 + h)*3 + x).
    for (const [n, c, h, x] of [[0, 0, 0, 1], [1, 0, 0, 0], [3, 2, 1, 0], [2, 1, 2, 2]]) {
      assert.equal(w.data[n + 4 * (c + 3 * (h + 3 * x))], blobValue(0, ((n * 3 + c) * 3 + h) * 3 + x));
    }
    assert.ok(matToFloat32(w, 'conv1_w') instanceof Float32Array);
  });

  for (const file of ['tiny_struct.mat', 'tiny_struct_z.mat']) {
    it(`reads a struct per layer, a cell array and a char array (${file})`, () => {
      const mat = readMatFile(fixture('matlab', file));
      const conv = mat.variables.find((v) => v.name === 'conv1')!.value;
      assert.equal(conv.kind, 'struct');
      if (conv.kind !== 'struct') return;
      assert.deepEqual(conv.dims, [1, 1]);
      assert.deepEqual([...conv.fields].sort(), ['b', 'w']);
      assert.deepEqual(numeric(conv.elements[0].get('w')).dims, [3, 3, 3, 4]);
      const conv2 = mat.variables.find((v) => v.name === 'conv2_2x2')!.value;
      assert.ok(conv2.kind === 'struct');
      const bias = numeric(conv2.elements[0].get('bias'));
      assert.equal(bias.class, 'double');
      assert.deepEqual([...bias.data], [0, 1, 2, 3, 4].map((i) => blobValue(6, i)));
      const cell = mat.variables.find((v) => v.name === 'ip1')!.value;
      assert.ok(cell.kind === 'cell');
      assert.deepEqual(cell.dims, [1, 2]);
      assert.deepEqual(numeric(cell.cells[0]).dims, [125, 6]);
      assert.deepEqual(numeric(cell.cells[1]).dims, [6, 1]);
      const note = mat.variables.find((v) => v.name === 'note')!.value;
      assert.ok(note.kind === 'char');
      assert.equal(note.text, 'caffe-tool fixture: a struct per layer');
    });
  }

  it('keeps a sparse array as unsupported and names the variable and byte offset when it is used', () => {
    const mat = readMatFile(fixture('matlab', 'tiny_sparse.mat'));
    const v = mat.variables.find((x) => x.name === 'conv1_w')!;
    assert.equal(v.value.kind, 'unsupported');
    assert.throws(() => matToFloat32(v.value, `'conv1_w'`), /'conv1_w' is a sparse array \(element at byte 128\), not a numeric array/);
    // The variables after it are read all the same.
    assert.deepEqual(numeric(mat.variables.find((x) => x.name === 'ip1_b')!.value).dims, [6, 1]);
  });

  it('refuses v7.3 (HDF5), headerless (v4) and cut-short files with what and where', () => {
    const v73 = Buffer.alloc(1024);
    v73.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .', 0, 'latin1');
    v73.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 512);
    assert.equal(matVersion(v73), 'v7.3');
    assert.throws(() => parseMat(v73), /MATLAB v7\.3 MAT-file \(HDF5 inside\)/);
    assert.throws(() => parseMat(Buffer.from([0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0])), /not a MAT v5 file/);
    const whole = readFixture('matlab', 'tiny_reversed.mat');
    const cut = whole.subarray(0, 1000);
    assert.throws(() => parseMat(cut), (e: unknown) => e instanceof CaffeToolError && /the file is cut short: .* at byte \d+ needs \d+ bytes/.test(e.message));
    // A compressed element whose zlib stream is damaged.
    const z = Buffer.from(readFixture('matlab', 'tiny_reversed_z.mat'));
    z.fill(0x55, 140, 180);
    assert.throws(() => parseMat(z), /the compressed element at byte 128 does not inflate/);
  });
});

describe('MAT v5 writer', () => {
  it('writes what the reader reads back: names, dims, single and double, compressed or not', () => {
    const w = Float32Array.from({ length: 24 }, (_, i) => i / 4);
    const d = Float64Array.from([1.5, -2.25, 3]);
    for (const compress of [false, true]) {
      const bytes = Buffer.concat(encodeMat([{ name: 'conv1_w', dims: [2, 3, 4], data: w }, { name: 'b', dims: [3, 1], data: d }], { compress }));
      assert.equal(bytes.length % 8 === 0 || compress, true);
      const mat = parseMat(bytes);
      assert.deepEqual(mat.variables.map((v) => v.name), ['conv1_w', 'b']);
      const a = numeric(mat.variables[0].value);
      assert.equal(a.class, 'single');
      assert.deepEqual(a.dims, [2, 3, 4]);
      assert.deepEqual([...a.data], [...w]);
      const b = numeric(mat.variables[1].value);
      assert.equal(b.class, 'double');
      assert.deepEqual([...b.data], [1.5, -2.25, 3]);
    }
  });

  it('lays out an element as the MAT v5 format says (hand-checked bytes of a 1x1 single named x)', () => {
    const [head, ...rest] = encodeMat([{ name: 'x', dims: [1, 1], data: Float32Array.from([1]) }], { header: 'MATLAB 5.0 MAT-file' });
    assert.equal(head.length, 128);
    assert.equal(head.toString('latin1', 0, 19), 'MATLAB 5.0 MAT-file');
    assert.equal(head.readUInt16LE(124), 0x0100);
    assert.equal(head.toString('latin1', 126, 128), 'IM');
    const el = Buffer.concat(rest);
    const words = [...new Uint32Array(el.buffer.slice(el.byteOffset, el.byteOffset + el.length))];
    assert.deepEqual(words, [
      14, 56, // miMATRIX, 56 bytes: 16 flags + 16 dims + 8 name + 16 real part
      6, 8, 7, 0, // array flags: miUINT32, 8 bytes, mxSINGLE_CLASS, nzmax 0
      5, 8, 1, 1, // dims: miINT32, 8 bytes, 1 x 1
      (1 << 16) | 1, 0x78, // name: small element, miINT8, 1 byte, 'x'
      7, 4, 0x3f800000, 0, // real part: miSINGLE, 4 bytes, 1.0f, padding
    ]);
    // The same element inside miCOMPRESSED inflates to exactly these bytes.
    const [, tag, z] = encodeMat([{ name: 'x', dims: [1, 1], data: Float32Array.from([1]) }], { compress: true });
    assert.equal(tag.readUInt32LE(0), 15);
    assert.equal(tag.readUInt32LE(4), z.length);
    assert.ok(deflateSync(el).equals(z));
  });

  it('refuses names MATLAB cannot use and dims that do not match the data', () => {
    assert.equal(isMatlabName('conv1_w'), true);
    assert.equal(isMatlabName('conv1/w'), false);
    assert.equal(isMatlabName('1conv'), false);
    assert.equal(isMatlabName('a'.repeat(64)), false);
    assert.throws(() => encodeMat([{ name: 'conv1/w', dims: [1, 1], data: new Float32Array(1) }]), /not a valid MATLAB variable name/);
    assert.throws(() => encodeMat([{ name: 'w', dims: [2, 2], data: new Float32Array(3) }]), /dims 2x2 make 4 values, the data has 3/);
    assert.throws(() => encodeMat([{ name: 'w', dims: [3], data: new Float32Array(3) }]), /at least 2 dimensions/);
  });
});
