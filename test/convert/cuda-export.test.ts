// The export `run` and `serve` make for ONNX Runtime's CUDA provider (cuda: true) computes what the CPU's does,
// with none of the ops and attributes that provider runs on the CPU (test/cuda-ops.ts). CI has no GPU: both
// exports run here on the CPU provider.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx } from '../../src/convert/to-onnx.js';
import { parseCaffeText } from '../../src/io/files.js';
import { buildNet } from '../../src/net/net.js';
import { fillRandomWeights, seededUniform } from '../../src/net/weights.js';
import { createSession, runSession } from '../../src/runtime/session.js';
import { cpuOnly, optimizedOps } from '../cuda-ops.js';

// SegNet's dialect: max pooling with its mask and the unpooling from it, an AVE pooling whose last window hangs
// over the edge (8x8, 3x3 stride 2), and an ArgMax over the classes.
const NET = `name: "segnet_like"
input: "data" input_shape { dim: 2 dim: 3 dim: 16 dim: 16 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" top: "pool1_mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ave" type: "Pooling" bottom: "pool1" top: "ave" pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "up" type: "Upsample" bottom: "pool1" bottom: "pool1_mask" top: "up" upsample_param { scale: 2 } }
layer { name: "score" type: "Convolution" bottom: "up" top: "score" convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "argmax" type: "ArgMax" bottom: "score" top: "argmax" argmax_param { axis: 1 } }
`;

describe('the export for the CUDA provider', () => {
  it('gives the CPU export\'s outputs, with no op or attribute the CUDA provider runs on the CPU', async () => {
    const exportFor = (cuda: boolean) => {
      const file = parseCaffeText(NET, { kinds: ['net'] });
      const net = buildNet(file.message, { dialect: file.dialect });
      fillRandomWeights(net, 3);
      return exportOnnx(net, { cuda }).model;
    };
    const [cpuModel, cudaModel] = [exportFor(false), exportFor(true)];
    const cpuOps = await optimizedOps(cpuModel);
    for (const op of ['MaxUnpool', 'ArgMax(select_last_index)', 'AveragePool(unequal pads)']) assert.ok(cpuOps.has(op), `the CPU export has ${op}`);
    for (const op of await optimizedOps(cudaModel)) assert.ok(!cpuOnly(op), `the CUDA export has ${op}`);
    const next = seededUniform(5);
    // Whole numbers: ties in the pooling windows and in the arg-max, where the two formulations must agree too.
    const data = Float32Array.from({ length: 2 * 3 * 16 * 16 }, () => Math.floor(next() * 4));
    const [a, b] = await Promise.all([cpuModel, cudaModel].map(async (m) => runSession(await createSession(m), { data: { data, dims: [2, 3, 16, 16] } })));
    assert.deepEqual(Object.keys(a).sort(), ['argmax', 'ave']);
    for (const name of Object.keys(a)) {
      assert.deepEqual(b[name].dims, a[name].dims, name);
      let worst = 0;
      a[name].data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[name].data[i]))));
      assert.ok(worst <= 1e-5, `${name}: largest difference ${worst}`);
    }
  });
});
