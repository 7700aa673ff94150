// --device and --threads, as every command that runs a session takes them.
import type { Command } from 'commander';
import { parseDevice, type Device } from '../runtime/session.js';

export interface DeviceOptions {
  device?: string;
  threads?: string;
}

/** Add --device (also Caffe's -gpu N, rewritten in argv.ts) and --threads to a command. */
export function withDeviceOptions(command: Command): Command {
  return command
    .option('--device <device>', 'cpu (default), cuda or cuda:N (also -gpu N)')
    .option('--threads <n>', "ONNX Runtime's threads per operator (default: one per core)");
}

export function deviceOf(opts: DeviceOptions): Device {
  return parseDevice(opts.device, opts.threads);
}
