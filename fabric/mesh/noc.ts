// Synthetic traffic on the engine's own router/link machinery (router.ts): destination-routed packets (a routing
// table's nextPort, fabric/routing) instead of colour routes — the standard way to check a network model against
// theory (BookSim's methodology: warm-up, measurement window, drain).
//
// Traffic: every usable tile creates packets of P wavelets by a Bernoulli process at R/P packets per cycle (R =
// offered wavelets/tile/cycle), each on its own seeded random stream. A packet waits in an unbounded source queue,
// then enters its router's ramp input one wavelet per cycle on VC class (packet number mod vcs), as credits allow;
// it keeps that class end to end (wormhole: the head claims each downstream VC, the tail releases it). Latency is
// counted from creation to the tail's arrival at the destination CE (source queueing included). At zero load:
//   latency = 2·ramp + hops·hop + (P − 1).
import { InputError, OptionError } from '../errors.js';
import type { FabricSpec } from '../spec/schema.js';
import type { FaultMap } from '../faults/faultMap.js';
import { assertConnected } from '../faults/analysis.js';
import { streamSeed } from '../faults/random.js';
import { OPPOSITE_PORT, neighbour } from '../geometry.js';
import { buildRoutingTable, type RoutingAlgorithm } from '../routing/table.js';
import { FLAG_HEAD, FLAG_TAIL, NO_ROUTE, NoRouteError, RouterCore, SINK, newSinkScratch } from './router.js';

export type TrafficPattern = 'uniform' | 'transpose' | 'bitcomplement' | 'hotspot' | 'neighbor';
export const TRAFFIC_PATTERNS: readonly TrafficPattern[] = ['uniform', 'transpose', 'bitcomplement', 'hotspot', 'neighbor'];

export interface NocOptions {
  spec: FabricSpec;
  width: number;
  height: number;
  pattern: TrafficPattern;
  /** Offered load, wavelets per tile per cycle (0 < R ≤ 1). */
  rate: number;
  packetWavelets?: number;
  /** Cycles measured after warm-up. */
  cycles?: number;
  warmupCycles?: number;
  /** Give up draining the measured packets this many cycles after the window (the network is then saturated). */
  drainCycles?: number;
  /** VC classes per port (≤ spec.colours). */
  vcs?: number;
  seed?: number;
  faults?: FaultMap | null;
  /** Routing: an algorithm of fabric/routing (default xy; updown with faults) or a table's nextPort. */
  routing?: RoutingAlgorithm | { nextPort: Uint8Array; name: string };
  /** hotspot: the fraction of packets sent to the hotspot tile (the centre). */
  hotspotFraction?: number;
  /** Called every 1024 simulated cycles; throws to stop the run (a wall-clock budget). */
  checkStop?: () => void;
  /**
   * End the warm-up as soon as the network has settled: the accepted rate of two consecutive periods of
   * `periodCycles` differs by at most `tolerance` (relative). warmupCycles is then the longest warm-up allowed.
   */
  settle?: NocSettle;
}

export interface NocSettle {
  periodCycles: number;
  tolerance: number;
}

/** What a run will commit to, before it allocates: an upper bound of memory and of router-cycles simulated. */
export interface NocEstimate {
  /** Bytes of the router, VC and per-tile tables (and the tiles² routing table where one is built). */
  memoryBytes: number;
  /** tiles × (warm-up + window + drain limit): the simulation visits every tile each cycle it does not skip. */
  routerCycles: number;
}

/**
 * Upper bounds of a run's memory and work, from the sizes alone (nothing allocated). Bytes per VC and per tile
 * count the typed arrays runNoc and RouterCore (router.ts) allocate: 38 + 5·depth per VC for the router's queues,
 * credits and locks, 27 per VC for the VC tables here, ~200 per tile plus 4 per class; a routing table is tiles²
 * bytes; packets and latencies grow with what is created, bounded by tiles × cycles × rate.
 */
