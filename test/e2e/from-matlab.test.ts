// from-matlab and to-matlab as a user runs them, against fixtures written by scipy and python3-protobuf
// (fixtures/make_matlab.py): every conversion must give tiny_expected.caffemodel byte for byte.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCaffeFile, writeCaffeFile } from '../../src/io/files.js';
import { readMatFile } from '../../src/io/mat.js';
import type { Message } from '../../src/io/message.js';
import { readAnyMatFile } from '../../src/io/mat73.js';
import { fixture, fixtureValue, readFixture, ROOT, tempDir } from '../helpers.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const M = (f: string) => fixture('matlab', f);
const EXPECTED = readFixture('matlab', 'tiny_expected.caffemodel');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fromMatlab(weights: string, ...extra: string[]) {
  const dir = tempDir();
  const out = join(dir, 'out.caffemodel');
  const r = run('from-matlab', '--model', M('tiny.prototxt'), '--weights', weights, '--out-weights', out, ...extra);
  return { ...r, out, dir };
}

describe('caffe-tool from-matlab', () => {
  const cases: [string, string[], RegExp][] = [
    ['tiny_reversed.mat', [], /conv1: weight 'conv1_w' 3x3x3x4 -> 4x3x3x3 \(reversed\)/],
    ['tiny_reversed_z.mat', [], /ip1: weight 'ip1_w' 125x6 -> 6x125 \(reversed\)/],
    ['tiny_reversed.mat', ['--layout', 'reversed'], /\(reversed\)/],
    ['tiny_colmajor.mat', [], /conv2\/2x2: weight 'conv2_2x2_w' 5x4x2x2 -> 5x4x2x2 \(colmajor\)/],
    ['tiny_colmajor_z.mat', ['--layout', 'colmajor'], /\(colmajor\)/],
    ['tiny_struct.mat', [], /conv2\/2x2: weight 'conv2_2x2\.weights' .* bias 'conv2_2x2\.bias'/],
    ['tiny_struct_z.mat', [], /ip1: weight 'ip1'\{1\} 125x6 -> 6x125 \(reversed\), bias 'ip1'\{2\}/],
    ['tiny_map.mat', ['--map', M('tiny_map.json')], /bn1: mean 'L1_0' 4x1 -> 4 \(vector\)/],
    ['tiny_colmajor.caffemodel', ['--layout', 'colmajor'], /from a column-major caffemodel/],
  ];
  for (const [file, extra, line] of cases) {
    it(`${file} ${extra.join(' ')} gives the caffemodel protobuf built from the same blobs`, () => {
      const r = fromMatlab(M(file), ...extra);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /4 layers converted/);
      assert.match(r.stdout, line);
      assert.ok(readFileSync(r.out).equals(EXPECTED), 'output differs from tiny_expected.caffemodel');
    });
  }

  it('asks for --layout when both readings fit, naming the layer; the flag settles it', () => {
    const dir = tempDir();
    const out = join(dir, 'sq.caffemodel');
    const args = ['from-matlab', '--model', M('square.prototxt'), '--weights', M('square.mat'), '--out-weights', out];
    const r = run(...args);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /layer 'conv1': cannot tell the layout of a blob .*\n {2}layer 'conv1' blob 0 \(weight 'conv1_w', 3x3x3x3\)/);
    assert.match(r.stderr, /hint: give --layout reversed .* or --layout colmajor/);
    assert.equal(existsSync(out), false);
    const ok = run(...args, '--layout', 'reversed');
    assert.equal(ok.code, 0, ok.stderr);
    const info = run('info', M('square.prototxt'), '--weights', out, '--json');
    assert.equal(info.code, 0, info.stderr);
  });

  it('reads the square weights right: reversed keeps the memory, colmajor transposes it (checked by value)', () => {
    // square.mat holds conv1_w = arange(81).reshape(3,3,3,3).T: its memory is 0..80 in Caffe's order.
    const dir = tempDir();
    for (const layout of ['reversed', 'colmajor']) {
      const out = join(dir, `${layout}.caffemodel`);
      const r = run('from-matlab', '--model', M('square.prototxt'), '--weights', M('square.mat'), '--out-weights', out, '--layout', layout);
      assert.equal(r.code, 0, r.stderr);
      const txt = join(dir, `${layout}.prototxt`);
      assert.equal(run('convert', out, txt).code, 0);
      const data = [...readFileSync(txt, 'utf8').matchAll(/data: (\S+)/g)].map((m) => Number(m[1]));
      // Element (n, c, h, w) of the blob: reversed -> 27n + 9c + 3h + w; colmajor -> n + 3c + 9h + 27w.
      const at = (n: number, c: number, h: number, w: number) => data[27 * n + 9 * c + 3 * h + w];
      if (layout === 'reversed') assert.equal(at(1, 2, 0, 1), 27 + 18 + 1);
      else assert.equal(at(1, 2, 0, 1), 1 + 6 + 27);
      assert.deepEqual(data.slice(81), [0, 1, 2]);
    }
  });

  it('names the layer, the blob and both shapes when an array does not fit', () => {
    const dir = tempDir();
    const out = join(dir, 'x.caffemodel');
    const r = run('from-matlab', '--model', M('square.prototxt'), '--weights', M('tiny_reversed.mat'), '--out-weights', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tiny_reversed\.mat: layer 'conv1': blob 0: weight 'conv1_w' is 3x3x3x4, the net expects 3x3x3x3/);
    const forced = fromMatlab(M('tiny_reversed.mat'), '--layout', 'colmajor');
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /layer 'conv1': blob 0: weight 'conv1_w' is 3x3x3x4, the net expects 4x3x3x3 \(Caffe's order\) \(it would fit --layout reversed\)/);
    assert.deepEqual(readdirSync(dir), []);
    assert.deepEqual(readdirSync(forced.dir), []);
  });

  it('names the variable and byte offset of an array it cannot read', () => {
    const r = fromMatlab(M('tiny_sparse.mat'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /layer 'conv1': blob 0: 'conv1_w' is a sparse array \(element at byte 128\), not a numeric array/);
  });

  it('--map errors name the layer, and it never overwrites an input', () => {
    const dir = tempDir();
    const map = join(dir, 'map.json');
    writeFileSync(map, JSON.stringify({ conv1: ['L0_0'] }));
    const short = fromMatlab(M('tiny_map.mat'), '--map', map);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /layer 'conv1': the map gives 1 variables, the layer has 2 blobs \(weight, bias\)/);
    writeFileSync(map, JSON.stringify({ conv1: ['L0_0', 'L9_9'] }));
    const unknown = fromMatlab(M('tiny_map.mat'), '--map', map);
    assert.match(unknown.stderr, /layer 'conv1': blob 1: the map names 'L9_9', which is not in the MAT-file/);
    const nothing = fromMatlab(M('square.mat'));
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /layer 'conv1': blob 0: weight 'conv1_w' is 3x3x3x3/);
    const input = join(dir, 'in.mat');
    copyFileSync(M('tiny_reversed.mat'), input);
    const over = run('from-matlab', '--model', M('tiny.prototxt'), '--weights', input, '--out-weights', input);
    assert.equal(over.code, 2);
    assert.ok(readFileSync(input).equals(readFixture('matlab', 'tiny_reversed.mat')));
  });
});

