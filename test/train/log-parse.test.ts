// Reading training logs back: values written by hand from the fixture lines, and the tables Caffe's own
// tools/extra/parse_log.py wrote for the same logs (fixtures/logs/*.log.train / .test).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLog, pyFloat, readLog, tableCsv, type LogRow } from '../../src/train/log-parse.js';
import { linearAxis, niceStep, smooth } from '../../src/train/plot.js';
import { fixture, readFixture } from '../helpers.js';

const row = (r: LogRow) => ({ iter: r.iter, seconds: r.seconds, lr: r.lr, ...Object.fromEntries(r.outputs) });
const glog = (mmdd: string, time: string, msg: string) => `I${mmdd} ${time} 4711 solver.cpp:218] ${msg}`;

describe('Caffe 1.0 log (lenet_caffe1.log)', () => {
  const log = readLog(fixture('logs', 'lenet_caffe1.log'));

  it('train rows: iteration, seconds since "Solving", the lr parse_log.py gives, each output', () => {
    assert.equal(log.format, 'glog');
    assert.equal(log.train.length, 20);
    // Solving at 23:58:30.845961; the first Train net output line at 23:58:33.712487.
    assert.deepEqual(row(log.train[0]), { iter: 0, seconds: 2.866526, lr: 0.01, loss: 2.34988 });
    // lr = 0.001 is printed for iteration 800 after its outputs: row 800 still has 0.01, row 900 has 0.001.
    assert.deepEqual(row(log.train[8]), { iter: 800, seconds: 66.629574, lr: 0.01, loss: 0.1997 });
    assert.deepEqual(row(log.train[9]), { iter: 900, seconds: 73.990576, lr: 0.001, loss: 0.156989 });
    // Past midnight into the new year: 89.154039 s to 00:00:00, then 10.167865 s.
    assert.deepEqual(row(log.train[12]), { iter: 1200, seconds: 99.321904, lr: 0.001, loss: 0.0712892 });
  });

  it('test rows gather the outputs of one test; the lr series keeps each rate at its own iteration', () => {
    assert.deepEqual(log.test.map((r) => r.iter), [0, 500, 1000, 1500, 2000]);
    // 23:59:55.232131 - 23:58:30.845961
    assert.deepEqual(row(log.test[2]), { iter: 1000, seconds: 84.38617, lr: 0.001, accuracy: 0.978128, loss: 0.0747969 });
    assert.equal(log.lr.length, 20);
    assert.deepEqual(log.lr.find((p) => p.iter === 800), { iter: 800, seconds: 66.629586, lr: 0.001 });
    assert.deepEqual(log.lr.find((p) => p.iter === 1600)?.lr, 0.0001);
  });

  it('--csv tables are byte for byte what parse_log.py wrote', () => {
    assert.equal(tableCsv(log.train), readFixture('logs', 'lenet_caffe1.log.train').toString());
    assert.equal(tableCsv(log.test), readFixture('logs', 'lenet_caffe1.log.test').toString());
  });
});

describe('older Caffe logs', () => {
  it('2015 (`Iteration 100, loss = ...`, two train outputs): the rows and tables parse_log.py wrote', () => {
    const log = readLog(fixture('logs', 'lenet_2015.log'));
    assert.deepEqual(row(log.train[1]), { iter: 100, seconds: 12.659617, lr: 0.01, accuracy: 0.40625, loss: 1.66978 });
    assert.equal(tableCsv(log.train), readFixture('logs', 'lenet_2015.log.train').toString());
    assert.equal(tableCsv(log.test), readFixture('logs', 'lenet_2015.log.test').toString());
  });

  it('Caffe 0.9 (no Train net output lines, `Test score #0`): the loss from the display line', () => {
    const log = readLog(fixture('logs', 'caffe09.log'));
    assert.deepEqual(log.train.map((r) => r.iter), [100, 200, 300, 400, 500, 600]);
    // 13:39:20.036554 - 13:39:02.381027; lr printed just before the loss.
    assert.deepEqual(row(log.train[0]), { iter: 100, seconds: 17.655527, lr: 0.00992565, loss: 1.75408 });
    assert.deepEqual(row(log.test[1]), { iter: 300, seconds: 47.452962, lr: 0.00978075, 'score #0': 0.759978, 'score #1': 0.698209 });
  });
});