export function estimateNoc(o: Pick<NocOptions, 'spec' | 'width' | 'height' | 'rate' | 'packetWavelets' | 'cycles' | 'warmupCycles' | 'drainCycles' | 'vcs' | 'faults' | 'routing'>): NocEstimate {
  const tiles = o.width * o.height;
  const M = o.cycles ?? 10_000;
  const WU = o.warmupCycles ?? Math.min(2000, M);
  const drain = o.drainCycles ?? 4 * (WU + M);
  const V = o.vcs ?? 2;
  const vcs = tiles * 5 * V;
  const table = (o.routing && typeof o.routing === 'object') || (o.routing !== undefined && o.routing !== 'xy') || (o.faults && !o.faults.isPerfect()) ? tiles * tiles : 0;
  const packets = Math.min(tiles * (WU + M) * o.rate / (o.packetWavelets ?? 1), 1e12);
  return {
    memoryBytes: vcs * (65 + 5 * o.spec.queueDepthWavelets) + tiles * (200 + 4 * V) + table + packets * 30,
    routerCycles: tiles * (WU + M + drain),
  };
}

export interface NocResult {
  pattern: TrafficPattern;
  width: number;
  height: number;
  routing: string;
  packetWavelets: number;
  vcs: number;
  /** Wavelets created per usable tile per cycle in the measurement window. */
  offeredRate: number;
  /** Wavelets delivered per usable tile per cycle in the measurement window. */
  acceptedRate: number;
  /** Over the measured packets delivered: a lower bound of the true mean when some were not (latencyIsLowerBound). */
  meanLatencyCycles: number;
  p99LatencyCycles: number;
  /** True when measured packets were still undelivered at the drain limit: the latencies then are lower bounds. */
  latencyIsLowerBound: boolean;
  /** Cycles of warm-up before the measurement window (shorter than warmupCycles when the run settled first). */
  warmupCyclesUsed: number;
  /** Whether the accepted rate settled within the warm-up (null when no settling was asked for). */
  warmupSettled: boolean | null;
  meanHops: number;
  /** Theory at zero load for the measured packets: 2·ramp + meanHops·hop + (P − 1). */
  zeroLoadLatencyCycles: number;
  /** Uniform traffic's bound 4/k on a k×k mesh (wavelets/tile/cycle); null for other patterns/shapes. */
  bisectionBoundRate: number | null;
  measuredPackets: number;
  /** Measured packets not delivered within the drain limit (the load is beyond saturation). */
  unfinishedPackets: number;
  saturated: boolean;
  injectedWavelets: number;
  deliveredWavelets: number;
  /** Wavelets created but still in source queues when injection stopped (never entered the network). */
  sourceQueuedWavelets: number;
  waveletHops: number;
  cyclesSimulated: number;
  /** tiles × cycles simulated (the unit of simulator speed). */
  routerCycles: number;
}

/** Every wavelet must come out; if the network stops moving with wavelets inside, this names where. */
export class NocDeadlockError extends Error {
  constructor(
    message: string,
    readonly x: number,
    readonly y: number,
    readonly cycle: number,
  ) {
    super(message);
    this.name = 'NocDeadlockError';
  }
}

const PORT_NAMES = ['ramp', 'N', 'E', 'S', 'W'];

