// The net's learned blobs as Caffe's Net::AppendParam sees them: each layer's ParamSpec (name, lr_mult,
// decay_mult, share_mode), shared blobs resolved to their owner, statistics that are never learned.
import { CaffeToolError } from '../errors.js';
import type { Message } from '../io/message.js';
import { formatShape, count } from '../layers/shape.js';
import type { Shape } from '../layers/types.js';
import type { Net, NetLayer } from '../net/net.js';

/** A learned blob that owns its values: what the solver updates and the snapshot writes. */
export interface OwnedParam {
  /** `layer/i`: unique, and the name of its graph input. */
  key: string;
  layer: NetLayer;
  /** The blob's index among the layer's learned blobs. */
  index: number;
  role: string;
  shape: Shape;
  lrMult: number;
  decayMult: number;
  /** The ParamSpec name, when the net gives one (other layers may share the blob by it). */
  name?: string;
}

export interface NetParams {
  /** Owned blobs, in Caffe's learnable_params order (layers in order, blobs in order, owners only). */
  owned: OwnedParam[];
  /** For every layer with learned blobs: the owner of each of its blobs. */
  byLayer: Map<NetLayer, OwnedParam[]>;
}

/** Running statistics: Caffe's BatchNorm forces their lr_mult to 0, and the solver never moves them. */
const STATISTICS = new Set(['mean', 'variance', 'scale_factor']);

export function netParams(net: Net): NetParams {
  const owned: OwnedParam[] = [];
  const byLayer = new Map<NetLayer, OwnedParam[]>();
  const byName = new Map<string, OwnedParam>();
  for (const layer of net.layers) {
    const learned = layer.learned ?? [];
    if (!learned.length) continue;
    const specs = (layer.layer.param as Message[] | undefined) ?? [];
    const mine: OwnedParam[] = [];
    learned.forEach((spec, index) => {
      const p = specs[index] ?? {};
      const name = (p.name as string | undefined) || undefined;
      const statistic = STATISTICS.has(spec.role);
      if (statistic && p.lr_mult !== undefined && p.lr_mult !== 0) {
        throw new CaffeToolError(`param ${index} (${spec.role}) has lr_mult ${p.lr_mult as number}: batch normalization statistics cannot be learned`, {
          where: { layer: layer.name }, hint: 'remove the param { lr_mult } of the statistics, or set it to 0',
        });
      }
      const lrMult = statistic ? 0 : ((p.lr_mult as number | undefined) ?? 1);
      // Caffe keeps decay_mult (default 1) on the statistics: with lr 0 it moves only Adam/AdaGrad histories.
      const decayMult = (p.decay_mult as number | undefined) ?? 1;
      const owner = name ? byName.get(name) : undefined;
      if (owner) {
        checkShared(layer, index, spec.shape, owner, p);
        if (p.lr_mult !== undefined) owner.lrMult = lrMult;
        if (p.decay_mult !== undefined) owner.decayMult = decayMult;
        mine.push(owner);
        return;
      }
      const param: OwnedParam = { key: `${layer.name}/${index}`, layer, index, role: spec.role, shape: spec.shape, lrMult, decayMult, name };
      if (name) byName.set(name, param);
      owned.push(param);
      mine.push(param);
    });
    byLayer.set(layer, mine);
  }
  return { owned, byLayer };
}

/** Net::AppendParam's checks: STRICT sharing needs equal shapes, PERMISSIVE equal counts; lr/decay must agree. */
function checkShared(layer: NetLayer, index: number, shape: Shape, owner: OwnedParam, spec: Message): void {
  const where = { layer: layer.name };
  const permissive = spec.share_mode === 'PERMISSIVE';
  if (permissive ? count(shape) !== count(owner.shape) : shape.join(',') !== owner.shape.join(',')) {
    throw new CaffeToolError(
      `param ${index} shares '${owner.name}' with layer '${owner.layer.name}' but is ${formatShape(shape)} there ${formatShape(owner.shape)}`,
      { where, hint: permissive ? 'PERMISSIVE sharing needs the same number of values' : 'STRICT sharing (the default) needs the same shape; share_mode: PERMISSIVE only needs the same count' },
    );
  }
  for (const field of ['lr_mult', 'decay_mult'] as const) {
    const mine = spec[field] as number | undefined;
    const theirs = field === 'lr_mult' ? owner.lrMult : owner.decayMult;
    const ownerSet = ((owner.layer.layer.param as Message[] | undefined)?.[owner.index] ?? {})[field] !== undefined;
    if (mine !== undefined && ownerSet && mine !== theirs) {
      throw new CaffeToolError(`param ${index} shares '${owner.name}' with layer '${owner.layer.name}' but its ${field} is ${mine} there ${theirs}`, { where });
    }
  }
}
