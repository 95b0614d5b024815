// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the data
// section; offsets are relative to the data section's start. Every header field is checked before a byte of data is
// touched, so a truncated or lying file is an InputError naming the file and the tensor, never a read past the end.
// Byte order: little-endian, as the format prescribes (and as every machine wafer runs on).
import { InputError } from '../../fabric/errors.js';

/** Every dtype the format defines, with its element size in bytes. */
export const SAFETENSORS_DTYPE_BYTES = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const);
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

/** Largest header accepted (the reference implementation's bound). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** [begin, end) relative to the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Byte offset of the data section in the file (8 + header length). */
  readonly dataStart: number;
  readonly dataBytes: number;
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Byte ranges of the data section that no tensor covers (the format forbids them; we note them and go on). */
  readonly gaps: readonly { begin: number; end: number }[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads the header length from the first 8 bytes and bounds-checks it against the file size. */
export function headerLength(prefix: Uint8Array, fileBytes: number, source: string): number {
  if (fileBytes < 8 || prefix.length < 8) {
    throw new InputError(`file is ${fileBytes} bytes, too short for a safetensors header`, source, 'give a complete .safetensors file');
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new InputError(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`, source, 'the file is corrupt or not safetensors');
  }
  if (n > BigInt(fileBytes - 8)) {
    throw new InputError(`header length ${n} runs past the end of the ${fileBytes}-byte file`, source, 'the file is truncated or corrupt');
  }
  if (n < 2n) throw new InputError(`header length ${n} is too short for a JSON object`, source, 'the file is corrupt or not safetensors');
  return Number(n);
}

/**
 * Parses and checks the header. `prefix` holds at least the first 8 + N bytes of the file; `fileBytes` is the
 * whole file's size (so a caller may read just the header of a large file).
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileBytes: number, source: string): SafetensorsHeader {
  const n = headerLength(prefix, fileBytes, source);
  if (prefix.length < 8 + n) throw new InputError('header is incomplete', source, 'the file is truncated');
  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + n));
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`header is not valid UTF-8 JSON: ${(e as Error).message}`, source, 'the file is corrupt or not safetensors');
  }
  if (!isPlainObject(json)) throw new InputError('header is not a JSON object', source, 'the file is corrupt or not safetensors');
  const dataStart = 8 + n;
  const dataBytes = fileBytes - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    const where = `${source}: tensor "${name}"`;
    if (name === '__metadata__') {
      if (!isPlainObject(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
        throw new InputError('__metadata__ is not an object of strings', `${source}: __metadata__`, 'the file is corrupt');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (!isPlainObject(raw)) throw new InputError('entry is not an object', where, 'the file is corrupt');
    const unknownKey = Object.keys(raw).find((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (unknownKey !== undefined) throw new InputError(`unknown key "${unknownKey}"`, where, 'the file is corrupt');
    const { dtype, shape, data_offsets: offsets } = raw;
    if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPE_BYTES, dtype)) {
      throw new InputError(`unknown dtype ${JSON.stringify(dtype)}`, where, `use one of ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')}`);
    }
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      throw new InputError(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, where, 'the file is corrupt');
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) ||
      offsets[0] > offsets[1]
    ) {
      throw new InputError(`data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 ≤ begin ≤ end`, where, 'the file is corrupt');
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) {
      throw new InputError(`data_offsets [${begin}, ${end}] run past the ${dataBytes}-byte data section`, where, 'the file is truncated or corrupt');
    }
    let elements = 1;
    for (const d of shape as number[]) elements *= d;
    const expected = elements * SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      throw new InputError(
        `shape ${JSON.stringify(shape)} of ${dtype} needs ${expected} bytes but data_offsets cover ${end - begin}`,
        where,
        'the file is corrupt',
      );
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: Object.freeze([...(shape as number[])]), begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const gaps: { begin: number; end: number }[] = [];
  let cursor = 0;
  let prev: SafetensorsEntry | null = null;
  for (const e of sorted) {
    if (e.begin === e.end) continue; // empty tensors take no bytes and overlap nothing
    if (e.begin < cursor) {
      throw new InputError(`bytes [${e.begin}, ${e.end}) overlap tensor "${prev!.name}" [${prev!.begin}, ${prev!.end})`, `${source}: tensor "${e.name}"`, 'the file is corrupt');
    }
    if (e.begin > cursor) gaps.push({ begin: cursor, end: e.begin });
    cursor = e.end;
    prev = e;
  }
  if (cursor < dataBytes) gaps.push({ begin: cursor, end: dataBytes });
  return Object.freeze({ dataStart, dataBytes, entries: Object.freeze(entries), metadata: metadata ? Object.freeze(metadata) : null, gaps: Object.freeze(gaps) });
}

