// Every case in fixtures/onnx/ (made by fixtures/make_onnx_refs.py): the net exported to ONNX and run with
// ONNX Runtime must give the outputs of OpenCV's Caffe importer (or of a NumPy reference written from
// Caffe's formulas), within the case's tolerance.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { readNpy } from '../../src/io/npy.js';
import { loadNet, loadWeights } from '../../src/net/load.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { fixture } from '../helpers.js';
import { compare } from './compare.js';

interface Meta {
  inputs: string[];
  outputs: string[];
  reference: string;
  rtol: number;
  atol: number;
}

const dir = fixture('onnx');
const cases = existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, 'meta.json'))).sort() : [];

/** Exports the case's net (with a symbolic batch or not), runs it on the case's inputs, checks every output. */
async function checkCase(name: string, dynamicBatch: boolean): Promise<void> {
  const d = join(dir, name);
  const meta = JSON.parse(readFileSync(join(d, 'meta.json'), 'utf8')) as Meta;
  const { net } = loadNet(join(d, 'net.prototxt'));
  loadWeights(net, join(d, 'weights.caffemodel'));
  const session = await createSession(exportOnnx(net, { outputs: meta.outputs, dynamicBatch }).model);
  const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const input of meta.inputs) {
    const a = readNpy(readFileSync(join(d, `input_${input}.npy`)));
    feeds[input] = { data: a.data, dims: a.shape };
  }
  const out = await runSession(session, feeds);
  for (const o of meta.outputs) {
    const expected = readNpy(readFileSync(join(d, `expected_${o.replace(/\//g, '_')}.npy`)));
    assert.ok(out[o], `no output '${o}' (outputs: ${Object.keys(out).join(', ')})`);
    assert.deepEqual(out[o].dims, expected.shape, `${o}: shape`);
    const c = compare(out[o].data, expected.data, meta.rtol, meta.atol);
    assert.ok(c.worst <= 1, `${o}: off by ${c.diff} at ${c.at} (${out[o].data[c.at]} vs ${meta.reference} ${expected.data[c.at]})`);
  }
}

describe('ONNX export matches an independent Caffe forward', () => {
  for (const name of cases) it(name, () => checkCase(name, false));
});

describe('with a symbolic batch (run and serve export so) the same cases give the same outputs', () => {
  for (const name of ['inner_product_axis2', 'inner_product_4d', 'pool_ave_pad_overhang', 'conv_group_dilation'].filter((n) => cases.includes(n))) {
    it(name, () => checkCase(name, true));
  }
});
