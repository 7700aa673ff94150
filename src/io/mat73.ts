// MATLAB MAT-files v7.3 (what MATLAB's save -v7.3 writes): an HDF5 file behind a 512-byte userblock whose
// first 128 bytes are the MATLAB header. Each variable is a member of the root group: a dataset for a numeric,
// logical or char array, with a MATLAB_class attribute naming the class; HDF5 is row-major, so the dataset's
// shape is MATLAB's dims reversed over the same (column-major) memory. A struct is a group with MATLAB_class
// 'struct' (its fields are its members, in the order of its MATLAB_fields attribute); cells and struct arrays
// hold object references into the group #refs#; sparse arrays are groups with a MATLAB_sparse attribute.
// Read here: numeric, logical and char arrays, and 1x1 structs of them, as the same MatFile that src/io/mat.ts
// gives for v5 files. Cells, struct arrays, sparse arrays, complex arrays and objects are kept as `unsupported`
// and refused, naming the variable and its HDF5 object, only when they are used.
//
// The HDF5 library is h5wasm (a WebAssembly build of libhdf5, reading host files through NODERAWFS); it is
// loaded on the first v7.3 file, so commands that never see one do not pay for it.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Dataset, Entity, Group } from 'h5wasm/node';
import { h5wasm } from './hdf5.js';
import { CaffeToolError } from '../errors.js';
import { type MatArray, type MatFile, matVersion, type MatVariable, type NumericClass, type NumericData, readMatFile } from './mat.js';



/** The typed array each MATLAB numeric class is read into. */
const MAKE: Record<NumericClass, (n: number) => NumericData> = {
  double: (n) => new Float64Array(n),
  single: (n) => new Float32Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int32: (n) => new Int32Array(n),
  uint32: (n) => new Uint32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint64: (n) => new BigUint64Array(n),
};

const isNumericClass = (c: string): c is NumericClass => Object.prototype.hasOwnProperty.call(MAKE, c);

// HDF5 datatype classes (H5T_class_t), as h5wasm's metadata.type gives them.
const H5T_COMPOUND = 6;
const H5T_REFERENCE = 7;

/** The first `n` bytes of a file (fewer if it is shorter), with the errors of a missing file in words. */
function readHead(path: string, n: number): Buffer {
  const head = Buffer.alloc(n);
  let got = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      got = readSync(fd, head, 0, n, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    throw new CaffeToolError(`cannot read ${path}: ${why}`, { cause: e });
  }
  return head.subarray(0, got);
}

/** Read a MAT-file of any version caffe-tool knows: v5/v6/v7 with src/io/mat.ts, v7.3 (HDF5) here. */
export async function readAnyMatFile(path: string): Promise<MatFile> {
  return matVersion(readHead(path, 1024)) === 'v7.3' ? readMat73File(path) : readMatFile(path);
}

/** The last lines of an HDF5 error stack, which say what went wrong ("file signature not found"). */
function hdf5Reason(e: unknown): string {
  const text = String((e as Error | undefined)?.message ?? e);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const deepest = [...lines].reverse().find((l) => /^#\d+:/.test(l));
  const reason = deepest?.match(/\(\): (.*)$/)?.[1];
  const minor = [...lines].reverse().find((l) => l.startsWith('minor:'))?.slice(6).trim();
  return [reason, minor].filter(Boolean).join(': ') || lines[lines.length - 1] || 'unknown HDF5 error';
}

/** Read a MAT v7.3 file: the variables of its root group (the #refs# and #subsystem# groups are not variables). */
export async function readMat73File(path: string): Promise<MatFile> {
  const head = readHead(path, 128);
  const header = head.toString('latin1', 0, Math.min(116, head.length)).replace(/[\s\0]+$/, '');
  const h5 = await h5wasm();
  let file: InstanceType<Awaited<ReturnType<typeof h5wasm>>['File']>;
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    throw new CaffeToolError(`cannot open it as a MAT v7.3 (HDF5) file: ${hdf5Reason(e)}`, {
      where: { file: path },
      hint: 'the file is damaged or cut short, or it is not a MAT v7.3 file',
    });
  }
  try {
    const variables: MatVariable[] = [];
    for (const name of file.keys()) {
      if (name.startsWith('#')) continue;
      variables.push({ name, value: readEntity(file, name, `/${name}`, `variable '${name}'`), global: false });
    }
    return { header, littleEndian: true, variables };
  } catch (e) {
    throw e instanceof CaffeToolError ? e.within({ file: path }) : e;
  } finally {
    file.close();
  }
}

/** An attribute as a string (MATLAB writes MATLAB_class as fixed-length ASCII), or undefined. */
function stringAttr(obj: Group | Dataset, name: string): string | undefined {
  const a = obj.attrs[name];
  if (!a) return undefined;
  const v = a.value;
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1').replace(/\0+$/, '');
  return undefined;
}

function numberAttr(obj: Group | Dataset, name: string): number | undefined {
  const v = obj.attrs[name]?.value;
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number | bigint>).length) return Number((v as unknown as ArrayLike<number | bigint>)[0]);
  return undefined;
}

/** Read one member of `parent`, with errors of the HDF5 library turned into errors naming it. */
function readEntity(parent: Group, name: string, hdf5: string, label: string): MatArray {
  let entity: Entity | null;
  try {
    entity = parent.get(name);
    return entityArray(entity, hdf5, label);
  } catch (e) {
    if (e instanceof CaffeToolError) throw e;
    throw new CaffeToolError(`cannot read ${label} (HDF5 object ${hdf5}): ${hdf5Reason(e)}`);
  }
}

