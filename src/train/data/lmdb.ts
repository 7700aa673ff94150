// A read-only reader of the LMDB files Caffe writes (convert_imageset, python's lmdb): LMDB 0.9's data format
// version 1. The `lmdb` npm package is built on LMDB's format version 2 (a 24-byte page header instead of 16)
// and crashes the process on a version-1 file, so Caffe's databases are read here, page by page with pread:
// two meta pages (the newer transaction wins), then the main database's B+tree in key order, values larger
// than a page sitting on overflow pages. Named sub-databases and duplicate keys (which Caffe never writes) are
// refused.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CaffeToolError } from '../../errors.js';

const MAGIC = 0xbeefc0de;
const PAGE_HEADER = 16;
const NODE_HEADER = 8;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_LEAF2 = 0x20;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const F_DUPDATA = 0x04;
const MDB_DUPSORT = 0x04;
// Offsets inside a meta page: MDB_meta after the page header; mm_dbs[0] (free pages) then mm_dbs[1] (main).
const META_VERSION = PAGE_HEADER + 4;
const META_PSIZE = PAGE_HEADER + 24; // mm_dbs[FREE_DBI].md_pad holds the page size
const MAIN_DB = PAGE_HEADER + 24 + 48;
const META_TXNID = PAGE_HEADER + 24 + 96 + 8;

export interface LmdbEntry {
  key: Uint8Array;
  value: Uint8Array;
}

export class LmdbReader {
  private fd: number;
  private readonly pageSize: number;
  private readonly root: number;
  readonly entries: number;
  /** The path from the root to the current leaf: page bytes and the index within each. */
  private stack: { page: Uint8Array; index: number }[] = [];

  /** `path` is the database folder (holding data.mdb) or, as with MDB_NOSUBDIR, the data file itself. */
  constructor(readonly path: string) {
    let file = path;
    try {
      if (statSync(path).isDirectory()) file = join(path, 'data.mdb');
      this.fd = openSync(file, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such LMDB (no data.mdb there)' : err.message;
      throw new CaffeToolError(`cannot open the LMDB ${path}: ${why}`, { cause: e, hint: 'data_param.source names the LMDB folder, the one that holds data.mdb' });
    }
    try {
      const first = this.read(0, 4096);
      const dv = view(first);
      if (first.length < 160 || dv.getUint32(PAGE_HEADER, true) !== MAGIC) {
        throw new CaffeToolError(`${file} is not an LMDB data file (no LMDB magic number)`);
      }
      const version = dv.getUint32(META_VERSION, true);
      if (version !== 1) {
        throw new CaffeToolError(`${file} is LMDB data format version ${version}; Caffe writes version 1 (LMDB 0.9), the one caffe-tool reads`);
      }
      this.pageSize = dv.getUint32(META_PSIZE, true);
      const second = view(this.read(this.pageSize, 160));
      const meta = second.byteLength >= 160 && second.getBigUint64(META_TXNID, true) > dv.getBigUint64(META_TXNID, true) ? second : dv;
      const flags = meta.getUint16(MAIN_DB + 4, true);
      if (flags & MDB_DUPSORT) throw new CaffeToolError(`the LMDB ${path} has duplicate keys (MDB_DUPSORT), which Caffe never writes`);
      this.entries = Number(meta.getBigUint64(MAIN_DB + 32, true));
      const root = meta.getBigUint64(MAIN_DB + 40, true);
      this.root = root === 0xffffffffffffffffn ? -1 : Number(root);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    if (this.entries === 0 || this.root < 0) {
      closeSync(this.fd);
      throw new CaffeToolError(`the LMDB ${path} is empty: it holds no records`, { hint: 'was it written completely (convert_imageset stops on errors)?' });
    }
  }

  private read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    const n = readSync(this.fd, buf, 0, length, offset);
    return buf.subarray(0, n);
  }

  private page(pgno: number, pages = 1): Uint8Array {
    const p = this.read(pgno * this.pageSize, pages * this.pageSize);
    if (p.length < PAGE_HEADER) throw new CaffeToolError(`the LMDB ${this.path} is cut short: page ${pgno} is past the end of the file`);
    return p;
  }

  /** The next record in key order; after the last one, the first again (Caffe's DataReader does the same). */
  next(): LmdbEntry {
    if (!this.stack.length) this.descend(this.root);
    else this.advance();
    const { page, index } = this.stack[this.stack.length - 1];
    return this.leafEntry(page, index);
  }

  /** Go down the leftmost path from `pgno` to a leaf. */
  private descend(pgno: number): void {
    for (;;) {
      const page = this.page(pgno);
      const flags = view(page).getUint16(10, true);
      if (flags & P_LEAF2) throw new CaffeToolError(`the LMDB ${this.path} uses LEAF2 pages (duplicate keys), which Caffe never writes`);
      if (!(flags & (P_BRANCH | P_LEAF))) throw new CaffeToolError(`the LMDB ${this.path} is damaged: page ${pgno} is neither a branch nor a leaf`);
      this.stack.push({ page, index: 0 });
      if (flags & P_LEAF) {
        if (numKeys(page) === 0) this.advance();
        return;
      }
      pgno = this.childPage(page, 0);
    }
  }

  private advance(): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      top.index++;
      if (top.index < numKeys(top.page)) break;
      this.stack.pop();
      if (!this.stack.length) {
        this.descend(this.root);
        return;
      }
    }
    // Back down to the leftmost leaf under the new branch position.
    const top = this.stack[this.stack.length - 1];
    if (view(top.page).getUint16(10, true) & P_BRANCH) this.descend(this.childPage(top.page, top.index));
  }

  private nodeOffset(page: Uint8Array, i: number): number {
    return view(page).getUint16(PAGE_HEADER + 2 * i, true);
  }

  private childPage(page: Uint8Array, i: number): number {
    const dv = view(page);
    const o = this.nodeOffset(page, i);
    return dv.getUint16(o, true) + dv.getUint16(o + 2, true) * 0x10000 + dv.getUint16(o + 4, true) * 2 ** 32;
  }

  private leafEntry(page: Uint8Array, i: number): LmdbEntry {
    const dv = view(page);
    const o = this.nodeOffset(page, i);
    const size = dv.getUint16(o, true) + dv.getUint16(o + 2, true) * 0x10000;
    const flags = dv.getUint16(o + 4, true);
    const ksize = dv.getUint16(o + 6, true);
    const key = page.slice(o + NODE_HEADER, o + NODE_HEADER + ksize);
    if (flags & (F_SUBDATA | F_DUPDATA)) {
      throw new CaffeToolError(`the LMDB ${this.path} holds named sub-databases or duplicate keys, not Caffe records`);
    }
    const at = o + NODE_HEADER + ksize;
    if (!(flags & F_BIGDATA)) return { key, value: page.slice(at, at + size) };
    const pgno = Number(dv.getBigUint64(at, true));
    const pages = Math.ceil((PAGE_HEADER + size) / this.pageSize);
    const overflow = this.page(pgno, pages);
    if (overflow.length < PAGE_HEADER + size) throw new CaffeToolError(`the LMDB ${this.path} is cut short: a record's overflow pages end early`);
    return { key, value: overflow.subarray(PAGE_HEADER, PAGE_HEADER + size) };
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const numKeys = (page: Uint8Array) => (view(page).getUint16(12, true) - PAGE_HEADER) >> 1;