describe('caffe-tool train --log-json (lenet.jsonl, the same run as lenet_caffe1.log)', () => {
  const log = readLog(fixture('logs', 'lenet.jsonl'));

  it('train and test records', () => {
    assert.equal(log.format, 'json');
    assert.equal(log.train.length, 20);
    assert.deepEqual(row(log.train[9]), { iter: 900, seconds: 73.990576, lr: 0.001, loss: 0.156989 });
    assert.deepEqual(row(log.test[4]), { iter: 2000, seconds: 165.958602, lr: 0.0001, accuracy: 0.987991, loss: 0.0392238 });
    // The first test comes before any rate was printed: it takes the first one.
    assert.equal(log.test[0].lr, 0.01);
    assert.deepEqual(log.lr.slice(7, 10).map((p) => p.lr), [0.01, 0.001, 0.001]);
  });

  it('a line cut short, vector outputs, a second test net', () => {
    const text = [
      '{"phase":"train","iter":0,"seconds":0.5,"loss":2.5,"lr":0.1,"outputs":{"loss":2.5}}',
      '{"phase":"test","iter":0,"seconds":1,"net":1,"outputs":{"accuracy":0.5,"per_class":[0.1,0.9]}}',
      '{"phase":"train","iter":10,"seconds":2,"loss":1.5,"lr":0.1,"outp',
    ].join('\n');
    const log = parseLog(text);
    assert.equal(log.train.length, 1);
    assert.deepEqual(row(log.test[0]), { iter: 0, seconds: 1, lr: 0.1, 'net1/accuracy': 0.5 });
  });
});

