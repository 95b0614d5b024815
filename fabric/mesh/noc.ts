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
import { InputError } from '../errors.js';
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
  meanLatencyCycles: number;
  p99LatencyCycles: number;
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

export function runNoc(o: NocOptions): NocResult {
  const { spec, width: W, height: H, pattern } = o;
  const tiles = W * H;
  const P = o.packetWavelets ?? 1;
  const M = o.cycles ?? 10_000;
  const WU = o.warmupCycles ?? Math.min(2000, M);
  const drainMax = o.drainCycles ?? 4 * (WU + M);
  const V = o.vcs ?? 2;
  const seed = o.seed ?? 1;
  const faults = o.faults ?? null;
  const hotFrac = o.hotspotFraction ?? 0.2;
  if (!(o.rate > 0 && o.rate <= 1)) throw new InputError(`rate ${o.rate} is out of range`, '--rate', 'give wavelets per tile per cycle in (0, 1]');
  if (!Number.isInteger(P) || P < 1 || P > 1024) throw new InputError(`packet of ${P} wavelets`, '--packet-wavelets', 'give a whole number in 1..1024');
  if (!Number.isInteger(V) || V < 1 || V > spec.colours) throw new InputError(`${V} VCs`, '--vcs', `give 1..${spec.colours} (the router's colours)`);
  if (!TRAFFIC_PATTERNS.includes(pattern)) throw new InputError(`unknown traffic pattern "${String(pattern)}"`, '--pattern', `use one of ${TRAFFIC_PATTERNS.join(', ')}`);
  if (!Number.isSafeInteger(M) || M < 1 || !Number.isSafeInteger(WU) || WU < 0 || !Number.isSafeInteger(drainMax) || drainMax < 0) {
    throw new InputError(`cycles ${M}, warm-up ${WU}, drain ${drainMax}`, 'noc options', 'give whole numbers of cycles (at least 1 measured)');
  }
  if (pattern === 'transpose' && W !== H) throw new InputError(`transpose needs a square mesh, got ${W}x${H}`, '--pattern', 'use a square --mesh or another pattern');
  if (faults) {
    if (faults.width !== W || faults.height !== H) throw new InputError(`fault map is ${faults.width}x${faults.height} but the mesh is ${W}x${H}`, '--faults', `give a ${W}x${H} fault map`);
    assertConnected(faults, '--faults');
  }

  // Routing.
  // Plain XY on a perfect mesh is computed from coordinates (no tiles² table: it stops fitting in cache).
  let nextPort: Uint8Array | null;
  let routingName: string;
  if (o.routing && typeof o.routing === 'object') {
    nextPort = o.routing.nextPort;
    routingName = o.routing.name;
  } else {
    const alg: RoutingAlgorithm = o.routing ?? (faults && !faults.isPerfect() ? 'updown' : 'xy');
    nextPort = alg === 'xy' && (!faults || faults.isPerfect()) ? null : buildRoutingTable(W, H, faults, alg).nextPort;
    routingName = alg;
  }

  // Usable endpoints.
  const usable = new Uint8Array(tiles);
  const usableList: number[] = [];
  for (let i = 0; i < tiles; i++) {
    if (!faults || faults.isTileUsable(i)) {
      usable[i] = 1;
      usableList.push(i);
    }
  }
  const nUsable = usableList.length;
  if (nUsable === 0) throw new InputError(`no usable tile in the ${W}x${H} mesh: every tile or core is dead`, 'faults', 'give a fault map that leaves tiles alive');
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
  if (pattern === 'hotspot' && !usable[hotspot]) throw new InputError(`the hotspot tile (${hotspot % W},${Math.floor(hotspot / W)}) is dead`, '--faults', 'use another fault map or pattern');

  // Router: 5 ports × V classes per router.
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

  // Packets (slots recycled through a free list).
  let cap = 1024;
  let pktDest = new Int32Array(cap);
  let pktSrc = new Int32Array(cap);
  let pktCreated = new Float64Array(cap);
  let pktMeasured = new Uint8Array(cap);
  let freeHead = -1;
  const freeNext: number[] = [];
  let used = 0;
  const allocPacket = (): number => {
    if (freeHead >= 0) {
      const id = freeHead;
      freeHead = freeNext[id];
      return id;
    }
    if (used === cap) {
      cap *= 2;
      const d = new Int32Array(cap);
      d.set(pktDest);
      pktDest = d;
      const s = new Int32Array(cap);
      s.set(pktSrc);
      pktSrc = s;
      const c = new Float64Array(cap);
      c.set(pktCreated);
      pktCreated = c;
      const m = new Uint8Array(cap);
      m.set(pktMeasured);
      pktMeasured = m;
      core.pktDest = pktDest;
    }
    freeNext.push(-1);
    return used++;
  };
  core.pktDest = pktDest;

  // Sources. Arrival times come from a per-tile stream read twice, by two cursors with the same seed: `nextArrival`
  // counts packets as the Bernoulli process creates them (the offered load, backlog or not), `nextGen` gives the
  // creation time of the next packet to leave the source queue. Destinations have a stream of their own.
  const arrivalA = new Uint32Array(tiles);
  const arrivalB = new Uint32Array(tiles);
  const destRng = new Uint32Array(tiles);
  for (let i = 0; i < tiles; i++) {
    arrivalA[i] = arrivalB[i] = streamSeed(seed, `noc/arrivals/${i}`);
    destRng[i] = streamSeed(seed, `noc/destinations/${i}`);
  }
  const pPacket = o.rate / P;
  // Below 1e-6, log1p keeps a tiny rate from rounding to log(1) = 0 (which made every gap −∞); a gap past any
  // horizon is ∞. (Above, log(1 − p) as always, so results at ordinary rates keep every bit.)
  const logQ = pPacket < 1e-6 ? Math.log1p(-pPacket) : Math.log(1 - pPacket);
  const gap = (state: Uint32Array, t: number): number => {
    if (pPacket >= 1) return 1;
    const g = Math.floor(Math.log(1 - mulberry(state, t)) / logQ) + 1;
    return g > 0 && g < 2 ** 52 ? g : Infinity;
  };
  const nextGen = new Float64Array(tiles).fill(Infinity);
  const nextArrival = new Float64Array(tiles).fill(Infinity);
  for (const t of usableList) {
    if (!isSource[t]) continue;
    nextGen[t] = gap(arrivalB, t) - 1;
    nextArrival[t] = gap(arrivalA, t) - 1;
  }
  const curPkt = new Int32Array(tiles).fill(-1);
  const curLeft = new Int32Array(tiles);
  const curVc = new Int32Array(tiles);
  const pktCount = new Int32Array(tiles);
  const rampVcBase = (t: number) => t * 5 * V;
  const pickDest = (t: number): number => {
    if (pattern === 'uniform' || (pattern === 'hotspot' && mulberry(destRng, t) >= hotFrac)) return usableList[Math.floor(mulberry(destRng, t) * nUsable)];
    if (pattern === 'hotspot') return hotspot;
    return fixedDest[t];
  };
  const minimal = routingName === 'xy' || routingName === 'yx';
  const hopsOf = (src: number, dst: number): number => {
    if (minimal) return Math.abs((src % W) - (dst % W)) + Math.abs(Math.floor(src / W) - Math.floor(dst / W));
    let n = 0;
    let cur = src;
    while (cur !== dst) {
      cur = neighbour(cur, nextPort![cur * tiles + dst], W, H);
      n++;
    }
    return n;
  };

  // Statistics.
  const winStart = WU;
  const winEnd = WU + M;
  let createdInWindow = 0;
  let createdTotal = 0;
  let picked = 0;
  let deliveredInWindow = 0;
  let measured = 0;
  let measuredDone = 0;
  let latencies = new Float64Array(1024);
  let hopsSum = 0;
  let injected = 0;
  let delivered = 0;
  const scratch = newSinkScratch();

  let now = 0;
  let creating = true;
  const stopAt = winEnd + drainMax;
  let lastMove = 0;
  let nextCheck = 1024;
  for (;;) {
    if (o.checkStop && now >= nextCheck) {
      o.checkStop();
      nextCheck = now + 1024;
    }
    core.applyCredits(now);
    const landed = core.land(now, scratch);
    for (let i = 0; i < landed; i++) {
      delivered++;
      if (now >= winStart && now < winEnd) deliveredInWindow++;
      if ((scratch.flags[i] & FLAG_TAIL) !== 0) {
        const id = scratch.data[i];
        if (pktMeasured[id] === 1) {
          if (measuredDone === latencies.length) {
            const l = new Float64Array(latencies.length * 2);
            l.set(latencies);
            latencies = l;
          }
          latencies[measuredDone++] = now - pktCreated[id];
          hopsSum += hopsOf(pktSrc[id], pktDest[id]);
        }
        freeNext[id] = freeHead;
        freeHead = id;
      }
    }
    if (creating && (now >= stopAt || (now >= winEnd && measuredDone === measured))) creating = false;
    // The Bernoulli process: count what is offered this cycle.
    if (creating) {
      for (let t = 0; t < tiles; t++) {
        while (nextArrival[t] <= now) {
          createdTotal++;
          if (now >= winStart && now < winEnd) {
            createdInWindow += P;
            measured++;
          }
          nextArrival[t] += gap(arrivalA, t);
        }
      }
    }
    // Injection: one wavelet per source per cycle.
    let pushed = 0;
    let activeSources = 0;
    let nextCreate = Infinity;
    for (let t = 0; t < tiles; t++) {
      let id = curPkt[t];
      if (id < 0) {
        const g = nextGen[t];
        if (!creating || g > now) {
          if (creating && g < nextCreate) nextCreate = g;
          continue;
        }
        id = allocPacket();
        pktSrc[id] = t;
        pktDest[id] = pickDest(t);
        pktCreated[id] = g;
        pktMeasured[id] = g >= winStart && g < winEnd ? 1 : 0;
        picked++;
        nextGen[t] = g + gap(arrivalB, t);
        curPkt[t] = id;
        curLeft[t] = P;
        curVc[t] = pktCount[t]++ % V;
      }
      activeSources++;
      const v = rampVcBase(t) + curVc[t];
      if (core.credits[v] > 0) {
        const left = curLeft[t];
        core.inject(now, v, id, (left === P ? FLAG_HEAD : 0) | (left === 1 ? FLAG_TAIL : 0));
        pushed++;
        if (left === 1) curPkt[t] = -1;
        else curLeft[t] = left - 1;
      }
    }
    injected += pushed;
    let moved: number;
    try {
      moved = core.evaluate(now);
    } catch (e) {
      if (e instanceof NoRouteError) throw new NocDeadlockError(`no route at tile (${e.tile % W},${Math.floor(e.tile / W)}): ${e.message}`, e.tile % W, Math.floor(e.tile / W), now);
      throw e;
    }
    if (moved > 0 || pushed > 0 || landed > 0) lastMove = now;
    const inside = core.inFlight + core.queued;
    if (!creating && activeSources === 0 && inside === 0 && core.creditsPending === 0) break;
    if (moved === 0 && pushed === 0 && core.inFlight === 0 && core.queued > 0 && core.creditsPending === 0 && now > lastMove) {
      const stuck = core.stuckVcs(4);
      const s = stuck[0];
      throw new NocDeadlockError(
        `deadlock at cycle ${now}: ${core.queuedWavelets()} wavelets stuck, e.g. ${stuck.map((q) => `tile (${q.tile % W},${Math.floor(q.tile / W)}) port ${PORT_NAMES[q.port]} VC ${q.cls} (${q.count} queued)`).join('; ')}`,
        s.tile % W,
        Math.floor(s.tile / W),
        now,
      );
    }
    // Skip idle spans: with nothing in the network and no source busy, jump to the next creation.
    if (inside === 0 && activeSources === 0 && core.creditsPending === 0) {
      const next = creating ? Math.min(nextCreate, stopAt) : Infinity;
      if (next === Infinity) break;
      now = Math.max(now + 1, next);
      continue;
    }
    now++;
  }
  const sourceQueued = (createdTotal - picked) * P;

  const lat = latencies.subarray(0, measuredDone).slice().sort();
  const mean = measuredDone > 0 ? lat.reduce((a, b) => a + b, 0) / measuredDone : NaN;
  const p99 = measuredDone > 0 ? lat[Math.min(measuredDone - 1, Math.ceil(0.99 * measuredDone) - 1)] : NaN;
  const meanHops = measuredDone > 0 ? hopsSum / measuredDone : NaN;
  return {
    pattern,
    width: W,
    height: H,
    routing: routingName,
    packetWavelets: P,
    vcs: V,
    offeredRate: createdInWindow / (nUsable * M),
    acceptedRate: deliveredInWindow / (nUsable * M),
    meanLatencyCycles: mean,
    p99LatencyCycles: p99,
    meanHops,
    zeroLoadLatencyCycles: 2 * spec.rampLatencyCycles + meanHops * spec.hopLatencyCycles + (P - 1),
    bisectionBoundRate: pattern === 'uniform' && W === H && !faults ? 4 / W : null,
    measuredPackets: measured,
    unfinishedPackets: measured - measuredDone,
    saturated: measured - measuredDone > 0,
    injectedWavelets: injected,
    deliveredWavelets: delivered,
    sourceQueuedWavelets: sourceQueued,
    waveletHops: core.waveletHops,
    cyclesSimulated: now,
    routerCycles: now * tiles,
  };
}

/** Mean hops of uniform traffic (destinations include the source) on a k×k mesh with minimal routing: 2(k²−1)/(3k). */
export function uniformMeanHops(k: number): number {
  return (2 * (k * k - 1)) / (3 * k);
}
