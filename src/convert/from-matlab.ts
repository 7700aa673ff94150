// Weights that lived in MATLAB, into Caffe's row-major blobs, and back.
//
// MATLAB keeps arrays column-major. matcaffe hands a Caffe blob of shape N x C x H x W to MATLAB as a
// W x H x C x N array with the very same memory (reversing the axes of a row-major array gives a column-major
// one): such an array only needs its dims reversed ("reversed" layout). An array that MATLAB code built in
// Caffe's own axis order, N x C x H x W, holds column-major memory that must be transposed to row-major
// ("colmajor" layout). `auto` tells the two apart by comparing each array's size with the net's blob shape; an
// array whose size reads the same both ways (a square InnerProduct such as VGG's 4096x4096 fc7) goes the way
// the file's other arrays agree on.
//
// A .caffemodel that matcaffe's net.save wrote is already standard: matcaffe copies MATLAB memory into a blob
// as it is (mx_mat_to_blob is a plain copy), and Blob.set_data only takes the reversed W x H x C x N size, so
// the blob holds Caffe's row-major values under Caffe's shape. Only a caffemodel some other tool filled from
// MATLAB memory needs converting: reversed shapes (re-dimmed), or Caffe's shapes over column-major memory
// (`--layout colmajor`, which shapes alone cannot show).
import { CaffeToolError, closestNames, usageError } from '../errors.js';
import { blobData, blobShape } from '../io/blob.js';
import { type MatArray, type MatFile, type MatOutput, type MatVariable, matToFloat32, unsupported } from '../io/mat.js';
import type { Message } from '../io/message.js';
import { count, formatShape } from '../layers/shape.js';
import type { BlobSpec, Shape } from '../layers/types.js';
import type { Net, NetLayer } from '../net/net.js';
import { attachWeights } from '../net/weights.js';

export type Layout = 'auto' | 'reversed' | 'colmajor';
export const LAYOUTS: readonly Layout[] = ['auto', 'reversed', 'colmajor'];

/** How one blob was read: with reversed dims, transposed from column-major, or a vector (both are the same). */
export type BlobReading = 'reversed' | 'colmajor' | 'vector';

export interface ConvertedBlob {
  /** Where the values came from: a variable path (`conv1_w`, `conv1.w`) or `blob i` of a caffemodel layer. */
  source: string;
  role: string;
  shape: Shape;
  /** The dims as the source had them. */
  sourceDims: number[];
  reading: BlobReading;
  /** Its size reads both ways: the reading is the one the file's other blobs agree on (`--layout auto`). */
  inferred?: boolean;
}

export interface ConvertedLayer {
  name: string;
  type: string;
  blobs: ConvertedBlob[];
}

export interface FromMatlabResult {
  /** The NetParameter to write: the net definition (or the caffemodel's own) with row-major blobs. */
  message: Message;
  layers: ConvertedLayer[];
  /** Net layers with learned blobs that the input does not have (they keep their fillers in Caffe). */
  missing: string[];
  /** Variables of the .mat (or layers of the caffemodel) that no layer used. */
  unused: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Names

/** A layer name as a MATLAB identifier: other characters become _, a name not starting with a letter gets x. */
export function matlabName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(s) ? s : `x${s}`;
}

const ROLE_SUFFIXES: Record<string, string[]> = {
  weight: ['w', 'weights', 'weight', 'W'],
  bias: ['b', 'bias', 'biases'],
};

/**
 * The names blob `i` of a layer may have, as a variable suffix (`conv1_w`) or a struct field (`conv1.w`):
 * w/weights/weight for a weight, b/bias/biases for a bias, the role itself for others (mean, variance,
 * scale_factor, slope...). When a role appears twice in a layer (LSTM), the blob index follows it: w0, w2.
 * The first name is the one to-matlab writes.
 */
