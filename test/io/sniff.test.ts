import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCaffeBytes, readCaffeFile } from '../../src/io/files.js';
import type { CaffeToolError } from '../../src/errors.js';
import { sniffEncoding } from '../../src/io/sniff.js';
import { fixture, readFixture } from '../helpers.js';

const formatted = (re: RegExp) => (e: CaffeToolError) => {
  assert.match(e.format(), re);
  return true;
};

describe('sniffing from content, not the extension', () => {
  it('tells text from binary, HDF5 and MAT files', () => {
    assert.equal(sniffEncoding(readFixture('nets', 'lenet_train_test.prototxt')), 'text');
    assert.equal(sniffEncoding(readFixture('binary', 'lenet_weights.caffemodel')), 'binary');
    assert.equal(sniffEncoding(readFixture('binary', 'datum.bin')), 'binary');
    assert.equal(sniffEncoding(Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0])), 'hdf5');
    assert.equal(sniffEncoding(Buffer.from('MATLAB 5.0 MAT-file, Platform: GLNXA64')), 'mat');
    assert.equal(sniffEncoding(Buffer.from('\ufeffname: "x"\n')), 'text');
    assert.equal(sniffEncoding(new Uint8Array(0)), 'empty');
  });

  it('tells nets, solvers, mean files, solver states and datums apart', () => {
    const kinds: [string[], string][] = [
      [['binary', 'lenet_weights.caffemodel'], 'net'], [['binary', 'v0_weights.caffemodel'], 'net'],
      [['binary', 'v1_weights.caffemodel'], 'net'], [['binary', 'mean_legacy.binaryproto'], 'blob'],
      [['binary', 'mean_shape.binaryproto'], 'blob'], [['binary', 'lenet_iter_1000.solverstate'], 'solverstate'],
      [['binary', 'datum.bin'], 'datum'], [['nets', 'lenet_train_test.prototxt'], 'net'],
      [['solvers', 'caffenet_solver.prototxt'], 'solver'], [['binary', 'mean_shape.binaryproto.protoc.txt'], 'blob'],
      [['binary', 'lenet_iter_1000.solverstate.protoc.txt'], 'solverstate'],
    ];
    for (const [parts, kind] of kinds) assert.equal(readCaffeFile(fixture(...parts)).kind, kind, parts.join('/'));
  });

  it('detects the fork of binary files written with the forks\' own schemas', () => {
    for (const d of ['segnet', 'enet', 'pspnet', 'deeplab', 'ssd', 'fast-rcnn', 'nvcaffe'] as const) {
      const file = readCaffeFile(fixture('dialects', `${d}.caffemodel`));
      assert.equal(file.dialect, d);
      assert.equal(readCaffeFile(fixture('dialects', `${d}.prototxt`)).dialect, d);
    }
    assert.equal(readCaffeFile(fixture('binary', 'lenet_weights.caffemodel')).dialect, 'bvlc');
  });

  it('decodes a fork file as that fork when told to, and misreads it as another only when forced', () => {
    const segnet = readCaffeFile(fixture('dialects', 'segnet.caffemodel'), { dialect: 'segnet' }).message;
    const up = (segnet.layer as Record<string, unknown>[]).find((l) => l.type === 'Upsample')!;
    assert.ok(up.upsample_param);
    assert.throws(() => readCaffeFile(fixture('dialects', 'enet.caffemodel'), { dialect: 'bvlc' }), formatted(/enet\.caffemodel: layer\[0\]: /));
  });

  it('names a swapped model and weights', () => {
    assert.throws(() => readCaffeFile(fixture('binary', 'lenet_weights.caffemodel'), { encoding: 'text' }),
      formatted(/lenet_weights\.caffemodel: this is a binary file, but a text \.prototxt was expected here\n {2}hint: did you swap the model and the weights/));
    assert.throws(() => readCaffeFile(fixture('nets', 'lenet.prototxt'), { encoding: 'binary' }),
      formatted(/lenet\.prototxt: this is a text file, but a binary file .* was expected here/));
  });
});

describe('bad binary input: a clear error, never a crash', () => {
  const bytes = readFixture('binary', 'lenet_weights.caffemodel');
  const fails = (b: Uint8Array, re: RegExp) => assert.throws(() => readCaffeBytes(b, { kinds: ['net'], file: 'x.caffemodel' }), formatted(re));

  it('truncated files', () => {
    for (const cut of [bytes.length - 1, bytes.length - 4000, 1000, 60]) fails(bytes.subarray(0, cut), /^x\.caffemodel: .*(truncated|do not parse)/);
  });
  it('wrong wire types', () => {
    // NetParameter.name (field 1) as a varint: key 0x08.
    fails(Uint8Array.from([0x08, 0x05]), /field 1 \(name\) has wire type varint, but the schema says string/);
  });
  it('absurd lengths', () => {
    // layer (field 100, key a2 06) claiming 2^34 bytes.
    fails(Uint8Array.from([0xa2, 0x06, 0x80, 0x80, 0x80, 0x80, 0x40, 1, 2, 3]), /(absurd|truncated|do not parse)/);
  });
  it('binary garbage', () => {
    let seed = 1;
    const junk = Uint8Array.from({ length: 5000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    fails(junk, /^x\.caffemodel: /);
  });
  it('an empty file', () => {
    assert.throws(() => readCaffeBytes(new Uint8Array(0), { file: 'e.caffemodel' }), formatted(/^e\.caffemodel: the file is empty/));
  });
});
