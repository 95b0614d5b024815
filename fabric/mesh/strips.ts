// The mesh cut into strips, one per thread, for the parallel engine (engine.ts, strip mode): which tile each strip
// owns, and the shared memory through which strips exchange what crosses between them each simulated cycle.
//
// Conservative and exact, as parallel discrete-event simulators are: every interaction between two routers goes
// through a link or a credit return, both at least one cycle long (router.ts), so what a strip sends in cycle t is
// needed by its neighbour at t + 1 at the earliest. Each thread therefore runs one cycle of its own routers and
// compute engines, posts the wavelets and credits that leave its strip into mailboxes, and meets the others at a
// barrier; after it, every strip takes in what it was sent and all agree on the next cycle anything happens (the
// minimum of each strip's own next event), so idle spans are still skipped. The lookahead is at least one cycle (the
// credit loop) and usually more: at each barrier the strips also agree on a horizon, the earliest cycle any of them
// may post (lookahead.ts), and run every cycle up to it apart.
//
// The cut: blocks of rows dealt round-robin to the strips, so that the band of the wafer a layer occupies is shared
// by every thread (a token's work moves across the wafer layer by layer; contiguous strips would take turns).
// Cycles, values and statistics do not depend on the cut (test/unit/fabric/mesh/determinism.test.ts).

import type { StuckVc } from './router.js';

/** What is left in a strip at the end of a step (the engine composes a deadlock report from every strip's). */
export interface Quiescence {
  queued: number;
  outbound: number;
  /** The first VCs holding wavelets, in VC order. */
  stuck: StuckVc[];
  /** The first program tile (lowest index) with wavelets left in its send queue, and their colour; -1: none. */
  blockedTile: number;
  blockedColour: number;
  /** The first (program tile, colour) whose receive is incomplete; tile -1: none. */
  incompleteTile: number;
  incompleteColour: number;
  incompleteGot: number;
}

/** Why a strip stopped before the end of a step. */
export interface StripFailure {
  /** error: thrown here; livelock: every strip saw it; aborted: another strip failed. */
  kind: 'error' | 'livelock' | 'aborted';
  name: string;
  message: string;
  x: number;
  y: number;
  colour: number;
  cycle: number;
  /** livelock: the first VC of this strip holding wavelets. */
  stuck: StuckVc | null;
}

/** A task's start and end, with its program tile (the engine orders a step's events by end cycle, then tile). */
export interface StripTraceEvent {
  k: number;
  x: number;
  y: number;
  task: number;
  label: string;
  startCycle: number;
  endCycle: number;
}

/** One strip's step, sent to the engine on strip 0. Counters are the strip's totals since the engine was made. */
export interface StripReport {
  strip: number;
  lastActivity: number;
  failure: StripFailure | null;
  quiescence: Quiescence | null;
  /** Output ops started this step: name, staging word, length. */
  outputs: [string, number, number][];
  trace: StripTraceEvent[];
  waveletsMoved: number;
  waveletHops: number;
  fmacOps: number;
  sramReadBytes: number;
  tasksRun: number;
  labelBusy: Float64Array;
}

/**
 * Rows per block dealt to a strip: thin enough that each thread holds a share of a layer's band, thick enough that
 * few links cross threads (a crossing wavelet goes through a mailbox). gpt2-small-dense on mini-128, 2 threads on a
 * quiet host: 8-row blocks 3.51–3.56 s a step, 2-row 3.72–4.50 s, 64-row halves 7.57 s, one thread 5.16–5.34 s.
 */
export const STRIP_BLOCK_ROWS = 8;

/** A cut of the mesh: blocks of `rows` × `cols` tiles, dealt round-robin to the strips in row-major block order. */
export interface StripCut {
  rows: number;
  cols: number;
}