export function blobNames(specs: readonly BlobSpec[], i: number): string[] {
  const role = specs[i].role;
  const names = ROLE_SUFFIXES[role] ?? [role];
  const repeated = specs.filter((s) => s.role === role).length > 1;
  return repeated ? names.map((n) => `${n}${i}`) : names;
}

/** The variable to-matlab writes for blob `i` of a layer: `<layer>_<w|b|role>`. */
export function blobVariableName(layer: string, specs: readonly BlobSpec[], i: number): string {
  return `${matlabName(layer)}_${blobNames(specs, i)[0]}`;
}

// ---------------------------------------------------------------------------------------------------------
// Layouts

/** Drop trailing singleton axes: MATLAB reports W x H x C x 1 as W x H x C, and a vector N as N x 1. */
function strip(dims: readonly number[]): number[] {
  const d = [...dims];
  while (d.length && d[d.length - 1] === 1) d.pop();
  return d;
}

const sameDims = (a: readonly number[], b: readonly number[]) => {
  const [x, y] = [strip(a), strip(b)];
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

const nonSingleton = (s: readonly number[]) => s.filter((d) => d !== 1).length;

/** A blob's dims are Caffe's shape, as written or in the legacy 4-D form (leading 1s: 1 x 1 x N x K). */
function caffeShaped(dims: readonly number[], shape: Shape): boolean {
  const fits = readingsThatFit(dims, shape);
  if (fits.includes('colmajor') || fits.includes('vector')) return true;
  const extra = dims.length - shape.length;
  return extra > 0 && dims.slice(0, extra).every((d) => d === 1) && sameDims(dims.slice(extra), shape);
}

/** Which readings of an array with `dims` fit a blob of `shape`. A vector fits both the same way. */
export function readingsThatFit(dims: readonly number[], shape: Shape): BlobReading[] {
  if (count(dims) === count(shape) && nonSingleton(dims) <= 1 && nonSingleton(shape) <= 1) return ['vector'];
  const out: BlobReading[] = [];
  if (sameDims(dims, [...shape].reverse())) out.push('reversed');
  if (sameDims(dims, shape)) out.push('colmajor');
  return out;
}

/**
 * Row-major values of a blob of `shape` from column-major values of the same shape (MATLAB memory of an array
 * in Caffe's axis order): out[i0,...,ik] = src[i0 + d0*(i1 + d1*(...))].
 */
export function colMajorToRowMajor(src: Float32Array, shape: Shape): Float32Array {
  const n = count(shape);
  if (src.length !== n) throw new CaffeToolError(`${src.length} values do not make a ${formatShape(shape)} blob`);
  const k = shape.length;
  if (k <= 1 || nonSingleton(shape) <= 1) return Float32Array.from(src);
  const out = new Float32Array(n);
  // Column-major strides of the source (axis 0 moves by 1) and row-major strides of the output.
  const colStride = new Array<number>(k);
  const rowStride = new Array<number>(k);
  colStride[0] = 1;
  for (let j = 1; j < k; j++) colStride[j] = colStride[j - 1] * shape[j - 1];
  rowStride[k - 1] = 1;
  for (let j = k - 2; j >= 0; j--) rowStride[j] = rowStride[j + 1] * shape[j + 1];
  // For each position of the middle axes, axes 0 and k-1 form a 2-D transpose: done in tiles, so that both
  // the strided reads and the strided writes stay in cache (a plain loop is 5x slower on VGG's fc6).
  const d0 = shape[0];
  const dl = shape[k - 1];
  const inL = colStride[k - 1];
  const out0 = rowStride[0];
  const TILE = 32;
  const mid = new Array<number>(k).fill(0);
  let inBase = 0;
  let outBase = 0;
  for (;;) {
    for (let a = 0; a < d0; a += TILE) {
      const aEnd = Math.min(a + TILE, d0);
      for (let b = 0; b < dl; b += TILE) {
        const bEnd = Math.min(b + TILE, dl);
        for (let i = a; i < aEnd; i++) {
          const o = outBase + i * out0;
          const s = inBase + i;
          for (let l = b; l < bEnd; l++) out[o + l] = src[s + l * inL];
        }
      }
    }
    // Odometer over the middle axes 1..k-2, the last fastest.
    let j = k - 2;
    for (; j >= 1; j--) {
      mid[j]++;
      inBase += colStride[j];
      outBase += rowStride[j];
      if (mid[j] < shape[j]) break;
      inBase -= colStride[j] * shape[j];
      outBase -= rowStride[j] * shape[j];
      mid[j] = 0;
    }
    if (j < 1) break;
  }
  return out;
}

interface Candidate {
  source: string;
  dims: number[];
  values: () => Float32Array;
}

interface Chosen {
  reading: BlobReading;
}

/** Where the arrays come from: a MAT-file, or the blobs of a caffemodel. */
type Origin = 'mat' | 'caffemodel';

/** Decide how one array is read, or say why it cannot be. */
function choose(c: Candidate, shape: Shape, layout: Layout, origin: Origin, layer: NetLayer, i: number, role: string): Chosen | { ambiguous: true } {
  const fits = readingsThatFit(c.dims, shape);
  const where = { layer: layer.name, blob: i };
  if (fits[0] === 'vector') return { reading: 'vector' };
  if (layout === 'auto') {
    if (fits.length === 1) return { reading: fits[0] };
    if (fits.length === 2) return { ambiguous: true };
  } else if (fits.includes(layout)) {
    return { reading: layout };
  }
  const reversed = [...shape].reverse();
  const expected = layout === 'reversed' ? `${formatShape(reversed)} (Caffe's ${formatShape(shape)} reversed, matcaffe's order)`
    : layout === 'colmajor' ? `${formatShape(shape)} (Caffe's order)`
      : `${formatShape(reversed)} (matcaffe's reversed order) or ${formatShape(shape)} (Caffe's order)`;
  // In a caffemodel, a blob with Caffe's shape is most likely standard already (matcaffe's net.save writes that).
  if (origin === 'caffemodel' && fits.includes('colmajor')) {
    return fail(`${role} ${c.source} is ${formatShape(c.dims)}, the net expects ${expected}: it already has Caffe's shape, while other blobs of the file have matcaffe's reversed shapes`,
      where, 'check how the file was written: a caffemodel that matcaffe\'s net.save wrote has Caffe\'s shapes throughout and needs no conversion');
  }
  const other = layout !== 'auto' && fits.length ? ` (it would fit --layout ${fits[0]})` : '';
  return fail(`${role} ${c.source} is ${formatShape(c.dims)}, the net expects ${expected}${other}`, where,
    fits.length ? `use --layout ${fits[0]}, or --layout auto` : 'check that the net and the weights belong together (num_output, kernel size, input channels)');
}

function fail(message: string, where: { layer: string; blob?: number }, hint?: string): never {
  throw new CaffeToolError(message, { where, hint });
}

function convertValues(c: Candidate, shape: Shape, reading: BlobReading): Float32Array {
  const v = c.values();
  if (v.length !== count(shape)) {
    throw new CaffeToolError(`${c.source} holds ${v.length} values, ${formatShape(shape)} needs ${count(shape)}`);
  }
  return reading === 'colmajor' ? colMajorToRowMajor(v, shape) : v;
}

/**
 * Convert every layer's candidates. With `auto`, blobs whose size reads both ways take the reading the file's
 * other blobs agree on; when none tells (or they disagree), the ambiguous blobs are reported together.
 */
function convertLayers(
  found: Map<NetLayer, Candidate[]>,
  layout: Layout,
  origin: Origin,
): { layers: ConvertedLayer[]; blobs: Map<string, Message[]> } {
  const decisions = new Map<NetLayer, (BlobReading | undefined)[]>();
  const ambiguous: string[] = [];
  const settled = { reversed: 0, colmajor: 0 };
  for (const [layer, cands] of found) {
    const specs = layer.learned!;
    const readings: (BlobReading | undefined)[] = [];
    cands.forEach((c, i) => {
      const r = choose(c, specs[i].shape, layout, origin, layer, i, `${specs[i].role}`);
      if ('ambiguous' in r) {
        ambiguous.push(`layer '${layer.name}' blob ${i} (${specs[i].role} ${c.source}, ${formatShape(c.dims)})`);
        readings.push(undefined);
      } else {
        if (r.reading !== 'vector') settled[r.reading]++;
        readings.push(r.reading);
      }
    });
    decisions.set(layer, readings);
  }
  const agreed = settled.reversed && !settled.colmajor ? 'reversed' : settled.colmajor && !settled.reversed ? 'colmajor' : undefined;
  if (ambiguous.length && !agreed) {
    const others = settled.reversed && settled.colmajor
      ? ` The other blobs disagree: ${settled.reversed} read as reversed, ${settled.colmajor} as colmajor.`
      : ' No other blob of the file tells the layout either.';
    const first = ambiguous[0].match(/^layer '([^']*)'/)![1];
    throw new CaffeToolError(
      `cannot tell the layout of ${ambiguous.length === 1 ? 'a blob' : `${ambiguous.length} blobs`} from its size: both matcaffe's reversed order and Caffe's order fit ` +
        `(the shape reads the same both ways):\n  ${ambiguous.join('\n  ')}`,
      {
        where: { layer: first },
        hint: `give --layout reversed (arrays from matcaffe, W x H x C x N) or --layout colmajor (arrays in Caffe's N x C x H x W order).${others}`,
        exitCode: 2,
      },
    );
  }
  const layers: ConvertedLayer[] = [];
  const blobs = new Map<string, Message[]>();
  for (const [layer, cands] of found) {
    const specs = layer.learned!;
    const readings = decisions.get(layer)!;
    const out: Message[] = [];
    const info: ConvertedBlob[] = [];
    cands.forEach((c, i) => {
      const shape = specs[i].shape;
      const reading = readings[i] ?? agreed!;
      let data: Float32Array;
      try {
        data = convertValues(c, shape, reading);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ layer: layer.name, blob: i }) : e;
      }
      out.push({ shape: { dim: [...shape] }, data });
      info.push({ source: c.source, role: specs[i].role, shape: [...shape], sourceDims: c.dims, reading, ...(readings[i] ? {} : { inferred: true }) });
    });
    blobs.set(layer.name, out);
    layers.push({ name: layer.name, type: layer.type, blobs: info });
  }
  return { layers, blobs };
}

