// What a graph for ONNX Runtime's CUDA provider must not hold: ops it has no kernel for (Col2Im, MaxUnpool, the
// NCHWc layout) and attributes it runs on the CPU (ArgMax's select_last_index, a ConvTranspose's unequal pads) or
// hands cuDNN wrongly (an AveragePool's unequal pads: the leading ones only). Read after ONNX Runtime's own
// provider-independent rewrites, which fold a Pad into the pooling after it, say.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { tempDir } from './helpers.js';

export const cpuOnly = (op: string) => op.startsWith('com.microsoft.nchwc')
  || ['Col2Im', 'MaxUnpool', 'ArgMax(select_last_index)', 'ConvTranspose(unequal pads)', 'AveragePool(unequal pads)'].includes(op);

/** The model's ops after ONNX Runtime's basic rewrites, marked where an attribute matters to the CUDA provider. */
export async function optimizedOps(model: Uint8Array): Promise<Set<string>> {
  const file = join(tempDir(), 'optimized.onnx');
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'basic', optimizedModelFilePath: file, logSeverityLevel: 4 });
  await session.release();
  const attr = (n: onnxProto.onnx.INodeProto, name: string) => n.attribute?.find((a) => a.name === name);
  const unequal = (n: onnxProto.onnx.INodeProto) => {
    const pads = (attr(n, 'pads')?.ints ?? []).map(Number);
    return pads.some((p, i) => p !== pads[i % (pads.length / 2)]);
  };
  return new Set(onnxProto.onnx.ModelProto.decode(readFileSync(file)).graph!.node!.map((n) => {
    if (n.domain) return `${n.domain}:${n.opType}`;
    if (Number(attr(n, 'select_last_index')?.i ?? 0)) return `${n.opType}(select_last_index)`;
    return (n.opType === 'ConvTranspose' || n.opType === 'AveragePool') && unequal(n) ? `${n.opType}(unequal pads)` : n.opType!;
  }));
}
