// Input fields -> Input layer (Caffe's NetNeedsInputUpgrade / UpgradeNetInput). A net with `input` names and
// shapes (`input_shape`, else `input_dim` in groups of four) gets a layer named "input" of type "Input" with
// one top and one shape per input, moved to the front of the net. Names without any shape (a legacy
// caffemodel) are just stripped. All three fields are then cleared.
import { dialectHasLayerType } from '../../io/dialect.js';
import type { Message } from '../../io/message.js';
import { type Dialect, dialectSchema } from '../../io/schema.js';
import { count, items, list, show, type StepResult, upgradeError } from './common.js';

/**
 * Whether a fork has the Input layer. DeepLab v2 and PSPNet branched before it (their LayerParameter field 143
 * is interp_param), and so did SegNet (its LayerParameter stops at 138; its upgrade_proto has no input step):
 * their Caffe reads the input fields as they are, so they are kept there.
 */
export function dialectHasInputLayer(dialect: Dialect): boolean {
  return dialectHasLayerType(dialect, 'Input') && (dialectSchema(dialect).messages.get('LayerParameter')?.byName.has('input_param') ?? false);
}

export function netNeedsInputUpgrade(net: Message): boolean {
  return count(net, 'input') > 0;
}

export function upgradeNetInput(net: Message): StepResult {
  const changes: string[] = [];
  const warnings: string[] = [];
  const inputs = list<string>(net, 'input');
  const shapes = items<Message>(net, 'input_shape');
  const dims = items<number>(net, 'input_dim');
  const out: Message = { ...net };
  delete out.input;
  delete out.input_shape;
  delete out.input_dim;
  if (shapes.length > 0 || dims.length > 0) {
    const tops: string[] = [];
    const shape: Message[] = [];
    const described: string[] = [];
    for (let i = 0; i < inputs.length; i++) {
      tops.push(inputs[i]);
      if (shapes.length > 0) {
        if (i >= shapes.length) {
          throw upgradeError(`the net has ${inputs.length} inputs but ${shapes.length} input_shape entries`, {
            hint: 'give one input_shape { dim: ... } per input, in the same order',
          });
        }
        shape.push(shapes[i]);
      } else {
        if (dims.length < 4 * (i + 1)) {
          throw upgradeError(`the net has ${inputs.length} inputs but ${dims.length} input_dim values (4 per input: N, C, H, W)`, {
            hint: 'give four input_dim values per input, in the same order, or one input_shape { dim: ... } per input',
          });
        }
        shape.push({ dim: Array.from(dims).slice(4 * i, 4 * i + 4) });
      }
      described.push(`"${inputs[i]}" [${show(items(shape[i], 'dim'))}]`);
    }
    if (shapes.length > 0 && dims.length > 0) {
      warnings.push(`net: input_dim ignored: input_shape is given too, and Caffe uses input_shape`);
    } else if (shapes.length > inputs.length) {
      warnings.push(`net: ${shapes.length - inputs.length} input_shape entries beyond the ${inputs.length} inputs ignored, as Caffe ignores them`);
    } else if (dims.length > 4 * inputs.length) {
      warnings.push(`net: ${dims.length - 4 * inputs.length} input_dim values beyond 4 per input ignored, as Caffe ignores them`);
    }
    const layer: Message = { name: 'input', type: 'Input', top: tops, input_param: { shape } };
    out.layer = [layer, ...list<Message>(net, 'layer')];
    const from = shapes.length > 0 ? 'input + input_shape' : 'input + input_dim';
    changes.push(`net: ${from} -> layer input (Input, first): ${described.join(', ')}`);
  } else {
    changes.push(`net: input ${inputs.map((s) => `"${s}"`).join(', ')} removed: no shape given (a legacy caffemodel field), as Caffe strips it`);
  }
  return { net: out, changes, warnings };
}