/** The net's layers that learn, each with its blob specs known (or an error naming the layer). */
function learnedLayers(net: Net): NetLayer[] {
  const out: NetLayer[] = [];
  for (const l of net.layers) {
    if (!l.def.blobs) continue;
    if (!l.learned) {
      throw new CaffeToolError('its input shape is unknown, so the shapes of its learned blobs are too', {
        where: { layer: l.name },
        hint: 'give the input shape with --input NAME=N,C,H,W (a data layer reading a database has none in the net)',
      });
    }
    if (l.learned.length) out.push(l);
  }
  return out;
}

/** The net definition with the converted blobs in its layers (layers of every phase sharing a name get them). */
function withBlobs(param: Message, blobs: Map<string, Message[]>): Message {
  const layers = ((param.layer as Message[] | undefined) ?? []).map((l) => {
    const b = blobs.get(l.name as string);
    return b ? { ...l, blobs: b } : l;
  });
  return { ...param, layer: layers };
}

// ---------------------------------------------------------------------------------------------------------
// From a .mat file

export type LayerMap = Record<string, (string | null)[]>;

/** Parse a --map JSON document: {"conv1": ["varname_w", "varname_b"]} (a path may name a struct field: s.w). */
export function parseLayerMap(text: string, file: string): LayerMap {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CaffeToolError(`${file} is not JSON: ${(e as Error).message}`, { hint: 'the map is {"layer": ["variable for blob 0", "variable for blob 1"]}' });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CaffeToolError(`${file}: the map must be a JSON object {"layer": ["var_w", "var_b"]}`);
  const out: LayerMap = {};
  for (const [layer, v] of Object.entries(doc as Record<string, unknown>)) {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' || x === null)) {
      throw new CaffeToolError(`${file}: layer '${layer}' must map to a list of variable names, such as ["${matlabName(layer)}_w", "${matlabName(layer)}_b"]`);
    }
    out[layer] = list as (string | null)[];
  }
  return out;
}

