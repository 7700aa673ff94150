import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeCaffe, parseCaffeText, readCaffeFile } from '../../src/io/files.js';
import type { CaffeToolError } from '../../src/errors.js';
import type { Message } from '../../src/io/message.js';
import { dialectSchema, messageInfo, unionSchema } from '../../src/io/schema.js';
import { KINDS } from '../../src/io/sniff.js';
import { parseText } from '../../src/io/text/parse.js';
import { formatFloat, formatG, printText } from '../../src/io/text/print.js';
import { fixture, ROOT } from '../helpers.js';

const net = (text: string) => parseCaffeText(text, { kinds: ['net'] }).message;
const layers = (m: Message) => m.layer as Message[];
const print = (file: { kind: keyof typeof KINDS; dialect: Parameters<typeof dialectSchema>[0]; message: Message }) =>
  printText(file.message, messageInfo(dialectSchema(file.dialect), KINDS[file.kind]));

/** Every fixture file under fixtures/, by base name. */
function fixturesByName(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else out.set(e.name, join(dir, e.name));
    }
  };
  walk(join(ROOT, 'fixtures'));
  return out;
}

describe('text printing matches protobuf C++ TextFormat (protoc --decode)', () => {
  const files = fixturesByName();
  for (const [name, path] of files) {
    if (!name.endsWith('.protoc.txt')) continue;
    const reference = readFileSync(path, 'utf8');
    const source = files.get(name.replace(/\.protoc\.txt$/, '')) ?? files.get(name.replace(/\.protoc\.txt$/, '.prototxt'));
    if (name.startsWith('unknown_fields')) {
      it(`${name}: fields printed by number are refused, as protobuf refuses them`, () => {
        assert.throws(() => readCaffeFile(path), (e: CaffeToolError) => /:14:1: field numbers \(999\) cannot be read from text/.test(e.format()));
        assert.equal(print(readCaffeFile(source!)), reference);
      });
      continue;
    }
    it(`${name}: parse then print changes nothing`, () => {
      const parsed = readCaffeFile(path);
      assert.equal(print(parsed), reference);
    });
    if (source) {
      it(`${name}: its source prints as protoc prints it`, () => {
        const file = readCaffeFile(source);
        assert.equal(print(file), reference);
        if (file.encoding === 'binary') assert.ok(Buffer.from(encodeCaffe(readCaffeFile(path))).equals(readFileSync(source)));
      });
    }
  }
});

describe('text parsing', () => {
  it('reads every syntax protobuf text format allows', () => {
    const text = '\ufeff# a comment\nname: \'Le\' "Net" # trailing\n' +
      'layer: { name: "a\\tb\\x41\\101\\u00e9\\\'" type: "Convolution"; bottom: ["x", "y"], top: "z" }\n' +
      'layer < name: "p" type: "Pooling" pooling_param { pool: 1 kernel_size: 0x3 stride: 010 } >\n' +
      'layer { name: "s" type: "Scale" loss_weight: [1e-5f, -inf, .5, 2] scale_param { axis: -1 } }\n' +
      'layer { name: "d" type: "Dropout" dropout_param { dropout_ratio: 5E-1 } include { phase: TEST } propagate_down: true propagate_down: f }\n';
    const m = net(text);
    assert.equal(m.name, 'LeNet');
    const [a, p, s, d] = layers(m);
    assert.equal(a.name, 'a\tbAAé\'');
    assert.deepEqual(a.bottom, ['x', 'y']);
    assert.deepEqual(a.top, ['z']);
    assert.deepEqual(p.pooling_param, { pool: 'AVE', kernel_size: 3, stride: 8 });
    assert.deepEqual([...(s.loss_weight as Float32Array)], [Math.fround(1e-5), -Infinity, 0.5, 2]);
    assert.equal((s.scale_param as Message).axis, -1);
    assert.equal((d.dropout_param as Message).dropout_ratio, 0.5);
    assert.deepEqual(d.include, [{ phase: 'TEST' }]);
    assert.deepEqual(d.propagate_down, [true, false]);
  });

  it('keeps floats as float32, as Caffe reads them', () => {
    const m = net('layer { batch_norm_param { eps: 0.001 } }');
    assert.equal((layers(m)[0].batch_norm_param as Message).eps, Math.fround(0.001));
  });

  it('reads solvers, with old enum fields and numbers', () => {
    const s = parseCaffeText('net: "n.prototxt"\nbase_lr: 0.01\nsolver_type: NESTEROV\nsolver_mode: 0\nstepvalue: 100 stepvalue: 200');
    assert.equal(s.kind, 'solver');
    assert.deepEqual(s.message, { net: 'n.prototxt', base_lr: Math.fround(0.01), solver_type: 'NESTEROV', solver_mode: 'CPU', stepvalue: [100, 200] });
  });

  it('prints floats the way protobuf C++ does (%.6g, else %.9g)', () => {
    // Hand-checked against printf: %.6g of 1e-5 is 1e-05, of 1e6 is 1e+06, of 0.1f is 0.1.
    assert.equal(formatFloat(Math.fround(1e-5)), '1e-05');
    assert.equal(formatFloat(1e6), '1e+06');
    assert.equal(formatFloat(123456), '123456');
    assert.equal(formatFloat(Math.fround(0.1)), '0.1');
    assert.equal(formatFloat(Math.fround(0.0001)), '0.0001');
    assert.equal(formatFloat(Math.fround(1 / 3)), '0.333333343');
    // glibc's %g of the specials (Caffe's log prints a NaN loss or a per-class accuracy of 0/0 this way).
    assert.deepEqual([NaN, Infinity, -Infinity].map((v) => formatG(v, 6)), ['nan', 'inf', '-inf']);
    assert.equal(formatFloat(-0), '-0');
    assert.equal(formatFloat(NaN), 'nan');
    assert.equal(formatFloat(-Infinity), '-inf');
  });

  it('records which dialects know the names used', () => {
    const u = unionSchema();
    const plain = parseText('layer { type: "ReLU" }', u, 'NetParameter');
    assert.ok(plain.dialects.has('bvlc') && plain.dialects.has('segnet'));
    const segnet = parseText('layer { type: "Upsample" upsample_param { scale: 2 } }', u, 'NetParameter');
    assert.deepEqual([...segnet.dialects].sort(), ['enet', 'segnet']);
    assert.equal(parseCaffeText('layer { type: "Upsample" upsample_param { scale: 2 } }').dialect, 'segnet');
    // SegNet's LayerParameter stops at field 138: no Input (143) or Scale (142) layer. ENet's (BVLC-based) has them.
    assert.equal(parseCaffeText('input: "data" layer { type: "Upsample" upsample_param { scale: 2 } }').dialect, 'segnet');
    assert.equal(parseCaffeText('layer { type: "Input" } layer { type: "Upsample" upsample_param { scale: 2 } }').dialect, 'enet');
    assert.equal(parseCaffeText('layer { type: "BN" } layer { type: "Scale" } layer { type: "Upsample" }').dialect, 'enet');
    const enet = parseCaffeText('layer { loss_param { normalization: VALID class_weighting: 2 } }');
    assert.equal(enet.dialect, 'enet');
    const interp = parseCaffeText('layer { type: "Interp" interp_param { zoom_factor: 2 } }');
    assert.equal(interp.dialect, 'deeplab');
    assert.equal(parseCaffeText('layer { type: "BN" bn_param { frozen: true } }').dialect, 'pspnet');
    assert.equal(parseCaffeText('layer { type: "PriorBox" prior_box_param { min_size: 30 } }').dialect, 'ssd');
  });

  it('refuses a file mixing forks, and names the field when the dialect is given', () => {
    const mixed = 'layer { upsample_param { scale: 2 } } layer { interp_param { zoom_factor: 2 } }';
    assert.throws(() => parseCaffeText(mixed), /different Caffe forks/);
    assert.throws(() => parseCaffeText(mixed, { dialect: 'segnet' }), (e: CaffeToolError) => /^1:47: unknown field 'interp_param' in LayerParameter/.test(e.format()));
  });
});