describe('caffe-tool from-matlab: square blobs and caffemodels', () => {
  // fixtures/matlab/square_fc*: written by scipy.io.savemat and python3-protobuf (make_matlab.py square_fc). ip1's
  // 16x16 weight reads the same both ways; conv1's and ip2's do not.
  for (const file of ['square_fc_reversed.mat', 'square_fc_colmajor.mat']) {
    it(`${file}: a square InnerProduct is read as the file's other arrays agree`, () => {
      const dir = tempDir();
      const out = join(dir, 'out.caffemodel');
      const r = run('from-matlab', '--model', M('square_fc.prototxt'), '--weights', M(file), '--out-weights', out);
      assert.equal(r.code, 0, r.stderr);
      const layout = file.includes('reversed') ? 'reversed' : 'colmajor';
      assert.match(r.stdout, new RegExp(`ip1: weight 'ip1_w' 16x16 -> 16x16 \\(${layout}, as the file's other blobs\\)`));
      assert.ok(readFileSync(out).equals(readFixture('matlab', 'square_fc_expected.caffemodel')), 'output differs from square_fc_expected.caffemodel');
    });
  }

  it('refuses the square blob when the other arrays disagree, saying so; writes nothing', () => {
    const dir = tempDir();
    const m = run('from-matlab', '--model', M('square_fc.prototxt'), '--weights', M('square_fc_mixed.mat'), '--out-weights', join(dir, 'o.caffemodel'));
    assert.equal(m.code, 2);
    assert.match(m.stderr, /layer 'ip1': cannot tell the layout of a blob from its size/);
    assert.match(m.stderr, /The other blobs disagree: 1 read as reversed, 1 as colmajor\./);
    assert.deepEqual(readdirSync(dir), []);
    const forced = run('from-matlab', '--model', M('square_fc.prototxt'), '--weights', M('square_fc_mixed.mat'), '--out-weights', join(dir, 'o.caffemodel'), '--layout', 'reversed');
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /layer 'ip2': blob 0: weight 'ip2_w' is 5x16, .*\(it would fit --layout colmajor\)/);
  });

  it('a caffemodel already in Caffe\'s layout (what matcaffe\'s net.save writes) is named as such, without a --layout to try', () => {
    // tiny_expected.caffemodel: Caffe's shapes, row-major values (protobuf-written), as a file net.save wrote.
    for (const extra of [[], ['--layout', 'auto'], ['--layout', 'reversed']]) {
      const r = fromMatlab(M('tiny_expected.caffemodel'), ...extra);
      assert.equal(r.code, 2, extra.join(' '));
      assert.match(r.stderr, /tiny_expected\.caffemodel: every blob already has the shape Caffe gives it: the file is already in Caffe's layout \(what matcaffe's net\.save writes\) and needs no conversion/);
      assert.doesNotMatch(r.stderr, /colmajor|--layout/);
      assert.deepEqual(readdirSync(r.dir), []);
    }
  });

  it('a caffemodel with matcaffe\'s reversed shapes is re-dimmed by auto, its memory kept', () => {
    // The expected file's blobs under reversed dims (W x H x C x N): the same values, only the shapes differ.
    const dir = tempDir();
    const reversed = join(dir, 'reversed.caffemodel');
    const file = readCaffeFile(M('tiny_expected.caffemodel'));
    const layers = (file.message.layer as Message[]).map((l) => l.blobs
      ? { ...l, blobs: (l.blobs as Message[]).map((b) => ({ ...b, shape: { dim: [...((b.shape as Message).dim as number[])].reverse() } })) }
      : l);
    writeCaffeFile(reversed, { ...file, message: { ...file.message, layer: layers } }, 'binary');
    const out = join(dir, 'out.caffemodel');
    const r = run('from-matlab', '--model', M('tiny.prototxt'), '--weights', reversed, '--out-weights', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 layers converted from a caffemodel with matcaffe's reversed shapes/);
    assert.match(r.stdout, /conv2\/2x2: weight blob 0 2x2x4x5 -> 5x4x2x2 \(reversed\)/);
    assert.ok(readFileSync(out).equals(EXPECTED));
  });

  it('--layout colmajor on a caffemodel transposes, and says that a net.save file would not need it', () => {
    const r = fromMatlab(M('tiny_colmajor.caffemodel'), '--layout', 'colmajor');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /note: --layout colmajor transposes every blob of .*tiny_colmajor\.caffemodel: .*wrong for a file matcaffe's net\.save wrote/);
  });
});