/** The strip that owns each mesh tile (y * width + x). Default cut: whole rows, STRIP_BLOCK_ROWS at a time. */
export function stripOwners(width: number, height: number, strips: number, cut?: StripCut): Uint8Array {
  const owner = new Uint8Array(width * height);
  if (strips <= 1) return owner;
  // (Thinner blocks on a mesh too short to give every strip one.)
  const rows = cut ? cut.rows : Math.max(1, Math.min(STRIP_BLOCK_ROWS, Math.floor(height / strips)));
  const cols = cut ? cut.cols : width;
  const across = Math.ceil(width / cols);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) owner[y * width + x] = (Math.floor(y / rows) * across + Math.floor(x / cols)) % strips;
  }
  return owner;
}

/** Words per wavelet in a mailbox: landing cycle, target VC, payload, flags | latency << 8. */
const WAVELET_WORDS = 4;
/**
 * Per strip, per round parity, in the reduction area: next event cycle, last progress cycle, active, abort, horizon,
 * most wavelets held or coming in a VC fed from another strip, and the wall milliseconds the strip worked in the round (for the
 * critical path; never read by the simulation).
 */
const RED_FIELDS = 7;
/**
 * How often a thread checks the barrier before sleeping on it: spinning costs ~0.1 µs a round when every thread has
 * a core, sleeping ~10 µs (a futex wake); on a host with fewer free cores than strips, spinning only delays the
 * thread it waits for. So the budget adapts: it doubles when a spin succeeded, halves when the thread had to sleep.
 */
const SPIN_MIN = 32;
const SPIN_MAX = 16384;

/**
 * The shared memory of a parallel step: a barrier, the per-round reduction, and one mailbox per ordered pair of
 * strips and per round parity (a round's mail is read in the next round while the round after writes the other half).
 * Capacities are exact bounds: a round posts wavelets in one cycle only (the horizon's), at most one per crossing
 * link; credits in any cycle of the round, at most a queue depth per crossing VC (a VC holds at most that many).
 */
export interface StripExchangeLayout {
  strips: number;
  /** Int32 words: barrier (count, generation, sleepers), then the mailboxes. */
  mailWords: number;
  /** [from * strips + to]: word offset of the wavelet mailbox (parity 0; parity 1 follows at + waveletCap*4 + 1). */
  waveletAt: Int32Array;
  waveletCap: Int32Array;
  creditAt: Int32Array;
  creditCap: Int32Array;
}

export function exchangeLayout(strips: number, crossingLinks: Int32Array, crossingVcs: Int32Array): StripExchangeLayout {
  const waveletAt = new Int32Array(strips * strips);
  const creditAt = new Int32Array(strips * strips);
  let at = 4;
  for (let p = 0; p < strips * strips; p++) {
    waveletAt[p] = at;
    at += 2 * (1 + crossingLinks[p] * WAVELET_WORDS);
    creditAt[p] = at;
    at += 2 * (1 + crossingVcs[p]);
  }
  return { strips, mailWords: at, waveletAt, waveletCap: crossingLinks, creditAt, creditCap: crossingVcs };
}

/** One strip's view of the exchange: where it posts, what it reads, the barrier and the reduction. */
export class StripExchange {
  readonly self: number;
  readonly strips: number;
  private readonly mail: Int32Array;
  private readonly red: Float64Array;
  private readonly layout: StripExchangeLayout;
  /** Round parity: this round's mail goes to half `parity`; last round's is read from the other. */
  private parity = 0;
  private spin = SPIN_MAX;
  private readonly wN: Int32Array;
  private readonly cN: Int32Array;
  /** After a barrier: the agreed next cycle, the latest progress of any strip, whether any strip was active or aborted. */
  next = Infinity;
  /** After a barrier: the earliest cycle at which any strip may post (lookahead.ts); -Infinity before the first. */
  horizon = -Infinity;
  /** After a barrier: the most wavelets a VC fed from another strip holds or has coming (Infinity before the first). */
  maxOccupancy = Infinity;
  lastProgress = 0;
  anyActive = false;
  anyAbort = false;
  /** Rounds (barriers) since this exchange was made. */
  rounds = 0;
  /**
   * Wall milliseconds since this exchange was made: working (between barriers), waiting at barriers, and the critical
   * path — per round, the slowest strip's work, summed: what a step would take with a free core per thread and free
   * barriers. Timing only: no simulated result depends on them.
   */
  workMs = 0;
  waitMs = 0;
  criticalMs = 0;
  private roundStart = -1;

