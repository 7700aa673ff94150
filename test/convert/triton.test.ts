// Triton's config.pbtxt, read back by our protobuf text parser against Triton's ModelConfig schema (the fields
// config.pbtxt uses, names, numbers and enum values transcribed from triton-inference-server/common
// protobuf/model_config.proto), so a misspelt field or enum value fails here as it would in Triton; and the
// model folder's all-or-nothing write.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configDims, hasOpenBatch, tritonConfigText, writeTritonModel, type TritonConfig } from '../../src/convert/triton.js';
import type { Message } from '../../src/io/message.js';
import type { EnumInfo, FieldInfo, FieldKind, MessageInfo, Schema } from '../../src/io/schema.js';
import { parseText } from '../../src/io/text/parse.js';
import { tempDir } from '../helpers.js';

const TRITON = new Set(['triton']);

function enumInfo(name: string, values: [string, number][]): EnumInfo {
  return {
    name, byName: new Map(values), byNumber: new Map(values.map(([k, v]) => [v, k])),
    dialects: new Map(values.map(([k]) => [k, TRITON])),
  };
}

type Spec = [name: string, number: number, kind: FieldKind | MessageInfo | EnumInfo, repeated?: boolean];

function messageInfo(name: string, specs: Spec[]): MessageInfo {
  const fields: FieldInfo[] = specs.map(([fname, number, kind, repeated]) => {
    const f: FieldInfo = { name: fname, number, kind: 'message', repeated: !!repeated, packed: false, dialects: TRITON };
    if (typeof kind === 'string') f.kind = kind;
    else if ('fields' in kind) f.message = kind;
    else {
      f.kind = 'enum';
      f.enum = kind;
    }
    return f;
  });
  return { name, fields, byNumber: new Map(fields.map((f) => [f.number, f])), byName: new Map(fields.map((f) => [f.name, f])) };
}

function tritonSchema(): Schema {
  const dataType = enumInfo('DataType', [
    ['TYPE_INVALID', 0], ['TYPE_BOOL', 1], ['TYPE_UINT8', 2], ['TYPE_UINT16', 3], ['TYPE_UINT32', 4], ['TYPE_UINT64', 5],
    ['TYPE_INT8', 6], ['TYPE_INT16', 7], ['TYPE_INT32', 8], ['TYPE_INT64', 9], ['TYPE_FP16', 10], ['TYPE_FP32', 11],
    ['TYPE_FP64', 12], ['TYPE_STRING', 13], ['TYPE_BF16', 14],
  ]);
  const kind = enumInfo('ModelInstanceGroup.Kind', [['KIND_AUTO', 0], ['KIND_GPU', 1], ['KIND_CPU', 2], ['KIND_MODEL', 3]]);
  const input = messageInfo('ModelInput', [['name', 1, 'string'], ['data_type', 2, dataType], ['dims', 4, 'int64', true]]);
  const output = messageInfo('ModelOutput', [['name', 1, 'string'], ['data_type', 2, dataType], ['dims', 3, 'int64', true], ['label_filename', 4, 'string']]);
  const batching = messageInfo('ModelDynamicBatching', [
    ['preferred_batch_size', 1, 'int32', true], ['max_queue_delay_microseconds', 2, 'uint64'], ['preserve_ordering', 3, 'bool'],
  ]);
  const group = messageInfo('ModelInstanceGroup', [['name', 1, 'string'], ['count', 2, 'int32'], ['gpus', 3, 'int32', true], ['kind', 4, kind]]);
  const config = messageInfo('ModelConfig', [
    ['name', 1, 'string'], ['platform', 2, 'string'], ['max_batch_size', 4, 'int32'], ['input', 5, input, true],
    ['output', 6, output, true], ['instance_group', 7, group, true], ['dynamic_batching', 11, batching], ['backend', 17, 'string'],
  ]);
  const messages = new Map([input, output, batching, group, config].map((m) => [m.name, m]));
  return { dialect: 'triton', messages, enums: new Map([[dataType.name, dataType], [kind.name, kind]]) };
}

const parseConfig = (text: string): Message => parseText(text, tritonSchema(), 'ModelConfig', 'config.pbtxt').message;
const dims = (t: Message) => (t.dims as (number | bigint)[]).map(Number);

const RESNET: TritonConfig = {
  name: 'resnet50', maxBatch: 8,
  inputs: [{ name: 'data', dataType: 'TYPE_FP32', dims: [3, 224, 224] }],
  outputs: [{ name: 'prob', dataType: 'TYPE_FP32', dims: [1000] }, { name: 'fc', dataType: 'TYPE_FP32', dims: [1000, 1, 1] }],
  instances: { count: 2, kind: 'KIND_CPU' },
};

