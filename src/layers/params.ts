// A layer's parameter message read with the schema's defaults, as Caffe's generated accessors read it.
import { CaffeToolError } from '../errors.js';
import { defaultValue, type Message } from '../io/message.js';
import type { MessageInfo } from '../io/schema.js';

export class Params {
  constructor(readonly msg: Message, readonly info: MessageInfo) {}

  has(name: string): boolean {
    const v = this.msg[name];
    return v !== undefined && !(Array.isArray(v) && v.length === 0);
  }

  get<T = unknown>(name: string): T {
    const v = this.msg[name];
    if (v !== undefined) return v as T;
    const f = this.info.byName.get(name);
    if (!f) throw new CaffeToolError(`${this.info.name} has no field ${name}`);
    return defaultValue(f) as T;
  }

  num(name: string): number {
    return Number(this.get(name));
  }

  bool(name: string): boolean {
    return this.get<boolean>(name);
  }

  str(name: string): string {
    return String(this.get(name));
  }

  /** A repeated numeric field as numbers (typed arrays and int64 included). */
  list(name: string): number[] {
    return Array.from(this.get<ArrayLike<number | bigint>>(name), Number);
  }

  /** A sub-message, with its own defaults. */
  sub(name: string): Params {
    const f = this.info.byName.get(name);
    if (!f?.message) throw new CaffeToolError(`${this.info.name}.${name} is not a message`);
    return new Params((this.msg[name] as Message | undefined) ?? {}, f.message);
  }
}