class MatIndex {
  readonly byName = new Map<string, MatVariable>();
  readonly used = new Set<string>();

  constructor(readonly mat: MatFile) {
    for (const v of mat.variables) this.byName.set(v.name, v);
  }

  /** A variable, or a field of a 1x1 struct variable (`s.w`, `s.conv1.w`). */
  resolve(path: string): MatArray | undefined {
    const [head, ...rest] = path.split('.');
    const v = this.byName.get(head);
    if (!v) return undefined;
    let a: MatArray = v.value;
    for (const f of rest) {
      if (a.kind !== 'struct' || a.elements.length !== 1) return undefined;
      const next = a.elements[0].get(f);
      if (!next) return undefined;
      a = next;
    }
    this.used.add(head);
    return a;
  }
}

function candidate(a: MatArray, source: string, layer: string, i: number): Candidate {
  if (a.kind !== 'numeric') {
    throw unsupported(a, source, 'a numeric array').within({ layer, blob: i });
  }
  return {
    source,
    dims: a.dims,
    values: () => {
      try {
        return matToFloat32(a, source);
      } catch (e) {
        throw e instanceof CaffeToolError ? e.within({ layer, blob: i }) : e;
      }
    },
  };
}

/** Find the arrays of one layer: --map, a struct or cell per layer, or flat <layer>_w/<layer>_b variables. */
function findLayer(index: MatIndex, layer: NetLayer, map: LayerMap | undefined): Candidate[] | undefined {
  const specs = layer.learned!;
  const name = layer.name;
  const mapped = map?.[name];
  if (mapped) {
    if (mapped.length !== specs.length) {
      fail(`the map gives ${mapped.length} variables, the layer has ${specs.length} blobs (${specs.map((s) => s.role).join(', ')})`, { layer: name },
        'list one variable per blob, in Caffe\'s order');
    }
    return mapped.map((path, i) => {
      if (path === null) fail(`the map gives no variable for blob ${i} (${specs[i].role})`, { layer: name, blob: i });
      const a = index.resolve(path);
      if (!a) {
        const near = closestNames(path, index.byName.keys());
        fail(`the map names '${path}', which is not in the MAT-file`, { layer: name, blob: i }, near.length ? `did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : undefined);
      }
      return candidate(a, `'${path}'`, name, i);
    });
  }
  const base = matlabName(name);
  const whole = index.byName.get(base) ?? (base !== name ? index.byName.get(name) : undefined);
  if (whole && (whole.value.kind === 'struct' || whole.value.kind === 'cell')) {
    index.used.add(whole.name);
    const v = whole.value;
    if (v.kind === 'cell') {
      if (v.cells.length !== specs.length) {
        fail(`the cell array '${whole.name}' has ${v.cells.length} arrays, the layer has ${specs.length} blobs (${specs.map((s) => s.role).join(', ')})`, { layer: name });
      }
      return v.cells.map((c, i) => candidate(c, `'${whole.name}'{${i + 1}}`, name, i));
    }
    if (v.elements.length !== 1) fail(`the struct '${whole.name}' is ${formatShape(v.dims)}, not a 1x1 struct`, { layer: name });
    const fields = v.elements[0];
    return specs.map((_, i) => {
      const names = blobNames(specs, i);
      const f = names.find((n) => fields.has(n));
      if (!f) {
        fail(`the struct '${whole.name}' has no field for blob ${i} (${specs[i].role}): looked for ${names.join(', ')}; it has ${v.fields.join(', ') || 'no fields'}`,
          { layer: name, blob: i }, 'rename the field, or give a --map file {"layer": ["struct.field", ...]}');
      }
      return candidate(fields.get(f)!, `'${whole.name}.${f}'`, name, i);
    });
  }
  const found = specs.map((_, i) => {
    for (const suffix of blobNames(specs, i)) {
      for (const prefix of new Set([base, name])) {
        const v = index.byName.get(`${prefix}_${suffix}`);
        if (v) return v;
      }
    }
    return undefined;
  });
  if (found.every((v) => v === undefined)) {
    // A variable named for the layer that is neither a struct nor a cell it can read (a v7.3 cell, a sparse
    // array...): the weights are there, in a form caffe-tool does not read; say so rather than skip the layer.
    if (whole?.value.kind === 'unsupported') {
      index.used.add(whole.name);
      throw unsupported(whole.value, `'${whole.name}'`, 'weights caffe-tool can read').within({ layer: name });
    }
    return undefined;
  }
  return found.map((v, i) => {
    if (!v) {
      fail(`no variable for blob ${i} (${specs[i].role}): looked for ${blobNames(specs, i).map((s) => `${base}_${s}`).join(', ')}`,
        { layer: name, blob: i }, 'give a --map file {"layer": ["var_w", "var_b"]} for names of your own');
    }
    index.used.add(v.name);
    return candidate(v.value, `'${v.name}'`, name, i);
  });
}

/** Build a caffemodel's NetParameter from a MAT-file's arrays, mapped to `net`'s layers by name. */
export function fromMat(net: Net, param: Message, mat: MatFile, opts: { layout: Layout; map?: LayerMap }): FromMatlabResult {
  const index = new MatIndex(mat);
  const layers = learnedLayers(net);
  if (opts.map) {
    const known = new Set(net.layers.map((l) => l.name));
    for (const k of Object.keys(opts.map)) {
      if (!known.has(k)) {
        const near = closestNames(k, known);
        throw new CaffeToolError(`the map names layer '${k}', which the net does not have`, { hint: near.length ? `did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : undefined });
      }
    }
  }
  const found = new Map<NetLayer, Candidate[]>();
  const missing: string[] = [];
  for (const l of layers) {
    const c = findLayer(index, l, opts.map);
    if (c) found.set(l, c);
    else missing.push(l.name);
  }
  if (!found.size) {
    const names = mat.variables.map((v) => v.name);
    const example = layers[0];
    throw new CaffeToolError(`no array in the MAT-file belongs to a layer of the net (it has ${names.length ? names.slice(0, 12).join(', ') + (names.length > 12 ? ', ...' : '') : 'no variables'})`, {
      hint: example
        ? `name them like ${blobVariableName(example.name, example.learned!, 0)} (or a struct ${matlabName(example.name)} with fields w and b), or give --map MAP.json {"${example.name}": ["var_w", "var_b"]}`
        : 'the net has no layer with learned blobs',
    });
  }
  const { layers: converted, blobs } = convertLayers(found, opts.layout, 'mat');
  const message = withBlobs(param, blobs);
  attachWeights(net, message);
  const unused = mat.variables.map((v) => v.name).filter((n) => !index.used.has(n));
  return { message, layers: converted, missing, unused };
}

