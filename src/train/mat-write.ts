// DeepLab's MatWrite beside the graph (mat_write_layer.cpp, util/matio_io.cpp WriteBlobToMat): on forward pass k
// with k % period == 0, every bottom i goes to prefix + name + "_blob_" + i + ".mat", the name being line k of the
// source list (its first word, less `strip` trailing characters) or, with no source, "iter_" + k. The file holds
// one single-precision variable `data`, dims [W, H, C, N] over the blob's own N x C x H x W values (MATLAB reads
// them column-major, so data(w, h, c, n) is blob(n, c, h, w)), uncompressed, MAT v5 as matio writes by default.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CaffeToolError } from '../errors.js';
import { writeMatFile } from '../io/mat.js';
import type { Params } from '../layers/params.js';
import { legacyShape } from '../layers/shape.js';
import type { Net, NetBlob, NetLayer } from '../net/net.js';

export class MatWriter {
  private pass = 0;

  private constructor(readonly layer: NetLayer, private readonly prefix: string, private readonly period: number, private readonly names: string[] | undefined) {}

  /** A writer for each MatWrite layer of the net; a relative source list is read from `baseDir`, as the data layers' are. */
  static forNet(net: Net, baseDir: string): MatWriter[] {
    return net.layers.filter((l) => l.type === 'MatWrite').map((l) => {
      const p = net.params(l, 'mat_write_param');
      const source = p.has('source') ? p.str('source') : undefined;
      return new MatWriter(l, p.str('prefix'), p.num('period'), source === undefined ? undefined : readNames(isAbsolute(source) ? source : join(baseDir, source), p, l.name));
    });
  }

  /** Each pass's bottom values: the graph's exposed blobs, or the batch for a data top (not a graph output). */
  writeStep(exposed: Map<NetBlob, Float32Array>, batch: Record<string, Float32Array>): void {
    this.write(this.layer.bottoms.map((b) => exposed.get(b) ?? batch[b.name]));
  }

  /** The blob versions to read out of the graph. */
  get bottoms(): NetBlob[] {
    return this.layer.bottoms;
  }

  /** One forward pass: the bottoms' values, in bottom order. */
  private write(values: Float32Array[]): void {
    const k = this.pass++;
    if (k % this.period !== 0) return;
    if (this.names && k >= this.names.length) {
      throw new CaffeToolError(`the test has run for more iterations than MatWrite's source lists names (${this.names.length}), as Caffe says`, {
        where: { layer: this.layer.name }, hint: 'run as many iterations as the source list has lines',
      });
    }
    const name = this.names ? this.names[k] : `iter_${k}`;
    values.forEach((data, i) => {
      const [n, c, h, w] = legacyShape(this.layer.bottoms[i].shape!, 'MatWrite');
      const file = `${this.prefix}${name}_blob_${i}.mat`;
      try {
        writeMatFile(file, [{ name: 'data', dims: [w, h, c, n], data }]);
      } catch (e) {
        throw new CaffeToolError(`MatWrite cannot write ${file}: ${(e as Error).message}`, {
          where: { layer: this.layer.name }, hint: 'mat_write_param.prefix is a path prefix: make sure its folder exists', cause: e,
        });
      }
    });
  }
}

/** The source list's names: each line's first word, less `strip` characters at its end. */
function readNames(path: string, p: Params, layer: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CaffeToolError(`cannot read MatWrite's source list ${path}: ${(e as Error).message}`, { where: { layer }, cause: e });
  }
  const strip = p.num('strip');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, i) => {
    const word = line.trim().split(/\s+/)[0] ?? '';
    if (word.length <= strip) throw new CaffeToolError(`Too much stripping: '${word}' is not longer than strip ${strip}`, { where: { file: path, line: i + 1, layer } });
    return word.slice(0, word.length - strip);
  });
}