export type DecodedData = Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int32Array;

/** A tensor's bytes copied into a fresh, aligned typed array of its dtype (F16/BF16 as raw Uint16 bits). */
export function decodeEntry(file: Uint8Array, header: SafetensorsHeader, e: SafetensorsEntry, source: string): DecodedData {
  const bytes = file.subarray(header.dataStart + e.begin, header.dataStart + e.end);
  if (bytes.length !== e.end - e.begin) throw new InputError('tensor data is truncated', `${source}: tensor "${e.name}"`, 'the file is truncated');
  const copy = <T extends DecodedData>(out: T): T => {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    return out;
  };
  const count = (e.end - e.begin) / SAFETENSORS_DTYPE_BYTES[e.dtype];
  switch (e.dtype) {
    case 'F32':
      return copy(new Float32Array(count));
    case 'F64':
      return copy(new Float64Array(count));
    case 'F16':
    case 'BF16':
      return copy(new Uint16Array(count));
    case 'I8':
      return copy(new Int8Array(count));
    case 'U8':
    case 'BOOL':
      return copy(new Uint8Array(count));
    case 'I32':
      return copy(new Int32Array(count));
    default:
      throw new InputError(`dtype ${e.dtype} is not supported for loading`, `${source}: tensor "${e.name}"`, 'convert the file to F32, F16, BF16 or I8');
  }
}

export interface SafetensorsFile {
  readonly header: SafetensorsHeader;
  readonly tensors: ReadonlyMap<string, { dtype: SafetensorsDtype; shape: readonly number[]; data: DecodedData }>;
}

/** Parses a whole safetensors file held in memory. */
export function readSafetensors(file: Uint8Array, source: string): SafetensorsFile {
  const header = parseSafetensorsHeader(file, file.length, source);
  const tensors = new Map<string, { dtype: SafetensorsDtype; shape: readonly number[]; data: DecodedData }>();
  for (const e of header.entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decodeEntry(file, header, e, source) });
  return { header, tensors };
}

export interface SafetensorsWriteEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayBufferView;
}

/**
 * Serialises tensors in the order given, back to back, with the header padded with spaces to a multiple of 8 bytes
 * (as the reference implementation does, so the data section stays 8-byte aligned).
 */
export function writeSafetensors(entries: readonly SafetensorsWriteEntry[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = { ...metadata };
  let offset = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === '__metadata__' || seen.has(e.name)) throw new RangeError(`safetensors: duplicate or reserved tensor name "${e.name}"`);
    seen.add(e.name);
    const elements = e.shape.reduce((a, b) => a * b, 1);
    const bytes = elements * SAFETENSORS_DTYPE_BYTES[e.dtype];
    if (bytes !== e.data.byteLength) throw new RangeError(`safetensors: tensor "${e.name}" has ${e.data.byteLength} bytes, shape ${JSON.stringify(e.shape)} of ${e.dtype} needs ${bytes}`);
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const rawLength = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - (rawLength % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const e of entries) {
    out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), p);
    p += e.data.byteLength;
  }
  return out;
}
