import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeMessage } from '../../src/io/binary/decode.js';
import { encodeMessage } from '../../src/io/binary/encode.js';
import { decodeSource, FileSource, setInlineBytesForTests } from '../../src/io/binary/source.js';
import { blobData, blobShape } from '../../src/io/blob.js';
import { readCaffeBytes, readCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { UNKNOWN_FIELDS } from '../../src/io/message.js';
import { dialectSchema, messageInfo } from '../../src/io/schema.js';
import { fixture, fixtureValue, readFixture, tempDir } from '../helpers.js';

const bvlc = dialectSchema('bvlc');
const NET = messageInfo(bvlc, 'NetParameter');
const BLOB = messageInfo(bvlc, 'BlobProto');

const layers = (net: Message) => net.layer as Message[];
const byName = (net: Message, name: string) => layers(net).find((l) => l.name === name)!;

function checkFormula(data: Float32Array): void {
  for (let i = 0; i < data.length; i++) if (data[i] !== fixtureValue(i)) assert.fail(`value ${i}: ${data[i]} != ${fixtureValue(i)}`);
}

describe('binary codec against files written by python3-protobuf', () => {
  const binaries = [
    ['lenet_weights.caffemodel', 'NetParameter'], ['mean_legacy.binaryproto', 'BlobProto'], ['mean_shape.binaryproto', 'BlobProto'],
    ['lenet_iter_1000.solverstate', 'SolverState'], ['datum.bin', 'Datum'], ['v1_weights.caffemodel', 'NetParameter'],
    ['v0_weights.caffemodel', 'NetParameter'], ['double.caffemodel', 'NetParameter'], ['fp16.caffemodel', 'NetParameter'],
    ['unknown_fields.caffemodel', 'NetParameter'], ['floats.binaryproto', 'BlobProto'],
  ];
  for (const [name, type] of binaries) {
    it(`${name}: decode then encode is byte-identical`, () => {
      const bytes = readFixture('binary', name);
      const info = messageInfo(bvlc, type);
      const again = encodeMessage(decodeMessage(bytes, info), info);
      assert.ok(Buffer.from(again).equals(bytes), `${name} changed on re-encoding`);
    });
  }

  it('reads LeNet weights as Float32Arrays with the values written', () => {
    const net = readCaffeFile(fixture('binary', 'lenet_weights.caffemodel')).message;
    const conv2 = byName(net, 'conv2');
    const blobs = conv2.blobs as Message[];
    assert.deepEqual(blobShape(blobs[0]), [50, 20, 5, 5]);
    assert.ok(blobs[0].data instanceof Float32Array);
    assert.equal((blobs[0].data as Float32Array).length, 25000);
    checkFormula(blobs[0].data as Float32Array);
    checkFormula(blobs[1].data as Float32Array);
    assert.equal((conv2.convolution_param as Message).num_output, 50);
    assert.equal((conv2.param as Message[])[1].lr_mult, 2);
    assert.equal(byName(net, 'ip1').blobs, undefined);
  });

  it('shares memory with the input when the floats are aligned, copies them when not', () => {
    const bytes = readFixture('binary', 'mean_shape.binaryproto');
    for (const shift of [0, 1, 2, 3]) {
      const buf = new Uint8Array(bytes.length + 8);
      buf.set(bytes, shift);
      checkFormula(decodeMessage(buf.subarray(shift, shift + bytes.length), BLOB).data as Float32Array);
    }
    // Exactly one of the four shifts puts the floats on a 4-byte boundary, and that one is a view.
    const views = [0, 1, 2, 3].filter((shift) => {
      const buf = new Uint8Array(bytes.length + 8);
      buf.set(bytes, shift);
      return (decodeMessage(buf.subarray(shift, shift + bytes.length), BLOB).data as Float32Array).buffer === buf.buffer;
    });
    assert.equal(views.length, 1);
  });

  it('reads legacy mean files, solver states and datums', () => {
    const legacy = readCaffeFile(fixture('binary', 'mean_legacy.binaryproto'));
    assert.equal(legacy.kind, 'blob');
    assert.deepEqual(blobShape(legacy.message), [1, 3, 4, 5]);
    checkFormula(blobData(legacy.message));
    const state = readCaffeFile(fixture('binary', 'lenet_iter_1000.solverstate'));
    assert.equal(state.kind, 'solverstate');
    assert.equal(state.message.iter, 1000);
    assert.equal(state.message.current_step, 2);
    assert.equal(state.message.learned_net, 'snapshots/lenet_iter_1000.caffemodel');
    assert.deepEqual((state.message.history as Message[]).map(blobShape), [[20, 1, 5, 5], [20]]);
    const datum = readCaffeFile(fixture('binary', 'datum.bin'));
    assert.equal(datum.kind, 'datum');
    assert.equal(datum.message.label, 7);
    assert.deepEqual([...(datum.message.data as Uint8Array)], [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220]);
  });

  it('finds blobs where V1 and V0 nets keep them', () => {
    const v1 = readCaffeFile(fixture('binary', 'v1_weights.caffemodel')).message;
    const l1 = (v1.layers as Message[])[0];
    assert.equal(l1.type, 'CONVOLUTION');
    assert.deepEqual([...(l1.blobs_lr as number[])], [1, 2]);
    assert.deepEqual(blobShape((l1.blobs as Message[])[0]), [4, 1, 3, 3]);
    checkFormula((l1.blobs as Message[])[0].data as Float32Array);
    const v0 = readCaffeFile(fixture('binary', 'v0_weights.caffemodel')).message;
    const inner = (v0.layers as Message[])[0].layer as Message;
    assert.equal(inner.type, 'conv');
    assert.equal(inner.kernelsize, 3);
    assert.deepEqual(blobShape((inner.blobs as Message[])[1]), [1, 1, 1, 4]);
    checkFormula((inner.blobs as Message[])[1].data as Float32Array);
    assert.deepEqual([...(v0.input_dim as number[])], [1, 1, 8, 8]);
  });

  it('reads double_data and fp16 raw_data as float32', () => {
    const dbl = readCaffeFile(fixture('binary', 'double.caffemodel')).message;
    const b = (layers(dbl)[0].blobs as Message[])[0];
    assert.ok(b.double_data instanceof Float64Array);
    assert.deepEqual([...(b.double_data as Float64Array)], [0.1, -2.5, 1e-300, 1 / 3]);
    assert.deepEqual([...blobData(b)], [0.1, -2.5, 1e-300, 1 / 3].map(Math.fround));
    const fp16 = readCaffeFile(fixture('binary', 'fp16.caffemodel')).message;
    const h = (layers(fp16)[0].blobs as Message[])[0];
    assert.equal(h.raw_data_type, 'FLOAT16');
    assert.deepEqual([...blobData(h)], [1, -2, 0.5, 65504, 2 ** -24, 0, -0, 0.333251953125]);
  });

  it('a blob with both forms reads as Caffe\'s Blob::FromProto does: legacy dims if any is set, double_data if any', () => {
    const b = { shape: { dim: [6] }, num: 1, channels: 2, height: 3, data: Float32Array.from([1, 2]), double_data: Float64Array.from([0.5, 0.25]) };
    assert.deepEqual(blobShape(b), [1, 2, 3, 0]);
    assert.deepEqual([...blobData(b)], [0.5, 0.25]);
    assert.deepEqual(blobShape({ shape: { dim: [6, 1] } }), [6, 1]);
  });

  it('keeps negative int32 values and unknown fields', () => {
    const net = readCaffeFile(fixture('binary', 'unknown_fields.caffemodel')).message;
    const l = layers(net)[0];
    assert.equal((l.softmax_param as Message).axis, -1);
    assert.equal((l.loss_param as Message).ignore_label, -255);
    const unknown = net[UNKNOWN_FIELDS]!;
    assert.equal(unknown.length, 1);
    assert.equal(unknown[0].number, 999);
    assert.deepEqual([...unknown[0].raw], [0xb8, 0x3e, 0x2a]);
  });

  it('accepts blob data written unpacked, one float per field', () => {
    // BlobProto { data: 1.5 data: -2 } with data (field 5) as two unpacked fixed32 fields: key 0x2d each.
    const bytes = Uint8Array.from([0x2d, 0, 0, 0xc0, 0x3f, 0x2d, 0, 0, 0, 0xc0]);
    const blob = decodeMessage(bytes, BLOB);
    assert.deepEqual([...(blob.data as Float32Array)], [1.5, -2]);
    // Re-encoded the way the schema says: packed.
    assert.deepEqual([...encodeMessage(blob, BLOB)], [0x2a, 8, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
  });

  it('accepts repeated integers written packed although the schema does not pack them', () => {
    // ConvolutionParameter { pad: [1, 2] } packed: key (3 << 3 | 2) = 0x1a, length 2.
    const conv = decodeMessage(Uint8Array.from([0x1a, 2, 1, 2]), messageInfo(bvlc, 'ConvolutionParameter'));
    assert.deepEqual(conv.pad, [1, 2]);
  });

  it('streams large messages from a file and reads the same values', () => {
    const bytes = readFixture('binary', 'lenet_weights.caffemodel');
    const path = join(tempDir(), 'w.caffemodel');
    writeFileSync(path, bytes);
    const restore = setInlineBytesForTests(1024);
    try {
      const src = FileSource.open(path);
      const streamed = decodeSource(src, NET);
      src.close();
      assert.ok(Buffer.from(encodeMessage(streamed, NET)).equals(bytes));
      checkFormula((byName(streamed, 'conv2').blobs as Message[])[0].data as Float32Array);
    } finally {
      setInlineBytesForTests(restore);
    }
  });

  it('reads from memory like from a file', () => {
    const file = readCaffeBytes(readFixture('binary', 'lenet_weights.caffemodel'));
    assert.equal(file.kind, 'net');
    assert.equal(file.dialect, 'bvlc');
    assert.equal(layers(file.message).length, 11);
  });
});

describe('binary encoder', () => {
  it('writes the bytes protobuf defines, checked by hand', () => {
    // BlobShape { dim: [2, 300] } is packed int64: 0a 03 02 ac 02.
    assert.deepEqual([...encodeMessage({ dim: [2, 300] }, messageInfo(bvlc, 'BlobShape'))], [0x0a, 3, 2, 0xac, 2]);
    // A negative int32 takes ten bytes: SoftmaxParameter { axis: -1 } = 10 ff ff ff ff ff ff ff ff ff 01.
    assert.deepEqual([...encodeMessage({ axis: -1 }, messageInfo(bvlc, 'SoftmaxParameter'))], [0x10, ...Array(9).fill(0xff), 1]);
    // A field set to its default is still written (proto2 presence): ConvolutionParameter { bias_term: true }.
    assert.deepEqual([...encodeMessage({ bias_term: true }, messageInfo(bvlc, 'ConvolutionParameter'))], [0x10, 1]);
    // Enums by name: PoolingParameter { pool: AVE } = 08 01.
    assert.deepEqual([...encodeMessage({ pool: 'AVE' }, messageInfo(bvlc, 'PoolingParameter'))], [0x08, 1]);
  });

  it('names the field and its path when a value has the wrong type', () => {
    const net = { layer: [{ name: 'a' }, { name: 'b', convolution_param: { num_output: 'ten' } }] };
    assert.throws(() => encodeMessage(net, NET), (e: Error & { format(): string }) => {
      assert.match(e.format(), /layer\[1\]\.convolution_param\.num_output/);
      assert.match(e.format(), /uint32/);
      return true;
    });
    assert.throws(() => encodeMessage({ layer: [{ upsample_param: {} }] }, NET), /LayerParameter has no field 'upsample_param'/);
    assert.throws(() => encodeMessage({ pool: 'MEDIAN' }, messageInfo(bvlc, 'PoolingParameter')), /MEDIAN is not a value/);
    assert.throws(() => encodeMessage({ num_output: -1 }, messageInfo(bvlc, 'ConvolutionParameter')), /out of range/);
  });
});
