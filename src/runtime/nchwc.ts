// ONNX Runtime's blocked convolution layout (NCHWc) on this CPU. ONNX Runtime rewrites a Conv into it only when
// the weights are constant; a training graph feeds them, so it asks for the layout itself (layers/conv-blocked.ts)
// and needs the block size MLAS picked for this CPU (16 with AVX-512, 8 with AVX2, none elsewhere). The size is
// found the way it is used: a blocked Conv with a candidate size must give a plain Conv's output exactly.
import ort from 'onnxruntime-node';
import { OnnxGraph } from '../convert/onnx/graph.js';
import { encodeModel } from '../convert/onnx/model.js';
import { blockedConv } from '../layers/conv-blocked.js';

let probe: Promise<number | undefined> | undefined;

/** The NCHWc block size of ONNX Runtime's CPU provider here, or undefined when it has none; asked once. */
export function nchwcBlockSize(): Promise<number | undefined> {
  probe ??= findBlockSize();
  return probe;
}

async function findBlockSize(): Promise<number | undefined> {
  const channels = 16;
  const shape = [1, channels, 3, 3];
  const x = Float32Array.from({ length: channels * 9 }, (_, i) => ((i * 37) % 23) - 11);
  const w = Float32Array.from({ length: channels * channels * 9 }, (_, i) => ((i * 53) % 17) - 8);
  for (const block of [16, 8]) {
    try {
      const g = new OnnxGraph(17);
      g.inputs.push({ name: 'x', shape, elemType: 1 }, { name: 'w', shape: [channels, channels, 3, 3], elemType: 1 });
      const attrs = { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
      g.node('Conv', ['x', 'w'], { outputs: ['plain'], attrs });
      blockedConv(g, 'blocked', 'x', 'w', [], attrs, channels, channels, block, 'blocked');
      g.outputs.push({ name: 'plain', shape }, { name: 'blocked', shape });
      const session = await ort.InferenceSession.create(encodeModel(g, { name: 'nchwc_probe', producerVersion: 'caffe-tool', doc: '' }), { logSeverityLevel: 4, graphOptimizationLevel: 'disabled' });
      const out = await session.run({ x: new ort.Tensor('float32', x, shape), w: new ort.Tensor('float32', w, [channels, channels, 3, 3]) });
      await session.release();
      const [a, b] = [out.plain.data as Float32Array, out.blocked.data as Float32Array];
      if (a.every((v, i) => v === b[i])) return block;
    } catch {
      // No NCHWc kernels in this build or for this size: try the next.
    }
  }
  return undefined;
}
