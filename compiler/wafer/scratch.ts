// Scratch arrays sized to a mesh, kept between calls. Routing, colouring and verifying a full wafer's stage each need
// a few arrays of ~10^6 entries; allocated afresh per call they add tens of MB of external memory each time, and V8
// answers that with a full collection of the heap — the lowered plans, hundreds of MB of objects — again and again.
// Each array belongs to one caller (its `key`) and is free again when that call returns: no caller holds it.

const pool = new Map<string, Int32Array | Uint32Array | Int16Array>();

function take<A extends Int32Array | Uint32Array | Int16Array>(key: string, n: number, make: (n: number) => A): A {
  const kept = pool.get(key) as A | undefined;
  if (kept && kept.length >= n) return kept.length === n ? kept : (kept.subarray(0, n) as A);
  const made = make(n);
  pool.set(key, made);
  return made;
}

type ScratchKind = 'u32' | 'i32' | 'i16' | 'stamps';
const declared = new Map<string, { kind: ScratchKind; perTile: number }>();

/**
 * Declares `key` as scratch of `perTile` entries per mesh tile, so that reserveMeshScratch allocates it too; returns
 * the key. Each pass declares its own at load.
 */
export function meshScratch(key: string, kind: ScratchKind, perTile: number): string {
  declared.set(key, { kind, perTile });
  return key;
}

/**
 * Allocates every declared mesh-sized array for a mesh of `tiles` tiles now. Each new array is external memory that
 * V8 answers with a full collection; made before a caller lowers its plans, that collection finds a near-empty heap
 * instead of the plans (an 8b projection's last one took ~0.3 s of its cold time).
 */
export function reserveMeshScratch(tiles: number): void {
  for (const [key, { kind, perTile }] of declared) {
    const n = perTile * tiles;
    if (kind === 'stamps') stamps(key, n);
    else if (kind === 'u32') take(key, n, (m) => new Uint32Array(m));
    else if (kind === 'i32') anyI32(key, n);
    else anyI16(key, n);
  }
}

/**
 * A Uint32Array of `n` entries for `key`'s caller, zeroed in [from, to): a caller that reads and writes no entry
 * outside that range need not pay for clearing the rest (a stage's links lie in a band of a full wafer's ~4.4 M).
 */
export function zeroedU32(key: string, n: number, from = 0, to = n): Uint32Array {
  const a = take(key, n, (m) => new Uint32Array(m));
  a.fill(0, from, to);
  return a;
}

/** [least, greatest + 1) of the values in all of `arrays` (absent ones skipped; an empty range at 0 when none has any). */
export function extent(...arrays: (ArrayLike<number> | undefined)[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of arrays) {
    if (!values) continue;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo > hi ? [0, 0] : [lo, hi + 1];
}

/** An Int32Array of `n` entries for `key`'s caller, contents undefined. */
export function anyI32(key: string, n: number): Int32Array {
  return take(key, n, (m) => new Int32Array(m));
}

/** An Int16Array of `n` entries for `key`'s caller, contents undefined. */
export function anyI16(key: string, n: number): Int16Array {
  return take(key, n, (m) => new Int16Array(m));
}

/**
 * A generation-stamped marker over `n` entries: `next()` starts a new generation, and an entry is marked in it when
 * it holds that generation. Kept between calls, so starting one costs nothing (it is cleared only on wrap-around).
 */
export interface Stamps {
  stamp: Uint32Array;
  next(): number;
}

const stampsPool = new Map<string, { stamp: Uint32Array; gen: number }>();

export function stamps(key: string, n: number): Stamps {
  let s = stampsPool.get(key);
  if (!s || s.stamp.length !== n) stampsPool.set(key, (s = { stamp: new Uint32Array(n), gen: 0 }));
  const kept = s;
  return {
    stamp: kept.stamp,
    next: () => {
      if (kept.gen === 0xffffffff) {
        kept.stamp.fill(0);
        kept.gen = 0;
      }
      return ++kept.gen;
    },
  };
}
