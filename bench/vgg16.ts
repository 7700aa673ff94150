// VGG16 (deploy, 224x224) as a NetParameter, with weights of the right shapes: 138,357,544 floats.
import type { Message } from '../src/io/message.js';

const BLOCKS = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]];
const FC: [string, number][] = [['fc6', 4096], ['fc7', 4096], ['fc8', 1000]];

/** The net; with `weights`, every learned layer carries its blobs, filled from a fixed-seed generator. */
export function vgg16(weights: boolean): { net: Message; floats: number } {
  let floats = 0;
  let seed = 12345;
  const blob = (shape: number[]): Message => {
    const n = shape.reduce((a, b) => a * b, 1);
    floats += n;
    if (!weights) return { shape: { dim: shape } };
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = (seed / 4294967296 - 0.5) * 0.02;
    }
    return { shape: { dim: shape }, data };
  };
  const layer: Message[] = [{ name: 'data', type: 'Input', top: ['data'], input_param: { shape: [{ dim: [1, 3, 224, 224] }] } }];
  let bottom = 'data';
  let channels = 3;
  BLOCKS.forEach(([width, convs], b) => {
    for (let c = 1; c <= convs; c++) {
      const name = `conv${b + 1}_${c}`;
      layer.push({
        name, type: 'Convolution', bottom: [bottom], top: [name],
        convolution_param: { num_output: width, pad: [1], kernel_size: [3] },
        ...(weights ? { blobs: [blob([width, channels, 3, 3]), blob([width])] } : {}),
      });
      if (!weights) floats += width * channels * 9 + width;
      layer.push({ name: `relu${b + 1}_${c}`, type: 'ReLU', bottom: [name], top: [name] });
      bottom = name;
      channels = width;
    }
    layer.push({ name: `pool${b + 1}`, type: 'Pooling', bottom: [bottom], top: [`pool${b + 1}`], pooling_param: { pool: 'MAX', kernel_size: 2, stride: 2 } });
    bottom = `pool${b + 1}`;
  });
  let k = 512 * 7 * 7;
  for (const [name, n] of FC) {
    layer.push({
      name, type: 'InnerProduct', bottom: [bottom], top: [name], inner_product_param: { num_output: n },
      ...(weights ? { blobs: [blob([n, k]), blob([n])] } : {}),
    });
    if (!weights) floats += n * k + n;
    bottom = name;
    k = n;
    if (name !== 'fc8') layer.push({ name: `relu_${name}`, type: 'ReLU', bottom: [name], top: [name] });
  }
  layer.push({ name: 'prob', type: 'Softmax', bottom: ['fc8'], top: ['prob'] });
  return { net: { name: 'VGG_ILSVRC_16_layers', layer }, floats };
}
