// `caffe-tool upgrade` as a user runs it: real old files in, the files Caffe's rules give out (written by hand
// in fixtures/upgrade/, the binary ones encoded from those texts by protoc), exit codes, nothing written when
// nothing should be.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCaffeFile } from '../../src/io/files.js';
import type { Message } from '../../src/io/message.js';
import { fixture, fixtureValue, readFixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of a fixture in a fresh folder (so a test can watch what gets written beside it). */
function copyIn(dir: string, ...parts: string[]): string {
  const path = join(dir, parts[parts.length - 1]);
  copyFileSync(fixture(...parts), path);
  return path;
}

describe('caffe-tool upgrade: text nets', () => {
  const cases = ['lenet_train_test_v1', 'lenet_v1_input_dim', 'lenet_train_v1_data_param_scale', 'imagenet_val_v0', 'imagenet_deploy_v0_padding'];
  for (const name of cases) {
    it(`${name}: writes the net Caffe's rules give (fixtures/upgrade/${name}.expected.prototxt)`, () => {
      const dir = tempDir();
      const out = join(dir, 'out.prototxt');
      const r = run('upgrade', fixture('nets', 'old', `${name}.prototxt`), out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(readFileSync(out, 'utf8'), readFixture('upgrade', `${name}.expected.prototxt`).toString('utf8'));
    });
  }

  it('prints one line per change, after a line that says what IN is', () => {
    const r = run('upgrade', fixture('nets', 'old', 'lenet_train_test_v1.prototxt'), join(tempDir(), 'out.prototxt'));
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /lenet_train_test_v1\.prototxt: V1 net \(text, dialect bvlc\): 11 changes$/);
    assert.equal(lines[3], 'layer conv1: CONVOLUTION -> Convolution; blobs_lr -> param.lr_mult');
    assert.equal(lines[11], 'layer loss: SOFTMAX_LOSS -> SoftmaxWithLoss');
    assert.match(lines[12], /^wrote .*out\.prototxt \(text, 2282 bytes\)$/);
    assert.equal(lines.length, 13);
  });

  it('V0 with padding layers: says where each padding went', () => {
    // 4 padding layers folded, 23 layers V0 -> V1, the same 23 V1 -> V2, then the Input layer: 51 changes.
    const r = run('upgrade', fixture('nets', 'old', 'imagenet_deploy_v0_padding.prototxt'), '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: V0 net \(text, dialect bvlc\): 51 changes\n/);
    assert.match(r.stdout, /\nlayer pad2: padding layer removed, folded into conv2 \(pad 2, now reads "norm1"\)\n/);
    assert.match(r.stdout, /\nnet: input \+ input_dim -> layer input \(Input, first\): "data" \[10, 3, 227, 227\]\ndry run: nothing written\n$/);
  });

  it('a current file is written anyway, as Caffe\'s upgrade_net_proto_text does: the canonical printing, comments gone', () => {
    // Caffe logs "File already in latest proto format" and still calls WriteProtoToTextFile.
    const dir = tempDir();
    const once = join(dir, 'once.prototxt');
    assert.equal(run('upgrade', fixture('nets', 'old', 'imagenet_val_v0.prototxt'), once).code, 0);
    writeFileSync(once, `# a comment\n${readFileSync(once, 'utf8')}`);
    const twice = join(dir, 'twice.prototxt');
    const r = run('upgrade', once, twice);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /once\.prototxt: V2 net \(text, dialect bvlc\): already current, nothing to upgrade\nwrote .*twice\.prototxt \(text, \d+ bytes, reprinted as Caffe's upgrade tools write a current file\)\n$/);
    assert.equal(readFileSync(twice, 'utf8'), readFixture('upgrade', 'imagenet_val_v0.expected.prototxt').toString('utf8'));
    // A real current net with a comment header: protoc's printing of it (fixtures/canonical, C++ TextFormat).
    const squeeze = join(dir, 'squeeze.prototxt');
    assert.equal(run('upgrade', fixture('nets', 'squeezenet_v1.1_deploy.prototxt'), squeeze).code, 0);
    assert.equal(readFileSync(squeeze, 'utf8'), readFixture('canonical', 'squeezenet_v1.1_deploy.protoc.txt').toString('utf8'));
  });

  it('--dry-run prints the changes and writes nothing', () => {
    const dir = tempDir();
    const input = copyIn(dir, 'nets', 'old', 'lenet_v1_input_dim.prototxt');
    const before = readFileSync(input);
    const r = run('upgrade', input, join(dir, 'out.prototxt'), '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nlayer prob: SOFTMAX -> Softmax\n/);
    assert.match(r.stdout, /\ndry run: nothing written\n$/);
    assert.deepEqual(readdirSync(dir), ['lenet_v1_input_dim.prototxt']);
    assert.ok(readFileSync(input).equals(before));
    // Without OUT too.
    assert.equal(run('upgrade', input, '--dry-run').code, 0);
    assert.deepEqual(readdirSync(dir), ['lenet_v1_input_dim.prototxt']);
  });

  it('--in-place rewrites IN (OUT optional); without it IN is never overwritten', () => {
    const dir = tempDir();
    const input = copyIn(dir, 'nets', 'old', 'imagenet_deploy_v0_padding.prototxt');
    const before = readFileSync(input);
    const refused = run('upgrade', input, input);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is the input file/);
    assert.ok(readFileSync(input).equals(before));
    const r = run('upgrade', input, '--in-place');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(input, 'utf8'), readFixture('upgrade', 'imagenet_deploy_v0_padding.expected.prototxt').toString('utf8'));
    assert.deepEqual(readdirSync(dir), ['imagenet_deploy_v0_padding.prototxt'], 'a temporary file was left behind');
    const again = run('upgrade', input, '--in-place');
    assert.match(again.stdout, /already current, nothing to upgrade\n.*left unchanged\n$/);
  });

  it('what Caffe calls "not fully compatible" is written with a warning on stderr per dropped field', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.prototxt'), 'input: "x"\nlayers { layer { name: "r" type: "relu" num_output: 3 } bottom: "x" top: "x" }\n');
    const r = run('upgrade', join(dir, 'in.prototxt'), join(dir, 'out.prototxt'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'caffe-tool: warning: layer r: Unknown parameter num_output for layer type relu (dropped)\n');
    assert.match(r.stdout, /, with 1 warning \(Caffe: "not fully compatible"\)\n$/);
    assert.equal(readFileSync(join(dir, 'out.prototxt'), 'utf8'), 'layer {\n  name: "r"\n  type: "ReLU"\n  bottom: "x"\n  top: "x"\n}\n');
  });

  it('bad usage exits 2: no OUT without --in-place or --dry-run', () => {
    const r = run('upgrade', fixture('nets', 'old', 'lenet_v1_input_dim.prototxt'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /upgrade needs OUT\n {2}hint: give OUT, or --in-place/);
  });
});

describe('caffe-tool upgrade: refusals, with Caffe\'s reasons and no output', () => {
  const refused = (text: string, ...patterns: RegExp[]) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.prototxt'), text);
    const r = run('upgrade', join(dir, 'in.prototxt'), join(dir, 'out.prototxt'));
    assert.equal(r.code, 1);
    for (const p of patterns) assert.match(r.stderr, p);
    assert.doesNotMatch(r.stderr, /at .*\.js/);
    assert.deepEqual(readdirSync(dir), ['in.prototxt']);
  };

  it('a net with both layer and layers', () => {
    refused('name: "mixed"\nlayers { name: "a" type: RELU bottom: "x" top: "x" }\nlayer { name: "b" type: "ReLU" bottom: "x" top: "x" }\n',
      /in\.prototxt: Refusing to upgrade inconsistent NetParameter input; the definition includes both 'layer' and 'layers' fields\. The current format defines 'layer' fields with string type like layer \{ type: 'Layer' \.\.\. \} and not layers \{ type: LAYER \.\.\. \}\. Manually switch the definition to 'layer' format to continue\./,
      /hint: this net has 1 'layers' entries/);
  });

  it('a V0 padding layer feeding a layer that is not conv or pool, naming both', () => {
    refused('input: "data"\nlayers { layer { name: "pad1" type: "padding" pad: 1 } bottom: "data" top: "pad1" }\nlayers { layer { name: "fc" type: "innerproduct" num_output: 2 } bottom: "pad1" top: "fc" }\n',
      /in\.prototxt: layer 'fc': Padding layer input to non-convolutional \/ non-pooling layer type innerproduct: padding layer 'pad1' feeds it/);
  });

  it('a solver with both solver_type and type', () => {
    refused('base_lr: 0.1\nsolver_type: NESTEROV\ntype: "Nesterov"\n',
      /in\.prototxt: solver_type: Failed to upgrade solver: old solver_type field \(enum\) and new type field \(string\) cannot be both specified in solver proto text\./);
  });

  it('an unknown V0 layer type', () => {
    refused('layers { layer { name: "x" type: "maxout" } top: "x" }\n', /layer 'x': Unknown layer name: maxout/);
  });
});

describe('caffe-tool upgrade: solvers', () => {
  for (const name of ['mnist_autoencoder_solver_nesterov', 'enet_solver_encoder_decoder', 'lenet_solver_rmsprop_nospace']) {
    it(`${name}: solver_type becomes type (fixtures/upgrade/${name}.expected.prototxt)`, () => {
      const out = join(tempDir(), 'solver.prototxt');
      const r = run('upgrade', fixture('solvers', 'old', `${name}.prototxt`), out);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /: solver \(text\): 1 change\nsolver_type: \w+ -> type: "\w+"\nwrote /);
      assert.equal(readFileSync(out, 'utf8'), readFixture('upgrade', `${name}.expected.prototxt`).toString('utf8'));
    });
  }

  it('solver_type becomes type; a V1 net inside the solver stays as it is, as upgrade_solver_proto_text leaves it', () => {
    const dir = tempDir();
    const input = join(dir, 'in.prototxt');
    writeFileSync(input, 'solver_type: NESTEROV\nnet_param { layers { name: "r" type: RELU bottom: "x" top: "x" } }\nbase_lr: 0.01\n');
    const out = join(dir, 'out.prototxt');
    const r = run('upgrade', input, out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: solver \(text\): 1 change\nsolver_type: NESTEROV -> type: "Nesterov"\nwrote /);
    // Written by hand in field-number order (protoc --encode | --decode prints it back unchanged).
    assert.equal(readFileSync(out, 'utf8'),
      'base_lr: 0.01\nnet_param {\n  layers {\n    bottom: "x"\n    top: "x"\n    name: "r"\n    type: RELU\n  }\n}\ntype: "Nesterov"\n');
  });

  it('a solver without solver_type is already current, and written as Caffe\'s upgrade_solver_proto_text writes it', () => {
    const out = join(tempDir(), 'solver.prototxt');
    const r = run('upgrade', fixture('solvers', 'old', 'lenet_solver_2014_train_net_test_net.prototxt'), out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: solver \(text\): already current, nothing to upgrade\nwrote /);
    // fixtures/canonical: protoc's printing of the same file (its comments gone, fields in number order).
    assert.equal(readFileSync(out, 'utf8'), readFixture('canonical', 'lenet_solver_2014_train_net_test_net.protoc.txt').toString('utf8'));
  });
});

describe('caffe-tool upgrade: binary models keep every weight', () => {
  for (const v of ['v1', 'v0']) {
    it(`${v}_weights.caffemodel: the bytes protobuf writes for the hand-written upgraded net, blobs bit for bit`, () => {
      const dir = tempDir();
      const out = join(dir, 'up.caffemodel');
      const r = run('upgrade', fixture('binary', `${v}_weights.caffemodel`), out);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`: ${v.toUpperCase()} net \\(binary, dialect bvlc\\): 3 changes\\n`));
      // fixtures/upgrade/X.expected.caffemodel is protoc --encode of the hand-written X.expected.prototxt.
      assert.ok(readFileSync(out).equals(readFixture('upgrade', `${v}_weights.expected.caffemodel`)));
      const original = readCaffeFile(fixture('binary', `${v}_weights.caffemodel`)).message;
      const upgraded = readCaffeFile(out).message;
      const oldLayer = (original.layers as Message[])[0];
      const oldBlobs = (v === 'v1' ? oldLayer.blobs : (oldLayer.layer as Message).blobs) as Message[];
      const conv = (upgraded.layer as Message[]).find((l) => l.name === 'conv1')!;
      const newBlobs = conv.blobs as Message[];
      assert.equal(newBlobs.length, oldBlobs.length);
      for (let i = 0; i < oldBlobs.length; i++) {
        const a = oldBlobs[i].data as Float32Array;
        const b = newBlobs[i].data as Float32Array;
        assert.ok(b instanceof Float32Array);
        assert.ok(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
        for (let k = 0; k < b.length; k++) assert.equal(b[k], fixtureValue(k));
        assert.deepEqual([newBlobs[i].num, newBlobs[i].channels, newBlobs[i].height, newBlobs[i].width], [oldBlobs[i].num, oldBlobs[i].channels, oldBlobs[i].height, oldBlobs[i].width]);
      }
      // And the upgraded model is current.
      const again = run('upgrade', out, join(dir, 'again.caffemodel'));
      assert.match(again.stdout, /V2 net \(binary, dialect bvlc\): already current/);
      assert.ok(readFileSync(join(dir, 'again.caffemodel')).equals(readFileSync(out)));
    });
  }

  it('a fork model stays in its fork: PSPNet has no Input layer, so its input fields stay; written as protobuf encodes it', () => {
    const out = join(tempDir(), 'psp.caffemodel');
    const r = run('upgrade', fixture('dialects', 'pspnet.caffemodel'), out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /V2 net \(binary, dialect pspnet\): already current, nothing to upgrade\nnote: net: input fields kept: the pspnet fork has no Input layer/);
    // pspnet.caffemodel is protoc --encode output with PSPNet's own caffe.proto: re-encoding gives its bytes.
    assert.ok(readFileSync(out).equals(readFixture('dialects', 'pspnet.caffemodel')));
  });

  it('a binary model where a text file is expected is named as such, and nothing is written', () => {
    const dir = tempDir();
    const r = run('upgrade', fixture('binary', 'v1_weights.caffemodel'), join(dir, 'net.prototxt'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /v1_weights\.caffemodel is a binary model \(a \.caffemodel: weights, with the net inside\), but .*net\.prototxt names a text file/);
    assert.match(r.stderr, /hint: did you swap the model and the weights\?/);
    const t = run('upgrade', fixture('nets', 'old', 'lenet_v1_input_dim.prototxt'), join(dir, 'w.caffemodel'));
    assert.equal(t.code, 1);
    assert.match(t.stderr, /is a text net \(\.prototxt\), but .*w\.caffemodel names a binary file/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a file that is neither a net nor a solver is refused by what it is', () => {
    const dir = tempDir();
    const r = run('upgrade', fixture('binary', 'mean_shape.binaryproto'), join(dir, 'm.binaryproto'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mean_shape\.binaryproto is a blob \(BlobProto, such as a \.binaryproto mean file\): there is nothing to upgrade in it/);
    assert.ok(!existsSync(join(dir, 'm.binaryproto')));
  });
});
