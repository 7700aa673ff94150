// Caffe's classic net surgery (examples/net_surgery.ipynb): InnerProduct layers as the Convolutions they are
// equivalent to, so a classifier runs fully convolutionally on larger inputs. The first InnerProduct after a
// C x H x W blob becomes a convolution with an H x W kernel: its [N, K] weights, K = C*H*W flattened row-major
// as Caffe flattens, are the [N, C, H, W] kernel in the same memory. InnerProducts after it see 1x1 inputs and
// become 1x1 convolutions. A transposed InnerProduct ([K, N] weights) is transposed first.
import { CaffeToolError, closestNames } from '../errors.js';
import { blobData } from '../io/blob.js';
import type { Message } from '../io/message.js';
import type { Dialect } from '../io/schema.js';
import { formatShape } from '../layers/shape.js';
import type { Shape } from '../layers/types.js';
import { buildNet, type Net } from '../net/net.js';

export interface FcToConvOptions {
  dialect?: Dialect;
  file?: string;
  inputs?: Record<string, Shape>;
  /** The InnerProduct layers to convert, by name. Default: every one whose input is (or becomes) spatial. */
  layers?: string[];
}

export interface ConvertedLayer {
  name: string;
  /** The InnerProduct's input shape, and the convolution kernel [kh, kw]. */
  input: Shape;
  kernel: [number, number];
  numOutput: number;
  transposed: boolean;
}

export interface FcToConvResult {
  /** The new NetParameter (definition only). */
  param: Message;
  net: Net;
  converted: ConvertedLayer[];
}

/** The new definition. Call convertBlobs on the weights of each converted layer. */
export function fcToConv(param: Message, opts: FcToConvOptions = {}): FcToConvResult {
  const build = (p: Message) => buildNet(p, { phase: 'TEST', dialect: opts.dialect, file: opts.file, inputs: opts.inputs });
  let current: Message = { ...param, layer: [...((param.layer as Message[] | undefined) ?? [])] };
  let net = build(current);
  const ips = net.layers.filter((l) => l.type === 'InnerProduct').map((l) => l.name);
  const wanted = opts.layers ?? ips;
  for (const name of wanted) {
    const l = net.layer(name);
    if (!l) throw new CaffeToolError(`--layers: the net has no layer '${name}'`, { exitCode: 2, hint: hintNames(name, ips) });
    if (l.type !== 'InnerProduct') throw new CaffeToolError(`--layers: layer '${name}' is a ${l.type}, not an InnerProduct`, { exitCode: 2, hint: hintNames(name, ips) });
  }
  const converted: ConvertedLayer[] = [];
  for (const name of ips) {
    if (!wanted.includes(name)) continue;
    const l = net.layer(name)!;
    const input = l.bottoms[0].shape;
    if (!input) {
      throw new CaffeToolError(`the input shape of '${name}' is unknown (${l.unknown ?? 'a data layer gives no shape'})`, {
        where: { layer: name }, hint: 'give the data shape with --input data=N,C,H,W',
      });
    }
    const p = net.params(l, 'inner_product_param');
    const axis = p.num('axis');
    const spatial = input.length === 4 && (axis === 1 || axis === -3);
    if (!spatial) {
      if (!opts.layers) continue; // not after a spatial blob: leave it
      throw new CaffeToolError(`'${name}' reads a ${formatShape(input)} blob (axis ${axis}): only an InnerProduct on an N x C x H x W blob at axis 1 becomes a convolution`, {
        where: { layer: name },
        hint: input.length === 2 ? 'convert the InnerProduct before it too (list it in --layers), so that this one reads an N x C x 1 x 1 blob' : undefined,
      });
    }
    const [h, w] = [input[2], input[3]];
    const numOutput = p.num('num_output');
    const conv: Message = { num_output: numOutput };
    if (!p.bool('bias_term')) conv.bias_term = false;
    if (h === w) conv.kernel_size = [h];
    else Object.assign(conv, { kernel_h: h, kernel_w: w });
    for (const f of ['weight_filler', 'bias_filler']) if (p.has(f)) conv[f] = p.get(f);
    const layer: Message = { ...l.layer, type: 'Convolution', convolution_param: conv };
    delete layer.inner_product_param;
    delete layer.blobs;
    const layers = current.layer as Message[];
    layers[layers.indexOf(l.layer)] = layer;
    converted.push({ name, input: [...input], kernel: [h, w], numOutput, transposed: p.bool('transpose') });
    net = build(current);
  }
  if (!converted.length) {
    throw new CaffeToolError('no InnerProduct layer reads a spatial (N x C x H x W) blob: nothing to convert', {
      hint: ips.length ? `InnerProduct layers: ${ips.join(', ')}` : 'the net has no InnerProduct layer',
    });
  }
  return { param: current, net, converted };
}

function hintNames(name: string, ips: string[]): string {
  const close = closestNames(name, ips);
  return close.length ? `did you mean ${close.join(' or ')}? InnerProduct layers: ${ips.join(', ')}` : `InnerProduct layers: ${ips.join(', ') || 'none'}`;
}

/** The InnerProduct's blobs as the convolution's: [N, K] (or [K, N] transposed) -> [N, C, H, W]; the bias as is. */
export function convertBlobs(c: ConvertedLayer, blobs: Message[]): Message[] {
  const [, ch, h, w] = c.input;
  const n = c.numOutput;
  const k = ch * h * w;
  if (!blobs.length) throw new CaffeToolError(`layer '${c.name}' has no weights to convert`, { where: { layer: c.name } });
  const src = blobData(blobs[0]);
  if (src.length !== n * k) {
    throw new CaffeToolError(`the weights of '${c.name}' hold ${src.length} values, not ${n}x${k} = ${n * k}`, { where: { layer: c.name, blob: 0 } });
  }
  let data = src;
  if (c.transposed) {
    data = new Float32Array(n * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) data[j * k + i] = src[i * n + j];
  }
  const weight: Message = { shape: { dim: [n, ch, h, w] }, data };
  const rest = blobs.slice(1).map((b) => ({ shape: { dim: [n] }, data: blobData(b) }));
  return [weight, ...rest];
}

/**
 * A weights NetParameter (a .caffemodel's) with the converted layers changed in place of the old: their
 * definition (type, convolution_param) and blobs. Layers the file lacks are reported as missing.
 */
export function convertWeights(weights: Message, result: FcToConvResult): { weights: Message; missing: string[] } {
  const defs = new Map((result.param.layer as Message[]).map((l) => [l.name as string, l]));
  const missing = new Set(result.converted.map((c) => c.name));
  const layer = ((weights.layer as Message[] | undefined) ?? []).map((l) => {
    const c = result.converted.find((x) => x.name === l.name);
    if (!c) return l;
    missing.delete(c.name);
    const def = defs.get(c.name)!;
    const out: Message = { ...l, type: 'Convolution', convolution_param: def.convolution_param, blobs: convertBlobs(c, (l.blobs as Message[] | undefined) ?? []) };
    delete out.inner_product_param;
    return out;
  });
  return { weights: { ...weights, layer }, missing: [...missing] };
}
