// Loading a net definition and its weights from files, the way every command starts.
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
}

export interface LoadedNet {
  net: Net;
  /** The NetParameter as read. */
  param: Message;
  file: string;
}

/** A net from a .prototxt (or from the definition inside a .caffemodel). */
export function loadNet(path: string, opts: LoadOptions = {}): LoadedNet {
  const file = readCaffeFile(path, { kinds: ['net'], dialect: opts.dialect });
  const net = buildNet(file.message, { ...opts, dialect: file.dialect, file: path });
  return { net, param: file.message, file: path };
}

/** Attach a .caffemodel's blobs to a net by layer name. */
export function loadWeights(net: Net, path: string, dialect?: Dialect): WeightsReport {
  const file = readCaffeFile(path, { kinds: ['net'], encoding: 'binary', dialect });
  return attachWeights(net, file.message, path);
}
