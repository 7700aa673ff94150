// The training graph the CUDA provider gets computes what the CPU graph computes. It has none of the ops ONNX
// Runtime runs on the CPU only (docs/OperatorKernels.md lists no CUDA kernel for Col2Im or MaxUnpool) and no NCHWc
// layout: ConvTranspose for the strided data gradients, ScatterElements for the unpooling. CI has no GPU: both graphs run here on the CPU provider, from the
// same weights, batch and Dropout mask, three SGD steps inside the graph; the losses and the stepped weights agree.
import assert from 'node:assert/strict';
import { encodeModel } from '../../src/convert/onnx/model.js';
import { describe, it } from 'node:test';
import { parseCaffeText } from '../../src/io/files.js';
import { buildNet, type Net } from '../../src/net/net.js';
import { nchwcBlockSize } from '../../src/runtime/nchwc.js';
import { TrainingEngine } from '../../src/train/engine.js';
import { initialValues } from '../../src/train/init.js';
import { netParams } from '../../src/train/params.js';
import { Solver, sgdInGraph } from '../../src/train/solver.js';
import { syntheticBatch } from '../../src/train/synthetic.js';
import { cpuOnly, optimizedOps } from '../cuda-ops.js';
import { relError } from '../helpers.js';

// Strided, padded and grouped convolutions, a Deconvolution, BatchNorm with batch statistics, MAX pooling with its
// mask and the SegNet unpooling, Dropout, InnerProduct: every formulation that differs between the two graphs.
const SEGMENTER = `name: "both_graphs"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 16 dim: 16 } } }
layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 2 dim: 1 dim: 16 dim: 16 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 16 kernel_size: 3 pad: 1 bias_term: false weight_filler { type: "msra" } } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" }
layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1" scale_param { bias_term: true } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" top: "pool1_mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2" convolution_param { num_output: 16 kernel_size: 3 stride: 2 pad: 1 group: 2 weight_filler { type: "msra" } } }
layer { name: "conv3" type: "Convolution" bottom: "conv2" top: "conv3" convolution_param { num_output: 16 kernel_size: 2 weight_filler { type: "msra" } } }
layer { name: "up3" type: "Deconvolution" bottom: "conv3" top: "up3" convolution_param { num_output: 16 kernel_size: 4 stride: 2 weight_filler { type: "msra" } } }
layer { name: "drop" type: "Dropout" bottom: "up3" top: "up3" dropout_param { dropout_ratio: 0.3 } }
layer { name: "unpool1" type: "Upsample" bottom: "up3" bottom: "pool1_mask" top: "unpool1" upsample_param { scale: 2 } }
layer { name: "score" type: "Convolution" bottom: "unpool1" top: "score" convolution_param { num_output: 4 kernel_size: 1 weight_filler { type: "msra" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" }
`;

const CLASSIFIER = `name: "lenet_like"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 8 dim: 1 dim: 28 dim: 28 } } }
layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2" convolution_param { num_output: 50 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2" pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "spp" type: "SPP" bottom: "pool2" top: "spp" spp_param { pyramid_height: 2 pool: MAX } }
layer { name: "ip1" type: "InnerProduct" bottom: "spp" top: "ip1" inner_product_param { num_output: 100 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
`;

// DeepLab's dialect (whose field 143 is interp_param, so the inputs are the net's own): an overlapping max pooling, a dilated convolution, the label shrunk by Interp, SegAccuracy.
const DEEPLAB = `name: "deeplab_like"
input: "data" input_shape { dim: 2 dim: 3 dim: 17 dim: 17 }
input: "label" input_shape { dim: 2 dim: 1 dim: 17 dim: 17 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 3 pad: 1 weight_filler { type: "msra" } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2" convolution_param { num_output: 8 kernel_size: 3 pad: 2 dilation: 2 weight_filler { type: "msra" } } }
layer { name: "fc8" type: "Convolution" bottom: "conv2" top: "fc8" convolution_param { num_output: 3 kernel_size: 1 weight_filler { type: "msra" } } }
layer { name: "label_shrink" type: "Interp" bottom: "label" top: "label_shrink" interp_param { shrink_factor: 2 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc8" bottom: "label_shrink" top: "loss" }
layer { name: "accuracy" type: "SegAccuracy" bottom: "fc8" bottom: "label_shrink" top: "accuracy" }
`;

