// Whole real nets exported to ONNX against OpenCV's Caffe importer (fixtures/make_net_refs.py): the same
// seeded random weights (fillRandomWeights) and the same formula input on both sides.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { readNpy } from '../../src/io/npy.js';
import { loadNet } from '../../src/net/load.js';
import { fillRandomWeights } from '../../src/net/weights.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { fixture } from '../helpers.js';
import { compare } from './compare.js';

interface Meta {
  net: string;
  input: string;
  shape: number[];
  outputs: string[];
  seed: number;
}

/** x[i] = ((i * 7919) % 1000) / 500 - 1, as fixtures/make_net_refs.py makes it. */
function formulaInput(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1000) / 500 - 1;
  return x;
}

const dir = fixture('onnx_nets');
const nets = existsSync(dir) ? readdirSync(dir).sort() : [];

describe('whole nets exported to ONNX match OpenCV', () => {
  for (const name of nets) {
    it(name, async () => {
      const meta = JSON.parse(readFileSync(join(dir, name, 'meta.json'), 'utf8')) as Meta;
      const { net } = loadNet(fixture('nets', meta.net), { inputs: { [meta.input]: meta.shape } });
      fillRandomWeights(net, meta.seed);
      const session = await createSession(exportOnnx(net, { outputs: meta.outputs }).model);
      const n = meta.shape.reduce((a, b) => a * b, 1);
      const out = await runSession(session, { [meta.input]: { data: formulaInput(n), dims: meta.shape } });
      for (const o of meta.outputs) {
        const expected = readNpy(readFileSync(join(dir, name, `expected_${o.replace(/\//g, '_')}.npy`)));
        assert.deepEqual(out[o].dims, expected.shape);
        // Deep nets sum thousands of products in different orders: 1e-3 of the output's scale.
        let scale = 0;
        for (const v of expected.data) scale = Math.max(scale, Math.abs(v));
        const c = compare(out[o].data, expected.data, 1e-3, 1e-3 * scale);
        assert.ok(c.worst <= 1, `${o}: off by ${c.diff} at ${c.at} (${out[o].data[c.at]} vs OpenCV ${expected.data[c.at]})`);
      }
    });
  }
});