// ---------------------------------------------------------------------------------------------------------
// From a .caffemodel filled straight from MATLAB memory

/**
 * Re-dim (reversed) or transpose (colmajor) every blob of a caffemodel that holds MATLAB memory. `auto` reads
 * it as reversed; a file whose blobs all have Caffe's shapes is refused unless colmajor is asked for: it is
 * already standard (what matcaffe's net.save writes), and shapes cannot show column-major memory.
 */
export function fromCaffemodel(net: Net, weights: Message, opts: { layout: Layout }): FromMatlabResult {
  const byName = new Map(learnedLayers(net).map((l) => [l.name, l]));
  const seen = new Set<string>();
  const found = new Map<NetLayer, Candidate[]>();
  const unused: string[] = [];
  const sources = (weights.layer as Message[] | undefined) ?? [];
  for (const src of sources) {
    const name = (src.name as string | undefined) ?? '';
    const blobs = (src.blobs as Message[] | undefined) ?? [];
    const target = byName.get(name);
    if (!target) {
      if (blobs.length) unused.push(name);
      continue;
    }
    seen.add(name);
    if (!blobs.length) continue;
    const specs = target.learned!;
    if (blobs.length !== specs.length) {
      fail(`the weights have ${blobs.length} blobs, the net expects ${specs.length} (${specs.map((s) => `${s.role} ${formatShape(s.shape)}`).join(', ')})`, { layer: name });
    }
    found.set(target, blobs.map((b, i) => ({ source: `blob ${i}`, dims: blobShape(b), values: () => blobData(b) })));
  }
  const missing = [...byName.values()].filter((l) => !found.has(l)).map((l) => l.name);
  if (!found.size) {
    throw new CaffeToolError('no layer of the weights has the name of a learned layer of the net', {
      hint: 'check that the net and the weights belong together',
    });
  }
  if (opts.layout !== 'colmajor' && [...found].every(([l, cands]) => cands.every((c, i) => caffeShaped(c.dims, l.learned![i].shape)))) {
    throw usageError(
      'every blob already has the shape Caffe gives it: the file is already in Caffe\'s layout (what matcaffe\'s net.save writes) and needs no conversion',
      'use it as it is (caffe-tool info MODEL --weights FILE checks every blob against the net)',
    );
  }
  const { layers, blobs } = convertLayers(found, opts.layout === 'auto' ? 'reversed' : opts.layout, 'caffemodel');
  // Layers the net does not have are left out: their blobs are still in MATLAB's memory order.
  const kept = sources.filter((l) => byName.has(l.name as string) || !((l.blobs as Message[] | undefined) ?? []).length);
  const message = withBlobs({ ...weights, layer: kept }, blobs);
  attachWeights(net, message);
  return { message, layers, missing, unused };
}