const SOLVER = { base_lr: 0.05, momentum: 0.9, weight_decay: 0.0005, lr_policy: 'fixed', type: 'SGD' };

interface Run {
  losses: number[];
  /** The last step's outputs (SegAccuracy's measures, for one). */
  outputs: Map<string, Float32Array>;
  values: Map<string, Float32Array>;
  ops: Set<string>;
}

async function train(net: Net, cpu: boolean, steps: number): Promise<Run> {
  const values = initialValues(net, netParams(net).owned, 7);
  // Every blob is stepped inside the graph, as the CUDA provider would step it without copying weights back.
  const engine = await TrainingEngine.create(net, { values, cpu, seed: 3, sgd: sgdInGraph(SOLVER, 'bvlc', 0) });
  try {
    const solver = new Solver(SOLVER, engine.params, engine.values);
    const batch = syntheticBatch(net, 5);
    const losses: number[] = [];
    let outputs = new Map<string, Float32Array>();
    for (let i = 0; i < steps; i++) {
      const rate = solver.learningRate();
      const r = await engine.step(batch, solver.sgdInputs(rate, engine.graph.sgd.keys()));
      assert.equal(r.updated.size, engine.params.filter((p) => p.lrMult !== 0).length, 'every learned blob stepped in the graph');
      solver.apply(r.grads, rate, r.updated);
      losses.push(r.loss);
      outputs = r.outputs;
    }
    const ops = await optimizedOps(encodeModel(engine.graph.g, { name: 'g', producerVersion: 'test', doc: '' }));
    return { losses, outputs, values: new Map([...engine.values].map(([p, v]) => [p.key, v])), ops };
  } finally {
    await engine.release();
  }
}


describe('the CUDA training graph against the CPU one (both on the CPU provider)', () => {
  const nets = [
    ['segmenter', SEGMENTER, ['Col2Im', 'MaxUnpool'], ['ConvTranspose']],
    // AVE 3x3 stride 2 on 8x8: the last window hangs one row and column over the edge.
    ['LeNet-like with AVE pooling and SPP', CLASSIFIER, ['Col2Im', 'MaxUnpool', 'ConvTranspose(unequal pads)', 'AveragePool(unequal pads)'], ['ConvTranspose']],
    ['DeepLab-like', DEEPLAB, [], []],
  ] as const;
  for (const [name, text, cpuOps, cudaOps] of nets) {
    it(`${name}: the same losses and weights after 3 SGD steps`, async () => {
      const file = parseCaffeText(text, { kinds: ['net'] });
      const net = buildNet(file.message, { phase: 'TRAIN', dialect: file.dialect });
      const [cpu, cuda] = [await train(net, true, 3), await train(net, false, 3)];
      // The two graphs do differ: the CPU one uses ops the CUDA provider lacks, the CUDA one none of them.
      for (const op of cpuOps) assert.ok(cpu.ops.has(op), `the CPU graph has ${op}`);
      // 16 channels: blocked convolutions where this CPU has a block size.
      if (name === 'segmenter' && (await nchwcBlockSize())) assert.ok(cpu.ops.has('com.microsoft.nchwc:Conv'), 'the CPU graph has blocked convolutions');
      for (const op of cuda.ops) assert.ok(!cpuOnly(op), `the CUDA graph has ${op}`);
      for (const op of cudaOps) assert.ok(cuda.ops.has(op), `the CUDA graph has ${op}`);
      for (let i = 0; i < 3; i++) {
        assert.ok(Math.abs(cpu.losses[i] - cuda.losses[i]) <= 1e-5 * Math.abs(cpu.losses[i]), `loss at step ${i + 1}: ${cpu.losses[i]} against ${cuda.losses[i]}`);
      }
      // The run moves: the loss falls, so agreement is not two graphs standing still.
      assert.ok(cpu.losses[2] < cpu.losses[0], `loss ${cpu.losses.join(' -> ')}`);
      for (const [top, v] of cpu.outputs) assert.ok(relError(v, cuda.outputs.get(top)!, 1e-6) <= 1e-5, `output ${top}: ${v} against ${cuda.outputs.get(top)}`);
      for (const [key, v] of cpu.values) {
        const d = relError(v, cuda.values.get(key)!, 1e-6);
        assert.ok(d <= 1e-5, `${key}: largest difference ${d.toExponential(2)} of its largest value`);
      }
    });
  }
});
