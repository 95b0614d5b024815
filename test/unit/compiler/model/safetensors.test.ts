import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MAX_HEADER_BYTES, parseSafetensorsHeader, readSafetensors, writeSafetensors } from '../../../../compiler/model/safetensors.js';
import { catchInputError } from '../../inputError.js';

/** A file with this header JSON (as given) and `dataBytes` bytes of data. */
function rawFile(header: unknown, dataBytes: number, headerLengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, headerLengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

function errorOf(file: Uint8Array): string {
  return catchInputError(() => readSafetensors(file, 'm.st')).message;
}

describe('safetensors round trip', () => {
  it('writes and reads back every supported dtype, the metadata and an empty tensor', () => {
    const f32 = new Float32Array([1.5, -2, 3.25, 0, 1e-30, -7]);
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff]);
    const bf16 = new Uint16Array([0x3f80, 0xbf80]);
    const i8 = new Int8Array([-127, 0, 5, 127]);
    const i32 = new Int32Array([-1, 2 ** 30]);
    const f64 = new Float64Array([Math.PI]);
    const bytes = writeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: f32 },
        { name: 'b', dtype: 'F16', shape: [3], data: f16 },
        { name: 'c', dtype: 'BF16', shape: [1, 2], data: bf16 },
        { name: 'd', dtype: 'I8', shape: [2, 2], data: i8 },
        { name: 'e', dtype: 'I32', shape: [2], data: i32 },
        { name: 'f', dtype: 'F64', shape: [], data: f64 },
        { name: 'g', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      ],
      { format: 'pt' },
    );
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const st = readSafetensors(bytes, 'x');
    expect(st.header.metadata).toEqual({ format: 'pt' });
    expect(st.header.gaps).toEqual([]);
    expect(Array.from(st.tensors.keys())).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(st.tensors.get('a')).toMatchObject({ dtype: 'F32', shape: [2, 3] });
    expect(Array.from(st.tensors.get('a')!.data)).toEqual(Array.from(f32));
    expect(Array.from(st.tensors.get('b')!.data)).toEqual(Array.from(f16));
    expect(Array.from(st.tensors.get('c')!.data)).toEqual(Array.from(bf16));
    expect(Array.from(st.tensors.get('d')!.data)).toEqual(Array.from(i8));
    expect(Array.from(st.tensors.get('e')!.data)).toEqual(Array.from(i32));
    expect(Array.from(st.tensors.get('f')!.data)).toEqual([Math.PI]);
    expect(st.tensors.get('g')!.data.length).toBe(0);
  });

  it('reads the fixture written by another implementation', () => {
    const st = readSafetensors(new Uint8Array(readFileSync('test/fixtures/tiny-llama/model.safetensors')), 'tiny-llama');
    expect(st.tensors.size).toBe(21);
    expect(st.tensors.get('lm_head.weight')!.shape).toEqual([64, 32]);
  });

  it('refuses to write data that does not match its shape', () => {
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }])).toThrow(RangeError);
  });

  it('reads only a header given a prefix of the file and its size', () => {
    const bytes = writeSafetensors([{ name: 'a', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const h = parseSafetensorsHeader(bytes.subarray(0, 8 + n), bytes.length, 'x');
    expect(h.entries).toEqual([{ name: 'a', dtype: 'F32', shape: [4], begin: 0, end: 16 }]);
    expect(h.dataBytes).toBe(16);
  });
});

const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

describe('malformed safetensors files are InputErrors naming the file and tensor', () => {
  it('file shorter than the length prefix', () => {
    expect(errorOf(new Uint8Array(5))).toBe('file is 5 bytes, too short for a safetensors header (m.st): give a complete .safetensors file');
  });

  it('header length above the 100 MB bound', () => {
    expect(errorOf(rawFile(ok, 8, BigInt(MAX_HEADER_BYTES) + 1n))).toBe('header length 100000001 exceeds the 100000000-byte limit (m.st): the file is corrupt or not safetensors');
  });

  it('header length past the end of the file', () => {
    const f = rawFile(ok, 8);
    expect(errorOf(rawFile(ok, 8, BigInt(f.length)))).toBe(`header length ${f.length} runs past the end of the ${f.length}-byte file (m.st): the file is truncated or corrupt`);
  });

  it('header length too short for JSON', () => {
    expect(errorOf(rawFile('{}', 0, 1n))).toBe('header length 1 is too short for a JSON object (m.st): the file is corrupt or not safetensors');
  });

  it('header that is not JSON', () => {
    expect(errorOf(rawFile('{"a": [1,', 0))).toMatch(/^header is not valid UTF-8 JSON: .* \(m\.st\): the file is corrupt or not safetensors$/);
  });

  it('header that is not UTF-8', () => {
    const f = rawFile('{"\u00e9":1}', 0);
    f[10] = 0xff;
    expect(errorOf(f)).toMatch(/^header is not valid UTF-8 JSON/);
  });

  it('header that is a JSON array', () => {
    expect(errorOf(rawFile([1, 2], 0))).toBe('header is not a JSON object (m.st): the file is corrupt or not safetensors');
  });

  it('__metadata__ with a non-string value', () => {
    expect(errorOf(rawFile({ __metadata__: { format: 1 }, ...ok }, 8))).toBe('__metadata__ is not an object of strings (m.st: __metadata__): the file is corrupt');
  });

  it('entry that is not an object', () => {
    expect(errorOf(rawFile({ a: 5 }, 0))).toBe('entry is not an object (m.st: tensor "a"): the file is corrupt');
  });

  it('entry with an unknown key', () => {
    expect(errorOf(rawFile({ a: { ...ok.a, offsets: [0, 8] } }, 8))).toBe('unknown key "offsets" (m.st: tensor "a"): the file is corrupt');
  });

  it('unknown dtype', () => {
    expect(errorOf(rawFile({ a: { ...ok.a, dtype: 'F128' } }, 8))).toBe(
      'unknown dtype "F128" (m.st: tensor "a"): use one of BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64',
    );
  });

  it.each([
    [[-2], 'shape [-2] is not a list of non-negative integers (m.st: tensor "a"): the file is corrupt'],
    [[2.5], 'shape [2.5] is not a list of non-negative integers (m.st: tensor "a"): the file is corrupt'],
    [2, 'shape 2 is not a list of non-negative integers (m.st: tensor "a"): the file is corrupt'],
    [['2'], 'shape ["2"] is not a list of non-negative integers (m.st: tensor "a"): the file is corrupt'],
  ])('bad shape %j', (shape, expected) => {
    expect(errorOf(rawFile({ a: { ...ok.a, shape } }, 8))).toBe(expected);
  });

  it.each([
    [[8, 0], 'data_offsets [8,0] is not [begin, end] with 0 ≤ begin ≤ end (m.st: tensor "a"): the file is corrupt'],
    [[0], 'data_offsets [0] is not [begin, end] with 0 ≤ begin ≤ end (m.st: tensor "a"): the file is corrupt'],
    [[-8, 0], 'data_offsets [-8,0] is not [begin, end] with 0 ≤ begin ≤ end (m.st: tensor "a"): the file is corrupt'],
    [undefined, 'data_offsets undefined is not [begin, end] with 0 ≤ begin ≤ end (m.st: tensor "a"): the file is corrupt'],
  ])('bad data_offsets %j', (offsets, expected) => {
    expect(errorOf(rawFile({ a: { ...ok.a, data_offsets: offsets } }, 8))).toBe(expected);
  });

  it('data_offsets past the end of the data section (a truncated file)', () => {
    const full = writeSafetensors([
      { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array(2) },
      { name: 'b', dtype: 'F32', shape: [4], data: new Float32Array(4) },
    ]);
    expect(errorOf(full.subarray(0, full.length - 3))).toBe('data_offsets [8, 24] run past the 21-byte data section (m.st: tensor "b"): the file is truncated or corrupt');
  });

  it('a huge offset is refused before any read', () => {
    expect(errorOf(rawFile({ a: { dtype: 'F32', shape: [2 ** 40], data_offsets: [0, 2 ** 42] } }, 8))).toBe(
      'data_offsets [0, 4398046511104] run past the 8-byte data section (m.st: tensor "a"): the file is truncated or corrupt',
    );
  });

  it('dtype × shape disagreeing with the byte count', () => {
    expect(errorOf(rawFile({ a: { dtype: 'BF16', shape: [2], data_offsets: [0, 8] } }, 8))).toBe(
      'shape [2] of BF16 needs 4 bytes but data_offsets cover 8 (m.st: tensor "a"): the file is corrupt',
    );
  });

  it('overlapping tensors', () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expect(errorOf(rawFile(header, 12))).toBe('bytes [4, 12) overlap tensor "a" [0, 8) (m.st: tensor "b"): the file is corrupt');
  });

  it('notes gaps between and after tensors without failing', () => {
    const header = { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, b: { dtype: 'I8', shape: [2], data_offsets: [10, 12] } };
    const st = readSafetensors(rawFile(header, 16), 'm.st');
    expect(st.header.gaps).toEqual([
      { begin: 0, end: 4 },
      { begin: 8, end: 10 },
      { begin: 12, end: 16 },
    ]);
  });

  it('a dtype known to the format but not loadable', () => {
    expect(errorOf(rawFile({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8))).toBe(
      'dtype I64 is not supported for loading (m.st: tensor "a"): convert the file to F32, F16, BF16 or I8',
    );
  });
});