// ---------------------------------------------------------------------------------------------------------
// To a .mat file

/**
 * Every attached blob as a MAT variable in matcaffe's convention: dims reversed (a 1-D blob of N is N x 1),
 * the same memory, single precision, named `<layer>_w`, `<layer>_b` (other roles: `<layer>_<role>`).
 */
export function toMatVariables(net: Net): { vars: MatOutput[]; layers: { name: string; vars: string[] }[] } {
  const vars: MatOutput[] = [];
  const layers: { name: string; vars: string[] }[] = [];
  const owner = new Map<string, string>();
  for (const l of net.layers) {
    if (!l.weights?.length || !l.learned) continue;
    const names: string[] = [];
    l.weights.forEach((b, i) => {
      const shape = l.learned![i].shape;
      const name = blobVariableName(l.name, l.learned!, i);
      if (name.length > 63) fail(`the variable name '${name}' is longer than MATLAB's 63 characters`, { layer: l.name, blob: i }, 'rename the layer');
      const other = owner.get(name);
      if (other !== undefined) {
        fail(`layers '${other}' and '${l.name}' both become MATLAB variable '${name}'`, { layer: l.name, blob: i }, 'rename one of the layers');
      }
      owner.set(name, l.name);
      const dims = [...shape].reverse();
      while (dims.length < 2) dims.push(1);
      vars.push({ name, dims, data: blobData(b) });
      names.push(name);
    });
    layers.push({ name: l.name, vars: names });
  }
  return { vars, layers };
}