describe('caffe-tool to-matlab', () => {
  it('writes matcaffe\'s arrays: the same bytes as the file scipy.io.loadmat checked, past the dated header', () => {
    const dir = tempDir();
    const out = join(dir, 'w.mat');
    const r = run('to-matlab', '--model', M('tiny.prototxt'), '--weights', M('tiny_expected.caffemodel'), '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /9 variables from 4 layers/);
    assert.match(r.stdout, /conv2\/2x2: conv2_2x2_w 2x2x4x5, conv2_2x2_b 5x1/);
    // fixtures/matlab/tiny_to_matlab.mat: written by to-matlab, checked with `make_matlab.py --check` (scipy.io.loadmat).
    assert.ok(readFileSync(out).subarray(116).equals(readFixture('matlab', 'tiny_to_matlab.mat').subarray(116)));
  });

  it('reads back with the MAT reader: reversed dims, the blob memory unchanged', () => {
    const dir = tempDir();
    const out = join(dir, 'w.mat');
    assert.equal(run('to-matlab', '--model', M('tiny.prototxt'), '--weights', M('tiny_expected.caffemodel'), '-o', out, '--compress').code, 0);
    const mat = readMatFile(out);
    const w = mat.variables.find((v) => v.name === 'ip1_w')!.value;
    assert.ok(w.kind === 'numeric' && w.class === 'single');
    assert.deepEqual(w.dims, [125, 6]);
    for (let i = 0; i < 750; i += 37) assert.equal(w.data[i], fixtureValue(7000 + i));
    const sf = mat.variables.find((v) => v.name === 'bn1_scale_factor')!.value;
    assert.ok(sf.kind === 'numeric');
    assert.deepEqual([...sf.dims, ...sf.data], [1, 1, 2]);
  });

  it('round trip: to-matlab then from-matlab gives the caffemodel back', () => {
    const dir = tempDir();
    const mat = join(dir, 'w.mat');
    assert.equal(run('to-matlab', '--model', M('tiny.prototxt'), '--weights', M('tiny_expected.caffemodel'), '-o', mat, '--compress').code, 0);
    const out = join(dir, 'back.caffemodel');
    const r = run('from-matlab', '--model', M('tiny.prototxt'), '--weights', mat, '--out-weights', out);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(out).equals(EXPECTED));
  });
});

