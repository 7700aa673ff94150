// The mistakes Caffe users keep making in net definitions, found before anything runs.
import type { Message } from '../io/message.js';
import { Params } from '../layers/params.js';
import { messageInfo, dialectSchema } from '../io/schema.js';
import type { Net, NetLayer } from './net.js';

export interface Lint {
  layer: string;
  message: string;
}

export function lintNet(net: Net, param: Message): Lint[] {
  return [...xavierBeforeRelu(net), ...batchStatsAtTest(net), ...ignoredRealClass(net), ...resizeMismatch(net, param)];
}

function sub(net: Net, l: NetLayer, field: string): Params {
  const info = messageInfo(dialectSchema(net.dialect), 'LayerParameter').byName.get(field)!.message!;
  return new Params((l.layer[field] as Message | undefined) ?? {}, info);
}

/** xavier keeps the variance for linear units; ReLU halves it, which msra's sqrt(2) gain makes up for. */
function xavierBeforeRelu(net: Net): Lint[] {
  const out: Lint[] = [];
  for (const l of net.layers) {
    const field = l.type === 'Convolution' || l.type === 'Deconvolution' ? 'convolution_param' : l.type === 'InnerProduct' ? 'inner_product_param' : undefined;
    if (!field) continue;
    const filler = (l.layer[field] as Message | undefined)?.weight_filler as Message | undefined;
    if (filler?.type !== 'xavier') continue;
    const relu = l.tops[0]?.consumers.map((i) => net.layers[i]).find((c) => c.type === 'ReLU');
    if (relu) {
      out.push({
        layer: l.name,
        message: `weight_filler xavier feeds ReLU '${relu.name}': xavier lacks ReLU's sqrt(2) gain, so activations shrink layer after layer; use type: "msra"`,
      });
    }
  }
  return out;
}

function batchStatsAtTest(net: Net): Lint[] {
  if (net.state.phase !== 'TEST') return [];
  return net.layers
    .filter((l) => l.type === 'BatchNorm' && (l.layer.batch_norm_param as Message | undefined)?.use_global_stats === false)
    .map((l) => ({
      layer: l.name,
      message: 'use_global_stats: false in the TEST phase: inference normalises each batch with its own statistics, not the trained ones (delete the line: Caffe then uses the stored statistics at test)',
    }));
}

function ignoredRealClass(net: Net): Lint[] {
  const out: Lint[] = [];
  for (const l of net.layers) {
    if (l.type !== 'SoftmaxWithLoss') continue;
    const loss = sub(net, l, 'loss_param');
    if (!loss.has('ignore_label')) continue;
    const shape = l.bottoms[0]?.shape;
    const axis = sub(net, l, 'softmax_param').num('axis');
    const classes = shape ? shape[axis < 0 ? axis + shape.length : axis] : undefined;
    const ignore = loss.num('ignore_label');
    if (classes === 2 && (ignore === 0 || ignore === 1)) {
      out.push({
        layer: l.name,
        message: `ignore_label ${ignore} is one of the 2 classes: that class gets no loss and no gradient, and the net learns to answer the other class everywhere`,
      });
    }
  }
  return out;
}

/** A resize layer defined differently for TRAIN and TEST (same name or same top): the net is tested unlike it was trained. */
function resizeMismatch(net: Net, param: Message): Lint[] {
  const resize = new Set(['Upsample', 'Interp', 'Deconvolution']);
  const byKey = new Map<string, { phase: string; method: string }[]>();
  for (const l of (param.layer as Message[] | undefined) ?? []) {
    if (!resize.has(l.type as string)) continue;
    const phases = ((l.include as Message[] | undefined) ?? []).map((r) => r.phase).filter(Boolean) as string[];
    if (phases.length !== 1) continue;
    const method = [
      l.type,
      ((l.interp_param as Message | undefined)?.interp_type as string | undefined) ?? '',
      `${((l.bottom as string[] | undefined) ?? []).length} bottoms`,
      (((l.convolution_param as Message | undefined)?.weight_filler as Message | undefined)?.type as string | undefined) ?? '',
    ].filter(Boolean).join(', ');
    const key = ((l.top as string[] | undefined) ?? [])[0] ?? (l.name as string);
    byKey.set(key, [...(byKey.get(key) ?? []), { phase: phases[0], method }]);
  }
  const out: Lint[] = [];
  for (const [key, variants] of byKey) {
    const train = variants.find((v) => v.phase === 'TRAIN');
    const test = variants.find((v) => v.phase === 'TEST');
    if (train && test && train.method !== test.method) {
      const layer = net.layers.find((l) => l.tops.some((t) => t.name === key))?.name ?? key;
      out.push({ layer, message: `'${key}' is resized with ${train.method} in TRAIN but ${test.method} in TEST: the net is tested with a method it was not trained with` });
    }
  }
  return out;
}