function mulberry(state: Uint32Array, i: number): number {
  const s = (state[i] = (state[i] + 0x6d2b79f5) >>> 0);
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The run's settings with their defaults, checked. */
interface NocSettings {
  P: number;
  M: number;
  WU: number;
  drainMax: number;
  V: number;
  seed: number;
  faults: FaultMap | null;
  hotFrac: number;
}

function nocSettings(o: NocOptions): NocSettings {
  const { spec, width: W, height: H, pattern } = o;
  const P = o.packetWavelets ?? 1;
  const M = o.cycles ?? 10_000;
  const WU = o.warmupCycles ?? Math.min(2000, M);
  const drainMax = o.drainCycles ?? 4 * (WU + M);
  const V = o.vcs ?? 2;
  const faults = o.faults ?? null;
  if (!(o.rate > 0 && o.rate <= 1)) throw new OptionError('rate', `rate ${o.rate} is out of range`, 'give wavelets per tile per cycle in (0, 1]');
  if (!Number.isInteger(P) || P < 1 || P > 1024) throw new OptionError('packetWavelets', `packet of ${P} wavelets`, 'give a whole number in 1..1024');
  if (!Number.isInteger(V) || V < 1 || V > spec.colours) throw new OptionError('vcs', `${V} VCs`, `give 1..${spec.colours} (the router's colours)`);
  const st = o.settle;
  if (st && !(Number.isSafeInteger(st.periodCycles) && st.periodCycles >= 1 && st.tolerance > 0 && st.tolerance < 1)) {
    throw new InputError(`settling period ${st.periodCycles}, tolerance ${st.tolerance}`, 'noc options: settle', 'give a whole number of cycles ≥ 1 and a tolerance in (0, 1)');
  }
  if (!TRAFFIC_PATTERNS.includes(pattern)) throw new OptionError('pattern', `unknown traffic pattern "${String(pattern)}"`, `use one of ${TRAFFIC_PATTERNS.join(', ')}`);
  if (!Number.isSafeInteger(M) || M < 1 || !Number.isSafeInteger(WU) || WU < 0 || !Number.isSafeInteger(drainMax) || drainMax < 0) {
    throw new InputError(`cycles ${M}, warm-up ${WU}, drain ${drainMax}`, 'noc options', 'give whole numbers of cycles (at least 1 measured)');
  }
  if (pattern === 'transpose' && W !== H) throw new OptionError('pattern', `transpose needs a square mesh, got ${W}x${H}`, (name) => `use a square ${name('mesh')} or another pattern`);
  if (faults) {
    if (faults.width !== W || faults.height !== H) throw new OptionError('faults', `fault map is ${faults.width}x${faults.height} but the mesh is ${W}x${H}`, `give a ${W}x${H} fault map`);
    assertConnected(faults, { option: 'faults' });
  }
  return { P, M, WU, drainMax, V, seed: o.seed ?? 1, faults, hotFrac: o.hotspotFraction ?? 0.2 };
}

/** The routing table (null: plain XY on a perfect mesh, computed from coordinates — a tiles² table stops fitting in cache). */
function nocRouting(o: NocOptions, faults: FaultMap | null): { nextPort: Uint8Array | null; name: string } {
  if (o.routing && typeof o.routing === 'object') return { nextPort: o.routing.nextPort, name: o.routing.name };
  const alg: RoutingAlgorithm = o.routing ?? (faults && !faults.isPerfect() ? 'updown' : 'xy');
  const nextPort = alg === 'xy' && (!faults || faults.isPerfect()) ? null : buildRoutingTable(o.width, o.height, faults, alg).nextPort;
  return { nextPort, name: alg };
}

/** Which tiles take part and where the fixed patterns send: usable endpoints, sources, fixed destinations. */
interface NocEndpoints {
  usable: Uint8Array;
  usableList: number[];
  /** The destination of a fixed pattern (transpose, bitcomplement, neighbor); −1 for random ones. */
  fixedDest: Int32Array;
  isSource: Uint8Array;
  hotspot: number;
}

function nocEndpoints(W: number, H: number, pattern: TrafficPattern, faults: FaultMap | null): NocEndpoints {
  const tiles = W * H;
  const usable = new Uint8Array(tiles);
  const usableList: number[] = [];
  for (let i = 0; i < tiles; i++) {
    if (!faults || faults.isTileUsable(i)) {
      usable[i] = 1;
      usableList.push(i);
    }
  }
  if (usableList.length === 0) throw new InputError(`no usable tile in the ${W}x${H} mesh: every tile or core is dead`, 'faults', 'give a fault map that leaves tiles alive');
  const hotspot = Math.floor(H / 2) * W + Math.floor(W / 2);
  const fixedDest = new Int32Array(tiles).fill(-1);
  for (let i = 0; i < tiles; i++) {
    const x = i % W;
    const y = Math.floor(i / W);
    if (pattern === 'transpose') fixedDest[i] = x * W + y;
    else if (pattern === 'bitcomplement') fixedDest[i] = (H - 1 - y) * W + (W - 1 - x);
    else if (pattern === 'neighbor') fixedDest[i] = y * W + ((x + 1) % W);
  }
  const isSource = new Uint8Array(tiles);
  for (const i of usableList) isSource[i] = fixedDest[i] < 0 || usable[fixedDest[i]] ? 1 : 0;
  if (pattern === 'hotspot' && !usable[hotspot]) throw new OptionError('faults', `the hotspot tile (${hotspot % W},${Math.floor(hotspot / W)}) is dead`, 'use another fault map or pattern');
  return { usable, usableList, fixedDest, isSource, hotspot };
}

/** The routers: 5 ports × V classes each, wormhole, routed by destination. */
function nocRouterCore(spec: FabricSpec, W: number, H: number, V: number, nextPort: Uint8Array | null): RouterCore {
  const tiles = W * H;
  const nVc = tiles * 5 * V;
  const vcStart = new Int32Array(tiles + 1);
  for (let r = 0; r <= tiles; r++) vcStart[r] = r * 5 * V;
  const vcTile = new Int32Array(nVc);
  const vcPort = new Uint8Array(nVc);
  const vcClass = new Uint8Array(nVc);
  const downVc = new Int32Array(nVc * 5).fill(NO_ROUTE);
  for (let v = 0; v < nVc; v++) {
    const r = Math.floor(v / (5 * V));
    const p = Math.floor(v / V) % 5;
    const c = v % V;
    vcTile[v] = r;
    vcPort[v] = p;
    vcClass[v] = c;
    downVc[v * 5] = SINK;
    for (let out = 1; out <= 4; out++) {
      const n = neighbour(r, out, W, H);
      if (n >= 0) downVc[v * 5 + out] = (n * 5 + OPPOSITE_PORT[out]) * V + c;
    }
  }
  const linkLatency = new Uint16Array(tiles * 5);
  for (let r = 0; r < tiles; r++) {
    linkLatency[r * 5] = spec.rampLatencyCycles;
    for (let p = 1; p <= 4; p++) linkLatency[r * 5 + p] = spec.hopLatencyCycles;
  }
  const plainXy = nextPort === null;
  const core = new RouterCore({ tiles, depth: spec.queueDepthWavelets, classes: V, vcStart, vcTile, vcPort, vcClass, downVc, routeMask: new Uint8Array(nVc), linkLatency, wormhole: true, nextPort, xyWidth: plainXy ? W : 0 });
  core.sinkRoom.fill(0x7fffffff);
  return core;
}

/** Packets in flight, by slot (slots recycled through a free list); the router reads destinations from `dest`. */
class PacketPool {
  private cap = 1024;
  dest = new Int32Array(this.cap);
  src = new Int32Array(this.cap);
  created = new Float64Array(this.cap);
  measured = new Uint8Array(this.cap);
  private freeHead = -1;
  private readonly freeNext: number[] = [];
  private used = 0;

  constructor(private readonly core: RouterCore) {
    core.pktDest = this.dest;
  }

  alloc(): number {
    if (this.freeHead >= 0) {
      const id = this.freeHead;
      this.freeHead = this.freeNext[id];
      return id;
    }
    if (this.used === this.cap) this.grow();
    this.freeNext.push(-1);
    return this.used++;
  }

  free(id: number): void {
    this.freeNext[id] = this.freeHead;
    this.freeHead = id;
  }

  private grow(): void {
    this.cap *= 2;
    const d = new Int32Array(this.cap);
    d.set(this.dest);
    this.dest = d;
    const s = new Int32Array(this.cap);
    s.set(this.src);
    this.src = s;
    const c = new Float64Array(this.cap);
    c.set(this.created);
    this.created = c;
    const m = new Uint8Array(this.cap);
    m.set(this.measured);
    this.measured = m;
    this.core.pktDest = this.dest;
  }
}

/**
 * The sources. Arrival times come from a per-tile stream read twice, by two cursors with the same seed: `nextArrival`
 * counts packets as the Bernoulli process creates them (the offered load, backlog or not), `nextGen` gives the
 * creation time of the next packet to leave the source queue. Destinations have a stream of their own.
 */
class NocSources {
  private readonly arrivalA: Uint32Array;
  private readonly arrivalB: Uint32Array;
  private readonly destRng: Uint32Array;
  private readonly pPacket: number;
  private readonly logQ: number;
  readonly nextGen: Float64Array;
  readonly nextArrival: Float64Array;

  constructor(
    tiles: number,
    seed: number,
    rate: number,
    P: number,
    private readonly pattern: TrafficPattern,
    private readonly ends: NocEndpoints,
    private readonly hotFrac: number,
  ) {
    this.arrivalA = new Uint32Array(tiles);
    this.arrivalB = new Uint32Array(tiles);
    this.destRng = new Uint32Array(tiles);
    for (let i = 0; i < tiles; i++) {
      this.arrivalA[i] = this.arrivalB[i] = streamSeed(seed, `noc/arrivals/${i}`);
      this.destRng[i] = streamSeed(seed, `noc/destinations/${i}`);
    }
    this.pPacket = rate / P;
    // Below 1e-6, log1p keeps a tiny rate from rounding to log(1) = 0 (which made every gap −∞); a gap past any
    // horizon is ∞. (Above, log(1 − p) as always, so results at ordinary rates keep every bit.)
    this.logQ = this.pPacket < 1e-6 ? Math.log1p(-this.pPacket) : Math.log(1 - this.pPacket);
    this.nextGen = new Float64Array(tiles).fill(Infinity);
    this.nextArrival = new Float64Array(tiles).fill(Infinity);
    for (const t of ends.usableList) {
      if (!ends.isSource[t]) continue;
      this.nextGen[t] = this.gap(this.arrivalB, t) - 1;
      this.nextArrival[t] = this.gap(this.arrivalA, t) - 1;
    }
  }

  private gap(state: Uint32Array, t: number): number {
    if (this.pPacket >= 1) return 1;
    const g = Math.floor(Math.log(1 - mulberry(state, t)) / this.logQ) + 1;
    return g > 0 && g < 2 ** 52 ? g : Infinity;
  }

  /** Advances the offered-load cursor of tile t past one packet. */
  advanceArrival(t: number): void {
    this.nextArrival[t] += this.gap(this.arrivalA, t);
  }

  /** Advances the source-queue cursor of tile t past the packet it just released. */
  advanceGen(t: number, g: number): void {
    this.nextGen[t] = g + this.gap(this.arrivalB, t);
  }

  pickDest(t: number): number {
    const { pattern, ends } = this;
    if (pattern === 'uniform' || (pattern === 'hotspot' && mulberry(this.destRng, t) >= this.hotFrac)) return ends.usableList[Math.floor(mulberry(this.destRng, t) * ends.usableList.length)];
    if (pattern === 'hotspot') return ends.hotspot;
    return ends.fixedDest[t];
  }
}

/** One run: the cycle loop over the routers, the sources and the statistics it keeps. */
class NocRun {
  private readonly tiles: number;
  winStart: number;
  private winEnd: number;
  private stopAt: number;
  /** Settling: the accepted wavelets and cycle at the start of the current period, and the previous period's rate. */
  settled = false;
  private periodStart = 0;
  private periodDelivered = 0;
  private lastPeriodRate = -1;
  private readonly minimal: boolean;
  private readonly scratch = newSinkScratch();
  private readonly curPkt: Int32Array;
  private readonly curLeft: Int32Array;
  private readonly curVc: Int32Array;
  private readonly pktCount: Int32Array;
  createdInWindow = 0;
  createdTotal = 0;
  picked = 0;
  deliveredInWindow = 0;
  measured = 0;
  measuredDone = 0;
  latencies = new Float64Array(1024);
  hopsSum = 0;
  injected = 0;
  delivered = 0;
  now = 0;
  private creating = true;
  private lastMove = 0;
  // What the last injection pass saw.
  private pushed = 0;
  private activeSources = 0;
  private nextCreate = Infinity;

  constructor(
    private readonly o: NocOptions,
    private readonly s: NocSettings,
    private readonly core: RouterCore,
    private readonly pool: PacketPool,
    private readonly sources: NocSources,
    private readonly nextPort: Uint8Array | null,
    routingName: string,
  ) {
    this.tiles = o.width * o.height;
    this.winStart = s.WU;
    this.winEnd = s.WU + s.M;
    this.stopAt = this.winEnd + s.drainMax;
    this.minimal = routingName === 'xy' || routingName === 'yx';
    this.curPkt = new Int32Array(this.tiles).fill(-1);
    this.curLeft = new Int32Array(this.tiles);
    this.curVc = new Int32Array(this.tiles);
    this.pktCount = new Int32Array(this.tiles);
  }

  run(): void {
    const { core } = this;
    let nextCheck = 1024;
    for (;;) {
      const now = this.now;
      if (this.o.checkStop && now >= nextCheck) {
        this.o.checkStop();
        nextCheck = now + 1024;
      }
      core.applyCredits(now);
      const landed = this.deliver(now);
      if (this.o.settle && !this.settled && now < this.winStart && now - this.periodStart >= this.o.settle.periodCycles) this.checkSettled(now);
      if (this.creating && (now >= this.stopAt || (now >= this.winEnd && this.measuredDone === this.measured))) this.creating = false;
      if (this.creating) this.countOffered(now);
      this.injectWavelets(now);
      const pushed = this.pushed;
      this.injected += pushed;
      const moved = this.evaluate(now);
      if (moved > 0 || pushed > 0 || landed > 0) this.lastMove = now;
      const inside = core.inFlight + core.queued;
      if (!this.creating && this.activeSources === 0 && inside === 0 && core.creditsPending === 0) break;
      if (moved === 0 && pushed === 0 && core.inFlight === 0 && core.queued > 0 && core.creditsPending === 0 && now > this.lastMove) throw this.deadlock(now);
      // Skip idle spans: with nothing in the network and no source busy, jump to the next creation.
      if (inside === 0 && this.activeSources === 0 && core.creditsPending === 0) {
        const next = this.creating ? Math.min(this.nextCreate, this.stopAt) : Infinity;
        if (next === Infinity) break;
        this.now = Math.max(now + 1, next);
        continue;
      }
      this.now = now + 1;
    }
  }

  /**
   * At the end of a warm-up period: when its accepted rate is within the tolerance of the previous period's, the
   * measurement window starts now (packets created from now on are measured; the drain limit moves with it).
   */
  private checkSettled(now: number): void {
    const rate = (this.delivered - this.periodDelivered) / (now - this.periodStart);
    const prev = this.lastPeriodRate;
    if (prev >= 0 && Math.abs(rate - prev) <= this.o.settle!.tolerance * Math.max(rate, prev)) {
      this.settled = true;
      this.winStart = now;
      this.winEnd = now + this.s.M;
      this.stopAt = this.winEnd + this.s.drainMax;
      return;
    }
    this.lastPeriodRate = rate;
    this.periodStart = now;
    this.periodDelivered = this.delivered;
  }

  /** Wavelets reaching their destination CE this cycle; a tail completes its packet. */
  private deliver(now: number): number {
    const { scratch, pool } = this;
    const landed = this.core.land(now, scratch);
    for (let i = 0; i < landed; i++) {
      this.delivered++;
      if (now >= this.winStart && now < this.winEnd) this.deliveredInWindow++;
      if ((scratch.flags[i] & FLAG_TAIL) !== 0) {
        const id = scratch.data[i];
        if (pool.measured[id] === 1) {
          if (this.measuredDone === this.latencies.length) {
            const l = new Float64Array(this.latencies.length * 2);
            l.set(this.latencies);
            this.latencies = l;
          }
          this.latencies[this.measuredDone++] = now - pool.created[id];
          this.hopsSum += this.hopsOf(pool.src[id], pool.dest[id]);
        }
        pool.free(id);
      }
    }
    return landed;
  }

  /** The Bernoulli process: counts what is offered this cycle. */
  private countOffered(now: number): void {
    const { nextArrival } = this.sources;
    for (let t = 0; t < this.tiles; t++) {
      while (nextArrival[t] <= now) {
        this.createdTotal++;
        if (now >= this.winStart && now < this.winEnd) {
          this.createdInWindow += this.s.P;
          this.measured++;
        }
        this.sources.advanceArrival(t);
      }
    }
  }

  /** Injection: one wavelet per source per cycle; a source with no packet in hand takes the next from its queue. */
  private injectWavelets(now: number): void {
    const { core, pool, sources, curPkt, curLeft, curVc, creating } = this;
    const { P, V } = this.s;
    let pushed = 0;
    let activeSources = 0;
    let nextCreate = Infinity;
    for (let t = 0; t < this.tiles; t++) {
      let id = curPkt[t];
      if (id < 0) {
        const g = sources.nextGen[t];
        if (!creating || g > now) {
          if (creating && g < nextCreate) nextCreate = g;
          continue;
        }
        id = pool.alloc();
        pool.src[id] = t;
        pool.dest[id] = sources.pickDest(t);
        pool.created[id] = g;
        pool.measured[id] = g >= this.winStart && g < this.winEnd ? 1 : 0;
        this.picked++;
        sources.advanceGen(t, g);
        curPkt[t] = id;
        curLeft[t] = P;
        curVc[t] = this.pktCount[t]++ % V;
      }
      activeSources++;
      const v = t * 5 * V + curVc[t];
      if (core.credits[v] > 0) {
        const left = curLeft[t];
        core.inject(now, v, id, (left === P ? FLAG_HEAD : 0) | (left === 1 ? FLAG_TAIL : 0));
        pushed++;
        if (left === 1) curPkt[t] = -1;
        else curLeft[t] = left - 1;
      }
    }
    this.pushed = pushed;
    this.activeSources = activeSources;
    this.nextCreate = nextCreate;
  }

  private evaluate(now: number): number {
    const W = this.o.width;
    try {
      return this.core.evaluate(now);
    } catch (e) {
      if (e instanceof NoRouteError) throw new NocDeadlockError(`no route at tile (${e.tile % W},${Math.floor(e.tile / W)}): ${e.message}`, e.tile % W, Math.floor(e.tile / W), now);
      throw e;
    }
  }

  private deadlock(now: number): NocDeadlockError {
    const W = this.o.width;
    const stuck = this.core.stuckVcs(4);
    const s = stuck[0];
    return new NocDeadlockError(
      `deadlock at cycle ${now}: ${this.core.queuedWavelets()} wavelets stuck, e.g. ${stuck.map((q) => `tile (${q.tile % W},${Math.floor(q.tile / W)}) port ${PORT_NAMES[q.port]} VC ${q.cls} (${q.count} queued)`).join('; ')}`,
      s.tile % W,
      Math.floor(s.tile / W),
      now,
    );
  }

  private hopsOf(src: number, dst: number): number {
    const { width: W, height: H } = this.o;
    if (this.minimal) return Math.abs((src % W) - (dst % W)) + Math.abs(Math.floor(src / W) - Math.floor(dst / W));
    let n = 0;
    let cur = src;
    while (cur !== dst) {
      cur = neighbour(cur, this.nextPort![cur * this.tiles + dst], W, H);
      n++;
    }
    return n;
  }
}

export function runNoc(o: NocOptions): NocResult {
  const { spec, width: W, height: H, pattern } = o;
  const s = nocSettings(o);
  const routing = nocRouting(o, s.faults);
  const ends = nocEndpoints(W, H, pattern, s.faults);
  const core = nocRouterCore(spec, W, H, s.V, routing.nextPort);
  const pool = new PacketPool(core);
  const sources = new NocSources(W * H, s.seed, o.rate, s.P, pattern, ends, s.hotFrac);
  const r = new NocRun(o, s, core, pool, sources, routing.nextPort, routing.name);
  r.run();
  return nocResult(o, s, routing.name, ends.usableList.length, core, r);
}

function nocResult(o: NocOptions, s: NocSettings, routingName: string, nUsable: number, core: RouterCore, r: NocRun): NocResult {
  const { spec, width: W, height: H, pattern } = o;
  const { P, M } = s;
  const done = r.measuredDone;
  const lat = r.latencies.subarray(0, done).slice().sort();
  const mean = done > 0 ? lat.reduce((a, b) => a + b, 0) / done : NaN;
  const p99 = done > 0 ? lat[Math.min(done - 1, Math.ceil(0.99 * done) - 1)] : NaN;
  const meanHops = done > 0 ? r.hopsSum / done : NaN;
  return {
    pattern,
    width: W,
    height: H,
    routing: routingName,
    packetWavelets: P,
    vcs: s.V,
    offeredRate: r.createdInWindow / (nUsable * M),
    acceptedRate: r.deliveredInWindow / (nUsable * M),
    meanLatencyCycles: mean,
    p99LatencyCycles: p99,
    meanHops,
    zeroLoadLatencyCycles: 2 * spec.rampLatencyCycles + meanHops * spec.hopLatencyCycles + (P - 1),
    bisectionBoundRate: pattern === 'uniform' && W === H && !s.faults ? 4 / W : null,
    measuredPackets: r.measured,
    unfinishedPackets: r.measured - done,
    saturated: r.measured - done > 0,
    latencyIsLowerBound: r.measured - done > 0,
    warmupCyclesUsed: r.winStart,
    warmupSettled: o.settle ? r.settled : null,
    injectedWavelets: r.injected,
    deliveredWavelets: r.delivered,
    sourceQueuedWavelets: (r.createdTotal - r.picked) * P,
    waveletHops: core.waveletHops,
    cyclesSimulated: r.now,
    routerCycles: r.now * W * H,
  };
}

/** Mean hops of uniform traffic (destinations include the source) on a k×k mesh with minimal routing: 2(k²−1)/(3k). */
export function uniformMeanHops(k: number): number {
  return (2 * (k * k - 1)) / (3 * k);
}
