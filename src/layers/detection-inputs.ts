// The inputs SSD's MultiBoxLoss and DetectionOutput share, checked as both layers check them: location
// predictions [N, priors * loc_classes * 4], confidences [N, priors * num_classes] and PriorBox's output
// [1, 2, priors * 4], whose axis 2 (read as height) gives the number of priors.
import { CaffeToolError } from '../errors.js';
import { formatShape, legacyShape } from './shape.js';
import type { LayerContext } from './types.js';

/** Checks bottoms 0 to 2 against num_classes and share_location and returns the number of priors. */
export function checkPredictions(ctx: LayerContext, numClasses: number, shareLocation: boolean, param: string): number {
  const [loc, conf, priors] = ctx.inputs.slice(0, 3).map((s) => legacyShape(s, ctx.type));
  const name = (i: number) => `'${ctx.bottoms[i]}' (${formatShape(ctx.inputs[i])})`;
  if (loc[0] !== conf[0]) {
    throw new CaffeToolError(`the location predictions ${name(0)} and the confidences ${name(1)} must have the same batch size, got ${loc[0]} and ${conf[0]}`);
  }
  const numPriors = Math.trunc(priors[2] / 4);
  const locClasses = shareLocation ? 1 : numClasses;
  const locWant = numPriors * locClasses * 4;
  if (locWant !== loc[1]) {
    const per = shareLocation ? '' : ` x ${param}.num_classes ${numClasses} (share_location is false)`;
    throw new CaffeToolError(
      `the location predictions ${name(0)} need ${numPriors} priors (from ${name(2)})${per} x 4 = ${locWant} values per image, got ${loc[1]}`,
    );
  }
  if (numPriors * numClasses !== conf[1]) {
    throw new CaffeToolError(
      `the confidences ${name(1)} need ${numPriors} priors (from ${name(2)}) x ${param}.num_classes ${numClasses} = ${numPriors * numClasses} values per image, got ${conf[1]}`,
    );
  }
  return numPriors;
}