  constructor(self: number, layout: StripExchangeLayout, mail: SharedArrayBuffer, reduction: SharedArrayBuffer) {
    this.self = self;
    this.strips = layout.strips;
    this.layout = layout;
    this.mail = new Int32Array(mail);
    this.red = new Float64Array(reduction);
    this.wN = new Int32Array(layout.strips);
    this.cN = new Int32Array(layout.strips);
  }

  static sharedBytes(layout: StripExchangeLayout): { mail: number; reduction: number } {
    return { mail: layout.mailWords * 4, reduction: 2 * layout.strips * RED_FIELDS * 8 };
  }

  /** Posts a wavelet for strip `to`: it lands in VC `target` at cycle `land` (sent `lat` cycles earlier). */
  postWavelet(to: number, land: number, lat: number, target: number, data: number, flags: number): void {
    const p = this.self * this.strips + to;
    const n = this.wN[to]++;
    if (n >= this.layout.waveletCap[p]) throw new Error(`strip exchange: more than ${n} wavelets for strip ${to} in one round`);
    const at = this.layout.waveletAt[p] + this.parity * (1 + this.layout.waveletCap[p] * WAVELET_WORDS) + 1 + n * WAVELET_WORDS;
    const m = this.mail;
    m[at] = land;
    m[at + 1] = target;
    m[at + 2] = data | 0;
    m[at + 3] = flags | (lat << 8);
  }

  /** Posts a credit for VC v, whose upstream router is in strip `to`. */
  postCredit(to: number, v: number): void {
    const p = this.self * this.strips + to;
    const n = this.cN[to]++;
    if (n >= this.layout.creditCap[p]) throw new Error(`strip exchange: more than ${n} credits for strip ${to} in one round`);
    this.mail[this.layout.creditAt[p] + this.parity * (1 + this.layout.creditCap[p]) + 1 + n] = v;
  }

  /** Wavelets or credits posted this round. */
  get posted(): number {
    let s = 0;
    for (let i = 0; i < this.strips; i++) s += this.wN[i] + this.cN[i];
    return s;
  }

  /** Wavelets posted this round. */
  get postedWavelets(): number {
    let s = 0;
    for (let i = 0; i < this.strips; i++) s += this.wN[i];
    return s;
  }

  /**
   * Reads last round's mail to this strip, in strip order: onWavelet(land, lat, target, data, flags), onCredit(v),
   * and empties it (the reader clears: the writer reuses that half only after the next barrier, so a step that ends
   * leaves every mailbox empty however the threads interleave). (Callbacks made once per strip engine.)
   */
  receive(onWavelet: (land: number, lat: number, target: number, data: number, flags: number) => void, onCredit: (v: number) => void): void {
    const last = this.parity ^ 1;
    const m = this.mail;
    const L = this.layout;
    for (let from = 0; from < this.strips; from++) {
      if (from === this.self) continue;
      const p = from * this.strips + this.self;
      const w = L.waveletAt[p] + last * (1 + L.waveletCap[p] * WAVELET_WORDS);
      const nw = m[w];
      for (let i = 0, at = w + 1; i < nw; i++, at += WAVELET_WORDS) onWavelet(m[at], m[at + 3] >>> 8, m[at + 1], m[at + 2] >>> 0, m[at + 3] & 0xff);
      m[w] = 0;
      const c = L.creditAt[p] + last * (1 + L.creditCap[p]);
      const nc = m[c];
      for (let i = 0; i < nc; i++) onCredit(m[c + 1 + i]);
      m[c] = 0;
    }
  }

