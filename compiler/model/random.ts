// A small seeded PRNG of our own (xoshiro128**, seeded through splitmix32), so synthetic weights are bit-identical
// on every machine and JavaScript engine: only integer arithmetic and exact float scaling, no Math.random, no
// transcendental functions.

/** FNV-1a 32-bit hash of a string (UTF-16 code units). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the four words from splitmix32 of `seed` (any 32-bit value; the state is never all zero). */
  constructor(seed: number) {
    const st = { s: seed >>> 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c = (this.c ^ this.a) >>> 0;
    this.d = (this.d ^ this.b) >>> 0;
    this.b = (this.b ^ this.c) >>> 0;
    this.a = (this.a ^ this.d) >>> 0;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in f32). */
  nextFloat(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }

  /** Uniform in [-1, 1) with 24 random bits. */
  nextSigned(): number {
    return ((this.nextU32() >>> 8) - 8388608) / 8388608;
  }

  /** Fills `out` with amplitude · nextSigned() (the same values as calling nextSigned in a loop, faster). */
  fillSigned(out: Float32Array, amplitude: number): Float32Array {
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = 0; i < out.length; i++) {
      const x = Math.imul(b, 5);
      const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      out[i] = amplitude * (((result >>> 8) - 8388608) / 8388608);
    }
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    return out;
  }

  /** Integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A generator for one named stream under a seed: the stream depends only on (seed, name), not on call order. */
export function streamFor(seed: number, name: string): Xoshiro128 {
  return new Xoshiro128(hash32(`${seed}:${name}`));
}
