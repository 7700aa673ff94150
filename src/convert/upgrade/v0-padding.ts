// V0 step 1 (Caffe's UpgradeV0PaddingLayers): the first Caffe nets padded with separate `padding` layers.
// Each is removed and its `pad` goes into the convolution or pooling layer that reads its output, which then
// reads the padding layer's input instead. Caffe stops on anything else, and so does this.
import type { Message } from '../../io/message.js';
import { items, layerLabel, list, type StepResult, upgradeError, where } from './common.js';

export function upgradeV0PaddingLayers(net: Message): StepResult {
  const layers = items<Message>(net, 'layers');
  const changes: string[] = [];
  // Which layer last wrote each blob: -1 for the net's inputs.
  const lastTop = new Map<string, number>();
  for (const name of list<string>(net, 'input')) lastTop.set(name, -1);
  const out: Message[] = [];
  const folded = new Map<number, string[]>();
  for (let i = 0; i < layers.length; i++) {
    const conn = layers[i];
    const v0 = (conn.layer as Message | undefined) ?? {};
    const type = (v0.type as string | undefined) ?? '';
    if (type !== 'padding') out.push({ ...conn });
    const bottoms = items<string>(conn, 'bottom');
    for (let j = 0; j < bottoms.length; j++) {
      const blob = bottoms[j];
      const from = lastTop.get(blob);
      if (from === undefined) {
        throw upgradeError(`unknown blob input "${blob}": it is neither a net input nor the top of an earlier layer`, {
          where: where(v0, i),
          hint: 'Caffe\'s V0 upgrade stops here too ("Unknown blob input"): a V0 net must list its layers in order, after its inputs',
        });
      }
      if (from === -1) continue;
      const source = layers[from];
      const sourceV0 = (source.layer as Message | undefined) ?? {};
      if (sourceV0.type !== 'padding') continue;
      const padName = layerLabel(sourceV0, from);
      if (type !== 'conv' && type !== 'pool') {
        throw upgradeError(
          `Padding layer input to non-convolutional / non-pooling layer type ${type || '(none)'}: padding layer '${padName}' feeds it`,
          {
            where: where(v0, i),
            hint: 'a V0 padding layer can only be folded into the convolution or pooling layer that reads it, as Caffe does; give this layer its own padding or read the unpadded blob',
          },
        );
      }
      if (bottoms.length !== 1) {
        throw upgradeError(`Conv Layer takes a single blob as input: it reads padding layer '${padName}' among ${bottoms.length} inputs`, {
          where: where(v0, i),
        });
      }
      if (items(source, 'bottom').length !== 1) {
        throw upgradeError('Padding Layer takes a single blob as input', { where: where(sourceV0, from) });
      }
      if (items(source, 'top').length !== 1) {
        throw upgradeError('Padding Layer produces a single blob as output', { where: where(sourceV0, from) });
      }
      const pad = (sourceV0.pad as number | undefined) ?? 0;
      const target = out[out.length - 1];
      target.layer = { ...((target.layer as Message | undefined) ?? {}), pad };
      const newBottoms = [...list<string>(target, 'bottom')];
      newBottoms[j] = items<string>(source, 'bottom')[0];
      target.bottom = newBottoms;
      const into = folded.get(from) ?? [];
      into.push(`${layerLabel(v0, i)} (pad ${pad}, now reads "${newBottoms[j]}")`);
      folded.set(from, into);
    }
    for (const top of list<string>(conn, 'top')) lastTop.set(top, i);
  }
  for (let i = 0; i < layers.length; i++) {
    const v0 = (layers[i].layer as Message | undefined) ?? {};
    if (v0.type !== 'padding') continue;
    const into = folded.get(i);
    changes.push(
      into
        ? `layer ${layerLabel(v0, i)}: padding layer removed, folded into ${into.join(', ')}`
        : `layer ${layerLabel(v0, i)}: padding layer removed (no layer reads its output)`,
    );
  }
  return { net: { ...net, layers: out }, changes, warnings: [] };
}
