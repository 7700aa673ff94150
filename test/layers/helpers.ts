// Build a one-layer net around a layer definition, for shape tests worked out by hand.
import { parseCaffeText } from '../../src/io/files.js';
import type { Dialect } from '../../src/io/schema.js';
import type { BlobSpec, Shape } from '../../src/layers/types.js';
import { buildNet } from '../../src/net/net.js';

export interface LayerResult {
  tops: (Shape | undefined)[];
  learned: BlobSpec[] | undefined;
  macs: number | undefined;
}

/**
 * `layer` is the text inside `layer { ... }`; `inputs` maps the bottoms it names to their shapes.
 * Example: run('type: "ReLU" bottom: "x" top: "y"', { x: [1, 3, 4, 4] }).
 */
export function run(layer: string, inputs: Record<string, Shape>, opts: { dialect?: Dialect; phase?: 'TRAIN' | 'TEST' } = {}): LayerResult {
  const input = Object.entries(inputs).map(([name, shape]) => `input: "${name}"\ninput_shape { ${shape.map((d) => `dim: ${d}`).join(' ')} }\n`).join('');
  const text = `${input}layer { name: "under_test" ${layer} }\n`;
  const file = parseCaffeText(text, { kinds: ['net'], dialect: opts.dialect });
  const net = buildNet(file.message, { dialect: opts.dialect ?? file.dialect, phase: opts.phase });
  const l = net.layer('under_test')!;
  return { tops: l.tops.map((t) => t.shape), learned: l.learned, macs: l.macs };
}

/** The shapes of the learned blobs, for short assertions. */
export const blobShapes = (r: LayerResult) => r.learned?.map((b) => b.shape);