describe('Triton config.pbtxt', () => {
  it('declares the platform, batch, tensors, batcher and instances in ModelConfig text', () => {
    const c = parseConfig(tritonConfigText(RESNET));
    assert.equal(c.name, 'resnet50');
    assert.equal(c.platform, 'onnxruntime_onnx');
    assert.equal(c.max_batch_size, 8);
    const inputs = c.input as Message[];
    assert.deepEqual(inputs.map((t) => [t.name, t.data_type, dims(t)]), [['data', 'TYPE_FP32', [3, 224, 224]]]);
    const outputs = c.output as Message[];
    assert.deepEqual(outputs.map((t) => [t.name, t.data_type, dims(t)]), [['prob', 'TYPE_FP32', [1000]], ['fc', 'TYPE_FP32', [1000, 1, 1]]]);
    assert.deepEqual(c.dynamic_batching, {});
    assert.deepEqual(c.instance_group, [{ count: 2, kind: 'KIND_CPU' }]);
  });

  it('sets the batcher delay in microseconds, and leaves the batcher out when the model does not batch', () => {
    const delayed = parseConfig(tritonConfigText({ ...RESNET, maxQueueDelayUs: 2500 }));
    assert.deepEqual(delayed.dynamic_batching, { max_queue_delay_microseconds: 2500 });
    const fixed = parseConfig(tritonConfigText({ ...RESNET, maxBatch: 0, inputs: [{ name: 'data', dataType: 'TYPE_FP32', dims: [1, 3, 224, 224] }] }));
    assert.equal(fixed.max_batch_size, 0);
    assert.equal(fixed.dynamic_batching, undefined);
    assert.deepEqual(dims((fixed.input as Message[])[0]), [1, 3, 224, 224]);
  });

  it('escapes names with quotes, backslashes and non-ASCII letters', () => {
    const odd = 'blob "x"\\ü';
    const c = parseConfig(tritonConfigText({ ...RESNET, inputs: [{ name: odd, dataType: 'TYPE_FP32', dims: [-1, 4] }] }));
    const t = (c.input as Message[])[0];
    assert.equal(t.name, odd);
    assert.deepEqual(dims(t), [-1, 4]);
  });

  it('drops the batch axis only when batching, and writes open axes as -1', () => {
    assert.equal(hasOpenBatch(['N', 3, 224, 224]), true);
    assert.equal(hasOpenBatch([-1, 10]), true);
    assert.equal(hasOpenBatch([1, 10]), false);
    assert.equal(hasOpenBatch([]), false);
    assert.deepEqual(configDims(['N', 3, 'h', 'w'], true), [3, -1, -1]);
    assert.deepEqual(configDims([2, 3, 5], false), [2, 3, 5]);
    assert.deepEqual(configDims(['N', 10], false), [-1, 10]);
  });
});

describe('writing the model folder', () => {
  const onnx = new Uint8Array([8, 7, 18, 0]);

  it('creates REPO/NAME/config.pbtxt and REPO/NAME/1/model.onnx, and nothing else beside REPO', () => {
    const dir = tempDir();
    const repo = join(dir, 'repo');
    assert.equal(writeTritonModel(repo, RESNET, onnx), join(repo, 'resnet50'));
    assert.deepEqual(readdirSync(dir), ['repo']);
    assert.deepEqual(readdirSync(repo), ['resnet50']);
    assert.deepEqual(readdirSync(join(repo, 'resnet50')).sort(), ['1', 'config.pbtxt']);
    assert.deepEqual([...readFileSync(join(repo, 'resnet50', '1', 'model.onnx'))], [...onnx]);
    assert.equal(readFileSync(join(repo, 'resnet50', 'config.pbtxt'), 'utf8'), tritonConfigText(RESNET));
  });

  it('adds a second model to an existing repository, refuses to replace one without force, replaces it with force', () => {
    const dir = tempDir();
    const repo = join(dir, 'repo');
    writeTritonModel(repo, RESNET, onnx);
    writeTritonModel(repo, { ...RESNET, name: 'other' }, onnx);
    assert.deepEqual(readdirSync(repo).sort(), ['other', 'resnet50']);
    assert.throws(() => writeTritonModel(repo, { ...RESNET, maxBatch: 4 }, onnx), /resnet50 already exists/);
    assert.match(readFileSync(join(repo, 'resnet50', 'config.pbtxt'), 'utf8'), /max_batch_size: 8\n/);
    writeFileSync(join(repo, 'resnet50', 'stale.txt'), 'from before');
    writeTritonModel(repo, { ...RESNET, maxBatch: 4 }, onnx, { force: true });
    assert.match(readFileSync(join(repo, 'resnet50', 'config.pbtxt'), 'utf8'), /max_batch_size: 4\n/);
    assert.equal(existsSync(join(repo, 'resnet50', 'stale.txt')), false);
    assert.deepEqual(readdirSync(dir), ['repo']);
  });

  it('refuses names that are not one folder, and leaves nothing behind when the write fails', () => {
    const dir = tempDir();
    for (const name of ['', '.', '..', 'a/b', '.hidden']) {
      assert.throws(() => writeTritonModel(join(dir, 'repo'), { ...RESNET, name }, onnx), /cannot be a Triton model name/);
    }
    assert.deepEqual(readdirSync(dir), []);
    // REPO is a file: the model folder cannot be renamed into it.
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'repo'), 'not a folder');
    assert.throws(() => writeTritonModel(join(dir, 'sub', 'repo'), RESNET, onnx), /cannot write/);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['repo']);
  });
});