describe("parse_log.py's line rules", () => {
  it('nothing before the "Solving" line counts; non-glog lines are skipped but still move the iteration', () => {
    const text = [
      glog('0510', '10:00:00.000000', 'Iteration 5, loss = 9'),
      glog('0510', '10:00:00.000001', '    Train net output #0: loss = 9 (* 1 = 9 loss)'),
      glog('0510', '10:00:01.000000', 'Solving Net'),
      '    Train net output #0: loss = 7 (* 1 = 7 loss)',
      'a note about Iteration 40',
      glog('0510', '10:00:02.500000', '    Train net output #0: loss = 3 (* 1 = 3 loss)'),
      '',
      `\r[=====>      ] 40/100  loss 3  12.0 it/s\x1b[K\r\x1b[K${glog('0510', '10:00:03.250000', 'Iteration 50, lr = 1e-05')}`,
      glog('0510', '10:00:04.000000', '    Train net output #0: loss = nan (* 1 = nan loss)'),
      glog('0510', '10:00:05.000000', '    Train net output #0: loss = 2.5e-1 (* 1 = 0.25 loss)'),
    ].join('\r\n');
    const log = parseLog(text, { year: 2025 });
    assert.deepEqual(log.train.map(row), [
      { iter: 40, seconds: 1.5, lr: 1e-5, loss: 3 },
      { iter: 50, seconds: 4, lr: 1e-5, loss: 0.25 },
    ]);
    assert.deepEqual(log.lr, [{ iter: 50, seconds: 2.25, lr: 1e-5 }]);
    // The first row takes the second row's rate (fix_initial_nan_learning_rate): 1e-05 in Python's spelling.
    assert.equal(tableCsv(log.train), 'NumIters,Seconds,LearningRate,loss\r\n40.0,1.5,1e-05,3.0\r\n50.0,4.0,1e-05,0.25\r\n');
  });

  it('the year: from glog\'s header (2024 has a 29 February), rolling over at New Year', () => {
    const lines = (header: string) => [
      header,
      glog('0228', '23:59:59.000000', 'Solving Net'),
      glog('0301', '00:00:01.000000', 'Iteration 0, Testing net (#0)'),
      glog('0301', '00:00:01.000000', '    Test net output #0: accuracy = 0.5'),
    ].join('\n');
    assert.equal(parseLog(lines('Log file created at: 2024/02/28 23:59:58')).test[0].seconds, 86402);
    assert.equal(parseLog(lines('Log file created at: 2025/02/28 23:59:58')).test[0].seconds, 2);
    const newYear = [
      glog('1231', '23:59:59.500000', 'Solving Net'),
      glog('1231', '23:59:59.750000', 'Iteration 0, Testing net (#0)'),
      glog('0101', '00:00:00.250000', '    Test net output #0: accuracy = 0.5'),
    ].join('\n');
    assert.equal(parseLog(newYear, { year: 2025 }).test[0].seconds, 0.75);
  });

  it('a row still open at the end is kept (parse_log.py drops it); with no "Solving" the clock starts at the first line', () => {
    const text = [
      glog('0510', '10:00:02.000000', 'Iteration 0, Testing net (#0)'),
      glog('0510', '10:00:03.000000', '    Test net output #0: accuracy = 0.25'),
      glog('0510', '10:00:03.000001', '    Test net output #1: loss = 1.5 (* 1 = 1.5 loss)'),
    ].join('\n');
    const log = parseLog(text, { year: 2025 });
    assert.deepEqual(log.test.map(row), [{ iter: 0, seconds: 1, lr: NaN, accuracy: 0.25, loss: 1.5 }]);
    assert.equal(tableCsv(log.test), 'NumIters,Seconds,LearningRate,accuracy,loss\r\n0.0,1.0,nan,0.25,1.5\r\n');
  });

  it('a file with nothing to plot is an error that says so', () => {
    assert.throws(() => parseLog('hello\nworld\n', { file: 'notes.txt' }), (e: Error & { format(): string }) => {
      assert.match(e.format(), /^notes\.txt: no training or test records in this log: nothing to plot\n {2}hint: expected Caffe's log lines/);
      return true;
    });
  });
});

describe('numbers as Python writes them, axes, smoothing', () => {
  it('pyFloat is repr(float)', () => {
    const cases: [number, string][] = [
      [0, '0.0'], [100, '100.0'], [2.866526, '2.866526'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'],
      [0.1 + 0.2, '0.30000000000000004'], [1e16, '1e+16'], [123456789012345.6, '123456789012345.6'], [-2.5, '-2.5'],
      [NaN, 'nan'], [-Infinity, '-inf'],
    ];
    for (const [v, s] of cases) assert.equal(pyFloat(v), s, String(v));
  });

  it('ticks at 1, 2, 5 times a power of ten', () => {
    assert.deepEqual([niceStep(0.47), niceStep(190), niceStep(3.1), niceStep(0.0007)], [0.5, 200, 5, 0.001]);
    const y = linearAxis(0, 2.34988, 5, true);
    assert.deepEqual([y.lo, y.hi, y.ticks], [0, 2.5, [0, 0.5, 1, 1.5, 2, 2.5]]);
    // A maximum on a tick gets one more step of room (a flat learning rate would hide in the frame).
    assert.deepEqual(linearAxis(0, 0.01, 5, true).ticks, [0, 0.002, 0.004, 0.006, 0.008, 0.01, 0.012]);
    const x = linearAxis(0, 25000, 5, false);
    assert.deepEqual(x.ticks.map(x.format), ['0', '5k', '10k', '15k', '20k', '25k']);
  });

  it('the smoothed line is a centred moving average that keeps both ends', () => {
    const pts = [4, 0, 2, 6, 1, 3, 8].map((y, x) => ({ x, y }));
    // 7 points: half-window 1 -> (4), (4+0+2)/3, (0+2+6)/3, (2+6+1)/3, (6+1+3)/3, (1+3+8)/3, (8)
    assert.deepEqual(smooth(pts).map((p) => p.y), [4, 2, 8 / 3, 3, 10 / 3, 4, 8]);
  });
});
