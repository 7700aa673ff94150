// Building a one-layer net from prototxt text and reading the reference arrays of fixtures/make_data.py.
import { readFileSync } from 'node:fs';
import { parseCaffeText } from '../../../src/io/files.js';
import { readNpy } from '../../../src/io/npy.js';
import { buildNet, type Net } from '../../../src/net/net.js';
import { type BatchSource, type DataLayerOptions, openDataLayer } from '../../../src/train/data/index.js';
import { fixture } from '../../helpers.js';

export const DATA = fixture('data');

export function netOf(text: string, phase: 'TRAIN' | 'TEST'): Net {
  const file = parseCaffeText(text, { kinds: ['net'] });
  return buildNet(file.message, { phase, dialect: file.dialect });
}

/** The net's first layer as a source, paths relative to fixtures/data. */
export function open(text: string, phase: 'TRAIN' | 'TEST', opts: Partial<DataLayerOptions> = {}): BatchSource {
  const net = netOf(text, phase);
  return openDataLayer(net.layers[0], net, { phase, seed: 1, baseDir: DATA, ...opts });
}

export function ref(name: string): { data: Float32Array; shape: number[] } {
  return readNpy(readFileSync(fixture('data', 'ref', name)));
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** [h, w, mirrored] of the 16x20 window of seg image `index` (3x24x32 in `all`) that `item` is, or undefined. */
export function findWindow(item: Float32Array, all: Float32Array, index: number): [number, number, boolean] | undefined {
  const img = all.subarray(index * 3 * 768, (index + 1) * 3 * 768);
  for (let h = 0; h <= 8; h++) {
    for (let w = 0; w <= 12; w++) {
      for (const m of [false, true]) {
        let same = true;
        for (let c = 0; c < 3 && same; c++) {
          for (let y = 0; y < 16 && same; y++) {
            for (let x = 0; x < 20 && same; x++) {
              const sx = m ? 31 - (w + x) : w + x;
              same = item[(c * 16 + y) * 20 + x] === img[(c * 24 + h + y) * 32 + sx];
            }
          }
        }
        if (same) return [h, w, m];
      }
    }
  }
  return undefined;
}