  /**
   * Ends a round: publishes this strip's mail counts and its next event, waits for every strip, then reads what they
   * published (this.next, lastProgress, anyActive, anyAbort) and turns the parity.
   */
  endRound(next: number, lastProgress: number, active: boolean, abort: boolean, horizon = -Infinity, occupancy = Infinity): void {
    const L = this.layout;
    const m = this.mail;
    for (let to = 0; to < this.strips; to++) {
      if (to === this.self) continue;
      const p = this.self * this.strips + to;
      m[L.waveletAt[p] + this.parity * (1 + L.waveletCap[p] * WAVELET_WORDS)] = this.wN[to];
      m[L.creditAt[p] + this.parity * (1 + L.creditCap[p])] = this.cN[to];
      this.wN[to] = 0;
      this.cN[to] = 0;
    }
    const r = this.red;
    const base = this.parity * this.strips * RED_FIELDS;
    const mine = base + this.self * RED_FIELDS;
    r[mine] = next;
    r[mine + 1] = lastProgress;
    r[mine + 2] = active ? 1 : 0;
    r[mine + 3] = abort ? 1 : 0;
    r[mine + 4] = horizon;
    const arrive = performance.now();
    const work = this.roundStart < 0 ? 0 : arrive - this.roundStart;
    r[mine + 5] = occupancy;
    r[mine + 6] = work;
    this.barrier();
    this.roundStart = performance.now();
    this.workMs += work;
    this.waitMs += this.roundStart - arrive;
    this.rounds++;
    let n = Infinity;
    let lp = 0;
    let act = false;
    let ab = false;
    let h = Infinity;
    let crit = 0;
    let occ = -Infinity;
    for (let s = 0; s < this.strips; s++) {
      const o = base + s * RED_FIELDS;
      if (r[o + 5] > occ) occ = r[o + 5];
      if (r[o + 6] > crit) crit = r[o + 6];
      if (r[o] < n) n = r[o];
      if (r[o + 4] < h) h = r[o + 4];
      if (r[o + 1] > lp) lp = r[o + 1];
      if (r[o + 2] !== 0) act = true;
      if (r[o + 3] !== 0) ab = true;
    }
    this.next = n;
    this.lastProgress = lp;
    this.anyActive = act;
    this.anyAbort = ab;
    this.horizon = h;
    this.maxOccupancy = occ;
    this.criticalMs += crit;
    this.parity ^= 1;
  }

  /** Starts a step's rounds (every strip's mail to this one was read and emptied by the step before). */
  resetRounds(): void {
    this.roundStart = performance.now();
    this.parity = 0;
    this.horizon = -Infinity;
    this.maxOccupancy = Infinity;
    this.wN.fill(0);
    this.cN.fill(0);
  }

  /**
   * Empties this strip's incoming mail after a step that stopped on a failure (its last round's mail is never read).
   * Safe once every strip has passed the failing round's barrier: nothing writes to a mailbox after it.
   */
  clearIncoming(): void {
    const L = this.layout;
    for (let from = 0; from < this.strips; from++) {
      if (from === this.self) continue;
      const p = from * this.strips + this.self;
      for (const par of [0, 1]) {
        this.mail[L.waveletAt[p] + par * (1 + L.waveletCap[p] * WAVELET_WORDS)] = 0;
        this.mail[L.creditAt[p] + par * (1 + L.creditCap[p])] = 0;
      }
    }
  }

  /** Sense-counting barrier on Atomics: the last to arrive bumps the generation; the others spin, then sleep on it. */
  private barrier(): void {
    const m = this.mail;
    const gen = Atomics.load(m, 1);
    if (Atomics.add(m, 0, 1) === this.strips - 1) {
      Atomics.store(m, 0, 0);
      Atomics.add(m, 1, 1);
      if (Atomics.load(m, 2) > 0) Atomics.notify(m, 1);
      return;
    }
    for (let i = 0; i < this.spin; i++) {
      if (Atomics.load(m, 1) !== gen) {
        if (this.spin < SPIN_MAX) this.spin *= 2;
        return;
      }
    }
    if (this.spin > SPIN_MIN) this.spin >>= 1;
    Atomics.add(m, 2, 1);
    while (Atomics.load(m, 1) === gen) Atomics.wait(m, 1, gen);
    Atomics.sub(m, 2, 1);
  }
}