describe('text errors say what and where', () => {
  const fails = (text: string, pattern: RegExp, hint?: RegExp) => {
    assert.throws(() => parseCaffeText(text, { kinds: ['net'] }), (e: CaffeToolError) => {
      assert.match(e.format(), pattern);
      if (hint) assert.match(e.hint ?? '', hint);
      return true;
    });
  };
  it('unknown fields, with the closest names and where the name belongs', () => {
    fails('layer {\n  name: "c"\n  convolution_param { num_ouput: 3 }\n}', /3:23: unknown field 'num_ouput' in ConvolutionParameter/, /did you mean 'num_output'/);
    fails('layer { kernel_size: 3 }', /1:9: unknown field 'kernel_size' in LayerParameter/, /is a field of .*ConvolutionParameter/);
  });
  it('bad values', () => {
    fails('layer { pooling_param { pool: MAXX } }', /1:31: 'MAXX' is not a value of PoolingParameter.PoolMethod/, /did you mean MAX/);
    fails('layer { pooling_param { pool: 7 } }', /1:31: 7 is not a value of PoolingParameter.PoolMethod/, /MAX = 0/);
    fails('name: "\\U00110000"', /1:8: \\U00110000 is past the last Unicode code point/);
    fails('layer { convolution_param { num_output: -3 } }', /-3 is out of range for 'num_output' \(uint32\)/);
    fails('layer { convolution_param { num_output: 2.5 } }', /'num_output' is an integer/);
    fails('layer { convolution_param { bias_term: yes } }', /'bias_term' is a bool/);
    fails('name: LeNet', /'name' is a string: expected a quoted string, found 'LeNet'/);
    fails('name: "Le\nNet"', /1:7: string is not closed/);
  });
  it('structure', () => {
    fails('layer {\n  name: "a"\n', /3:1: expected '}' to close 'layer' opened at 1:7, found the end of the file/);
    fails('layer { name "a" }', /expected ':' after 'name'/);
    fails('name: "a" name: "b"', /1:11: non-repeated field 'name' is specified more than once/);
    fails('layer { name: "a" } }', /1:21: expected a field name in NetParameter, found '}'/);
  });
  it('a file name in the position when there is one', () => {
    assert.throws(() => readCaffeFile(fixture('odd', 'lenet_train_test_colon_brace.prototxt')), (e: CaffeToolError) => {
      assert.match(e.format(), /lenet_train_test_colon_brace\.prototxt:169:5: unknown field 'label_smooth' in SoftmaxParameter/);
      return true;
    });
  });
});