describe('caffe-tool from-matlab, MAT v7.3 (HDF5) files', () => {
  // fixtures/matlab/tiny73_*.mat: written by python3-h5py the way MATLAB's save -v7.3 lays them out (a 512-byte
  // userblock holding the MATLAB header, each array transposed into a dataset with a MATLAB_class attribute).
  const cases: [string, string[], RegExp][] = [
    ['tiny73_reversed.mat', [], /conv1: weight 'conv1_w' 3x3x3x4 -> 4x3x3x3 \(reversed\), bias 'conv1_b' 4x1 -> 4 \(vector\)/],
    ['tiny73_reversed.mat', ['--layout', 'reversed'], /ip1: weight 'ip1_w' 125x6 -> 6x125 \(reversed\)/],
    ['tiny73_colmajor_z.mat', [], /conv2\/2x2: weight 'conv2_2x2_w' 5x4x2x2 -> 5x4x2x2 \(colmajor\)/],
    ['tiny73_colmajor_z.mat', ['--layout', 'colmajor'], /ip1: weight 'ip1_w' 6x125 -> 6x125 \(colmajor\)/],
    ['tiny73_struct.mat', [], /conv2\/2x2: weight 'conv2_2x2\.weights' 2x2x4x5 -> 5x4x2x2 \(reversed\), bias 'conv2_2x2\.bias'.*\n {2}ip1: weight 'ip1\.W' 6x125 -> 6x125 \(colmajor\)/],
  ];
  for (const [file, extra, line] of cases) {
    it(`${file} ${extra.join(' ')} gives the caffemodel protobuf built from the same blobs`, () => {
      const r = fromMatlab(M(file), ...extra);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /4 layers converted from a MAT-file/);
      assert.match(r.stdout, line);
      assert.ok(readFileSync(r.out).equals(EXPECTED), 'output differs from tiny_expected.caffemodel');
    });
  }

  it('reads the arrays as the v5 reader does: MATLAB dims, column-major memory, struct fields in MATLAB_fields order', async () => {
    const mat = await readAnyMatFile(M('tiny73_struct.mat'));
    assert.match(mat.header, /^MATLAB 7\.3 MAT-file/);
    const byName = new Map(mat.variables.map((v) => [v.name, v.value]));
    assert.deepEqual([...byName.keys()].sort(), ['bn1', 'conv1', 'conv2_2x2', 'ip1', 'note']);
    const conv1 = byName.get('conv1')!;
    assert.ok(conv1.kind === 'struct');
    assert.deepEqual(conv1.fields, ['w', 'b']);
    const w = conv1.elements[0].get('w')!;
    assert.ok(w.kind === 'numeric' && w.class === 'single');
    assert.deepEqual(w.dims, [3, 3, 3, 4]);
    // The matcaffe array's memory is the blob's row-major memory: value(0), value(1), ...
    for (let i = 0; i < 108; i += 7) assert.equal(w.data[i], fixtureValue(i));
    const bias = byName.get('conv2_2x2')!;
    assert.ok(bias.kind === 'struct');
    const b = bias.elements[0].get('bias')!;
    assert.ok(b.kind === 'numeric' && b.class === 'double');
    assert.deepEqual(b.dims, [5, 1]);
    const note = byName.get('note')!;
    assert.ok(note.kind === 'char');
    assert.equal(note.text, 'caffe-tool fixture: a struct per layer');
    assert.deepEqual(note.dims, [1, 38]);
    // The same entry point still reads v5 files.
    const v5 = await readAnyMatFile(M('tiny_reversed.mat'));
    assert.equal(v5.variables.length, 9);
  });

  it('refuses a cell array, naming the layer, the variable and its HDF5 object; writes nothing', () => {
    const r = fromMatlab(M('tiny73_cell.mat'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tiny73_cell\.mat: layer 'ip1': 'ip1' is a cell array \(MAT v7\.3 keeps cells as references into #refs#.*\(HDF5 object \/ip1\)/);
    assert.match(r.stderr, /hint: from a MAT v7\.3 file caffe-tool reads numeric arrays and 1x1 structs of them/);
    assert.deepEqual(readdirSync(r.dir), []);
  });

  it('names the blob when a v7.3 array does not fit the forced layout, and a damaged file', () => {
    const forced = fromMatlab(M('tiny73_reversed.mat'), '--layout', 'colmajor');
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /layer 'conv1': blob 0: weight 'conv1_w' is 3x3x3x4, the net expects 4x3x3x3 \(Caffe's order\) \(it would fit --layout reversed\)/);
    const dir = tempDir();
    const cut = join(dir, 'cut.mat');
    writeFileSync(cut, readFixture('matlab', 'tiny73_reversed.mat').subarray(0, 2000));
    const r = run('from-matlab', '--model', M('tiny.prototxt'), '--weights', cut, '--out-weights', join(dir, 'o.caffemodel'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cut\.mat: cannot open it as a MAT v7\.3 \(HDF5\) file: truncated file/);
    assert.doesNotMatch(r.stderr, /HDF5-DIAG/);
    assert.deepEqual(readdirSync(dir), ['cut.mat']);
  });
});