/** What h5wasm gives for an object: 'Group', 'Dataset', 'Datatype', 'SoftLink'..., 'Reference' for a reference. */
const entityType = (e: Entity | null): string => (!e ? 'link to nothing' : 'type' in e ? e.type : 'Reference');

function entityArray(entity: Entity | null, hdf5: string, label: string): MatArray {
  const at = { offset: 0, hdf5 };
  const type = entityType(entity);
  if (type !== 'Group' && type !== 'Dataset') {
    return { kind: 'unsupported', what: `an HDF5 ${type}, not a MATLAB array`, ...at };
  }
  const obj = entity as Group | Dataset;
  const cls = stringAttr(obj, 'MATLAB_class');
  if (obj.type === 'Group') {
    const group = obj as Group;
    if (group.attrs.MATLAB_sparse) return { kind: 'unsupported', what: `a sparse ${cls ?? ''} array`.replace('  ', ' '), ...at };
    if (cls === 'struct') return structArray(group, hdf5, label);
    return { kind: 'unsupported', what: cls ? `a MATLAB ${cls} object` : 'an HDF5 group without a MATLAB_class attribute', ...at };
  }
  const ds = obj as Dataset;
  if (!cls) return { kind: 'unsupported', what: 'an HDF5 dataset without a MATLAB_class attribute (not written by MATLAB)', ...at };
  const meta = ds.metadata;
  if (numberAttr(ds, 'MATLAB_empty')) {
    // An empty array: the dataset holds its MATLAB dims, not values.
    const v = ds.value;
    const dims = ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number | bigint>, Number) : [0, 0];
    if (isNumericClass(cls) || cls === 'logical') {
      const c = cls === 'logical' ? 'uint8' : cls;
      return { kind: 'numeric', class: c, dims, data: MAKE[c](0), logical: cls === 'logical', ...at };
    }
    if (cls === 'char') return { kind: 'char', dims, text: '', ...at };
    if (cls === 'cell') return { kind: 'cell', dims, cells: [], ...at };
    return { kind: 'unsupported', what: `an empty ${cls} array`, ...at };
  }
  if (meta.type === H5T_REFERENCE) {
    return {
      kind: 'unsupported',
      what: cls === 'cell' ? 'a cell array (MAT v7.3 keeps cells as references into #refs#, which caffe-tool does not follow)' : `a ${cls} array of HDF5 references`,
      ...at,
    };
  }
  if (meta.type === H5T_COMPOUND) return { kind: 'unsupported', what: `a complex ${cls} array`, ...at };
  if (!isNumericClass(cls) && cls !== 'logical' && cls !== 'char') {
    return { kind: 'unsupported', what: numberAttr(ds, 'MATLAB_object_decode') !== undefined ? `a MATLAB ${cls} object` : `a ${cls} array`, ...at };
  }
  const shape = ds.shape ?? [];
  // MATLAB's dims are the dataset's reversed; MATLAB never has fewer than 2.
  const dims = [...shape].reverse();
  while (dims.length < 2) dims.push(1);
  const count = shape.reduce((a, b) => a * b, 1);
  const raw = ds.value;
  if (!ArrayBuffer.isView(raw) || (raw as unknown as ArrayLike<unknown>).length !== count) {
    throw new CaffeToolError(`${label} (HDF5 object ${hdf5}): its ${cls} values do not read as ${count} numbers (HDF5 type ${ds.dtype})`);
  }
  const values = raw as unknown as NumericData;
  if (cls === 'char') {
    let text = '';
    for (let i = 0; i < count; i++) text += String.fromCharCode(Number(values[i]));
    return { kind: 'char', dims, text, ...at };
  }
  const c: NumericClass = cls === 'logical' ? 'uint8' : cls;
  return { kind: 'numeric', class: c, dims, data: asClass(values, c), logical: cls === 'logical', ...at };
}

/** `values` in the typed array of MATLAB class `cls` (a copy only when the dataset is stored as another type). */
function asClass(values: NumericData, cls: NumericClass): NumericData {
  const out = MAKE[cls](0);
  if (Object.getPrototypeOf(out) === Object.getPrototypeOf(values)) return values;
  const converted = MAKE[cls](values.length);
  const big = converted instanceof BigInt64Array || converted instanceof BigUint64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (big) (converted as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    else (converted as Float64Array)[i] = Number(v);
  }
  return converted;
}

/** A struct group: a 1x1 struct whose fields are its members; fields of references mean a struct array. */
function structArray(group: Group, hdf5: string, label: string): MatArray {
  const members = group.keys();
  let fields = members;
  const declared = group.attrs.MATLAB_fields?.value;
  if (Array.isArray(declared)) {
    // A vlen array of 1-byte strings: each field name comes as an array of characters.
    const names = declared.map((f) => (Array.isArray(f) ? f.join('') : String(f)));
    if (names.every((n) => members.includes(n))) fields = [...names, ...members.filter((m) => !names.includes(m))];
  }
  const element = new Map<string, MatArray>();
  for (const f of fields) {
    const child = group.get(f);
    if (entityType(child) === 'Dataset' && (child as Dataset).metadata.type === H5T_REFERENCE && stringAttr(child as Dataset, 'MATLAB_class') !== 'cell') {
      return { kind: 'unsupported', what: 'a struct array (MAT v7.3 keeps its fields as references into #refs#, which caffe-tool does not follow)', offset: 0, hdf5 };
    }
    element.set(f, readEntity(group, f, `${hdf5}/${f}`, `field '${f}' of ${label}`));
  }
  return { kind: 'struct', dims: [1, 1], fields, elements: [element], offset: 0, hdf5 };
}
