// Loading a net definition and its weights from files, the way every command starts: old formats are
// upgraded in memory, as Caffe's own loaders do, and the caller is told once.
import { upgradeNet, upgradeNotice } from '../convert/upgrade/index.js';
import { readCaffeFile } from '../io/files.js';
import type { Message } from '../io/message.js';
import type { Dialect } from '../io/schema.js';
import { buildNet, type Net } from './net.js';
import { attachWeights, type WeightsReport } from './weights.js';

export interface LoadOptions {
  phase?: 'TRAIN' | 'TEST';
  level?: number;
  stages?: string[];
  dialect?: Dialect;
  /** Shapes of inputs and data-layer tops, replacing what the net says or cannot know. */
  inputs?: Record<string, number[]>;
  /** Told once per file that was upgraded in memory (the CLI prints it on stderr). */
  notice?: (message: string) => void;
}

export interface LoadedNet {
  net: Net;
  /** The NetParameter, upgraded to the current format. */
  param: Message;
  file: string;
}

/** A NetParameter read from a file, upgraded in memory when it is in an old format. */
function readNetParam(path: string, opts: { encoding?: 'binary'; dialect?: Dialect; notice?: (m: string) => void }) {
  const file = readCaffeFile(path, { kinds: ['net'], encoding: opts.encoding, dialect: opts.dialect });
  const upgraded = upgradeNet(file.message, { dialect: file.dialect });
  const notice = upgradeNotice(path, upgraded);
  if (notice) opts.notice?.(notice);
  return { message: upgraded.net, dialect: file.dialect };
}

/** A net from a .prototxt (or from the definition inside a .caffemodel). */
export function loadNet(path: string, opts: LoadOptions = {}): LoadedNet {
  const { message, dialect } = readNetParam(path, opts);
  const net = buildNet(message, { ...opts, dialect, file: path });
  return { net, param: message, file: path };
}

/** A .caffemodel's NetParameter (upgraded in memory when old), to attach to one net or several. */
export function readWeightsParam(path: string, opts: { dialect?: Dialect; notice?: (m: string) => void } = {}): Message {
  return readNetParam(path, { ...opts, encoding: 'binary' }).message;
}

/** Attach a .caffemodel's blobs to a net by layer name. */
export function loadWeights(net: Net, path: string, opts: { dialect?: Dialect; notice?: (m: string) => void } = {}): WeightsReport {
  return attachWeights(net, readWeightsParam(path, opts), path);
}
