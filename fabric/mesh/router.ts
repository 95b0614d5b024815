// The router/link machinery shared by the ISA engine (colour routes) and synthetic traffic (destination routes).
// BookSim-like and struct-of-arrays: every router has 5 input ports, each with virtual channels (VCs; a colour in
// the ISA engine, a VC class in synthetic traffic) holding a bounded FIFO of `depth` wavelets. Per cycle:
//   1. credits returned by last cycle's dequeues become visible (credit loop = one cycle);
//   2. wavelets whose link latency has elapsed land in their downstream VC (or, through the ramp, at the CE/sink);
//   3. (the driver runs CEs / injection, pushing into ramp-input VCs against credits)
//   4. every router with queued wavelets arbitrates each output port round-robin over its (input port, class) VCs
//      and forwards at most one wavelet per output port; a forwarded wavelet is in flight for the link's latency.
// Reads and writes are separated by the ≥1-cycle link and credit latencies, so the order routers are visited in
// never matters. Multicast is per branch: a VC's head wavelet goes out on each target port as soon as that port
// wins arbitration and has credit, and leaves the queue when every branch has been served (a branch never waits
// for another; the head blocks its VC until all are served). Wormhole (synthetic traffic): a packet's head flit
// claims the downstream VC, body flits follow, the tail releases it.
// Assumption: the crossbar lets several VCs of one input port go to different output ports in the same cycle
// (input speedup); links still carry one wavelet per direction per cycle.

export const SINK = -2;
export const NO_ROUTE = -1;
export const FLAG_HEAD = 1;
export const FLAG_TAIL = 2;

/** Where a strip of a partitioned mesh posts what crosses to another strip (fabric/mesh/strips.ts StripExchange). */
export interface StripMail {
  postWavelet(to: number, land: number, lat: number, target: number, data: number, flags: number): void;
  postCredit(to: number, v: number): void;
}

export interface RouterConfig {
  tiles: number;
  depth: number;
  /** Classes per port (colours, or VC classes). */
  classes: number;
  /** VC ranges: VCs of router r are [vcStart[r], vcStart[r+1]). */
  vcStart: Int32Array;
  vcTile: Int32Array;
  vcPort: Uint8Array;
  vcClass: Uint8Array;
  /** downVc[v*5 + o]: the VC a wavelet from v enters through output o; SINK for the ramp; NO_ROUTE. */
  downVc: Int32Array;
  /** Static output-port masks (colour routes); 0 where routing is by destination. */
  routeMask: Uint8Array;
  /** Latency of each router output: linkLatency[r*5 + o] (o = 0: the ramp to the CE). */
  linkLatency: Uint16Array;
  wormhole: boolean;
  /** Destination routing (synthetic traffic): nextPort[cur*tiles + dst]; null for colour routes. */
  nextPort: Uint8Array | null;
  /**
   * Mesh width when destination routing is plain dimension order (XY) on a perfect mesh: computed from coordinates
   * instead of read from nextPort (a tiles² table stops fitting in cache beyond ~32×32). 0 otherwise.
   */
  xyWidth?: number;
  /** Where to count wavelets per router output (a shared array when strips of one mesh count into it); made when absent. */
  linkWavelets?: Float64Array;
}

/** Thrown when a wavelet has nowhere to go. */
export class NoRouteError extends Error {
  constructor(
    readonly tile: number,
    readonly port: number,
    readonly cls: number,
    message: string,
  ) {
    super(message);
    this.name = 'NoRouteError';
  }
}

export class RouterCore {
  readonly tiles: number;
  readonly vcs: number;
  readonly depth: number;
  readonly classes: number;
  readonly vcStart: Int32Array;
  readonly vcTile: Int32Array;
  readonly vcPort: Uint8Array;
  readonly vcClass: Uint8Array;
  readonly downVc: Int32Array;
  readonly routeMask: Uint8Array;
  readonly linkLatency: Uint16Array;
  readonly wormhole: boolean;
  readonly nextPort: Uint8Array | null;
  readonly xyWidth: number;

  // Queues.
  readonly qHead: Int32Array;
  readonly qCount: Int32Array;
  readonly qData: Uint32Array;
  readonly qFlags: Uint8Array;
  /** Free slots of each VC as its upstream sees them. */
  readonly credits: Int32Array;
  /** Output ports still to serve for the head wavelet (0 = head not routed yet). */
  readonly pending: Uint8Array;
  /** Route of the packet at the head (wormhole body flits follow it). */
  readonly curRoute: Uint8Array;
  readonly lastDeq: Int32Array;
  /** Wormhole: the upstream VC holding this VC, or -1. */
  readonly lockedBy: Int32Array;
  readonly rr: Int32Array;
  readonly flits: Int32Array;
  /** Room at each (tile, class) sink behind the ramp; the driver sets it (recv space, or unlimited). */
  readonly sinkRoom: Int32Array;
  /** Packet destinations (synthetic traffic): the flit payload is a packet id. */
  pktDest: Int32Array = new Int32Array(0);

  // Routers to evaluate: only those whose state changed (a wavelet landed, a credit came back from downstream, or
  // they forwarded last cycle); a router none of that happened to would decide exactly as last cycle: nothing.
  private cur: Int32Array;
  private curN = 0;
  private nxt: Int32Array;
  private nxtN = 0;
  private readonly stamp: Float64Array;
  /** The router feeding each VC (-1: the CE, through the ramp). */
  readonly upRouter: Int32Array;
  /** Wavelets in router queues. */
  queued = 0;
  private readonly cand: Int32Array;
  private readonly want = new Int32Array(5);

  // Credit returns visible next cycle.
  private creditList: Int32Array;
  private creditN = 0;

  // In flight: one FIFO ring per distinct link latency. A wavelet sent at t over a link of latency L lands at t + L;
  // within one latency class, landing times never decrease, so a ring in send order is sorted by landing time.
  private readonly latClass: Int32Array;
  private readonly rings: FlightRing[] = [];
  /** Wavelets in flight on links. */
  inFlight = 0;

  // Statistics.
  /** Wavelets forwarded per router output, [r*5 + o]. */
  readonly linkWavelets: Float64Array;
  waveletHops = 0;
  moves = 0;

  // Partitioned mesh (the parallel engine): this core runs only its strip's routers. Per VC, the strip that must be
  // told when a wavelet enters it (its router is elsewhere) or when it frees a slot (its upstream is elsewhere); -1: here.
  private downStrip: Int8Array | null = null;
  private upStrip: Int8Array | null = null;
  private mail: StripMail | null = null;
  // Lookahead (lookahead.ts): per VC, and per mesh tile for a wavelet landing at its CE, the fewest cycles to a post
  // to another strip; queued and in-flight wavelets counted by that distance, so the nearest is found in a few reads.
  private laVc: Int32Array | null = null;
  private laSink: Int32Array | null = null;
  private qHist: Int32Array = new Int32Array(0);
  private fHist: Int32Array = new Int32Array(0);
  /** The earliest cycle a wavelet posted this round could make its receiving strip post (reset by the driver). */
  postBound = Infinity;
  /** Wavelets taken in from another strip and not yet forwarded, per VC; VCs counted by that occupancy (≥ 1). */
  private crossOcc: Int32Array = new Int32Array(0);
  private occHist: Int32Array = new Int32Array(0);

  constructor(c: RouterConfig) {
    this.tiles = c.tiles;
    this.depth = c.depth;
    this.classes = c.classes;
    this.vcStart = c.vcStart;
    this.vcTile = c.vcTile;
    this.vcPort = c.vcPort;
    this.vcClass = c.vcClass;
    this.downVc = c.downVc;
    this.routeMask = c.routeMask;
    this.linkLatency = c.linkLatency;
    this.wormhole = c.wormhole;
    this.nextPort = c.nextPort;
    this.xyWidth = c.xyWidth ?? 0;
    const vcs = c.vcTile.length;
    this.vcs = vcs;
    this.qHead = new Int32Array(vcs);
    this.qCount = new Int32Array(vcs);
    this.qData = new Uint32Array(vcs * c.depth);
    this.qFlags = new Uint8Array(c.wormhole ? vcs * c.depth : 0);
    this.credits = new Int32Array(vcs).fill(c.depth);
    this.pending = new Uint8Array(vcs);
    this.curRoute = new Uint8Array(vcs);
    this.lastDeq = new Int32Array(vcs).fill(-1);
    this.lockedBy = new Int32Array(vcs).fill(-1);
    this.rr = new Int32Array(c.tiles * 5).fill(-1);
    this.flits = new Int32Array(c.tiles);
    this.sinkRoom = new Int32Array(c.tiles * c.classes);
    this.cur = new Int32Array(c.tiles);
    this.nxt = new Int32Array(c.tiles);
    this.stamp = new Float64Array(c.tiles).fill(-1);
    this.upRouter = new Int32Array(vcs).fill(-1);
    for (let v = 0; v < vcs; v++) for (let o = 1; o < 5; o++) if (c.downVc[v * 5 + o] >= 0) this.upRouter[c.downVc[v * 5 + o]] = c.vcTile[v];
    let maxVcs = 1;
    for (let r = 0; r < c.tiles; r++) maxVcs = Math.max(maxVcs, c.vcStart[r + 1] - c.vcStart[r]);
    this.cand = new Int32Array(maxVcs);
    this.creditList = new Int32Array(Math.max(1, vcs));
    let maxLat = 1;
    for (let i = 0; i < c.linkLatency.length; i++) maxLat = Math.max(maxLat, c.linkLatency[i]);
    this.latClass = new Int32Array(maxLat + 2).fill(-1);
    const classOf = (lat: number) => {
      if (this.latClass[lat] < 0) {
        this.latClass[lat] = this.rings.length;
        this.rings.push(new FlightRing(Math.max(256, vcs)));
      }
    };
    for (let i = 0; i < c.linkLatency.length; i++) classOf(c.linkLatency[i] === 0 && i % 5 === 0 ? 1 : c.linkLatency[i]);
    classOf(1);
    this.linkWavelets = c.linkWavelets ?? new Float64Array(c.tiles * 5);
  }

  /**
   * Makes this core one strip of a partitioned mesh: it runs only the routers `owner` gives to strip `self` (the driver
   * marks nothing else), and what crosses to another strip goes through `mail` instead of its own links and credits.
   */
  partition(owner: Uint8Array, self: number, mail: StripMail): void {
    const down = new Int8Array(this.vcs).fill(-1);
    const up = new Int8Array(this.vcs).fill(-1);
    for (let v = 0; v < this.vcs; v++) {
      const s = owner[this.vcTile[v]];
      if (s !== self) down[v] = s;
      const u = this.upRouter[v];
      if (u >= 0 && owner[u] !== self) up[v] = owner[u];
    }
    this.downStrip = down;
    this.upStrip = up;
    this.mail = mail;
    this.crossOcc = new Int32Array(this.vcs);
    this.occHist = new Int32Array(this.depth + 1);
  }

  /**
   * The most wavelets any VC of this strip fed from another strip holds, counting those in flight to it (0: none;
   * -Infinity: the mesh is not partitioned): its upstream holds depth − that many credits, less what it sent this round.
   */
  maxCrossOccupancy(): number {
    const h = this.occHist;
    if (h.length === 0) return -Infinity;
    for (let c = h.length - 1; c > 0; c--) if (h[c] > 0) return c;
    return 0;
  }

  private occupy(v: number, by: number): void {
    const n = this.crossOcc[v];
    if (n > 0) this.occHist[n]--;
    this.crossOcc[v] = n + by;
    if (n + by > 0) this.occHist[n + by]++;
  }

  /**
   * Counts wavelets by lookahead distance from now on: `vc` per VC, `sink` per mesh tile (a wavelet delivered to its
   * CE), both capped at `cap` (fabric/mesh/lookahead.ts). Call on an empty network.
   */
  setLookahead(vc: Int32Array, sink: Int32Array, cap: number): void {
    this.laVc = vc;
    this.laSink = sink;
    this.qHist = new Int32Array(cap + 1);
    this.fHist = new Int32Array(cap + 1);
  }

  /** Lookahead distance of a landing target (a VC, or a sink code). */
  private laOf(target: number): number {
    return target >= 0 ? this.laVc![target] : this.laSink![Math.floor((-1 - target) / this.classes)];
  }

  /**
   * The earliest cycle after `now` at which a wavelet now queued or in flight in this strip, or posted by it this round,
   * could make a strip post to another (Infinity: none can). The driver adds what its CEs may send.
   */
  earliestPost(now: number): number {
    let h = this.postBound;
    if (this.laVc === null) return now + 1;
    const q = this.qHist;
    if (this.queued > 0) {
      for (let d = 0; d < q.length; d++) {
        if (q[d] > 0) {
          h = Math.min(h, now + 1 + d);
          break;
        }
      }
    }
    if (this.inFlight > 0) {
      const f = this.fHist;
      for (let d = 0; d < f.length; d++) {
        if (f[d] > 0) {
          h = Math.min(h, this.nextLanding(now) + d);
          break;
        }
      }
    }
    return h;
  }

  /** A wavelet another strip sent into this strip's VC `target` (read at the start of the cycle after it was sent). */
  acceptWavelet(land: number, lat: number, target: number, data: number, flags: number): void {
    this.rings[this.latClass[lat]].push(land, target, data, flags);
    this.inFlight++;
    if (this.laVc !== null) this.fHist[this.laVc[target]]++;
    this.occupy(target, 1);
  }

  /** A credit another strip returned for VC v, whose upstream router is in this strip. */
  acceptCredit(v: number, now: number): void {
    this.credits[v]++;
    this.mark(this.upRouter[v], now);
  }

  /** Sink target code of (tile, class) for events. */
  sinkCode(tile: number, cls: number): number {
    return -1 - (tile * this.classes + cls);
  }

  /** Puts a wavelet in flight for `lat` cycles (≥ 1): it lands at `target` (a VC, or a sink code < 0) at now + lat. */
  schedule(now: number, lat: number, target: number, data: number, flags: number): void {
    this.rings[this.latClass[lat]].push(now + lat, target, data, flags);
    this.inFlight++;
    if (this.laVc !== null) this.fHist[this.laOf(target)]++;
  }

  /** Router r must be evaluated at cycle `now`. */
  private mark(r: number, now: number): void {
    if (this.stamp[r] !== now) {
      this.stamp[r] = now;
      this.cur[this.curN++] = r;
    }
  }

  /** Appends a wavelet to VC v (space is guaranteed by the credit taken when it was sent). */
  enqueue(v: number, data: number, flags: number, now: number): void {
    const d = this.depth;
    let slot = this.qHead[v] + this.qCount[v];
    if (slot >= d) slot -= d;
    slot += v * d;
    this.qData[slot] = data;
    if (this.wormhole) this.qFlags[slot] = flags;
    this.qCount[v]++;
    if (this.laVc !== null) this.qHist[this.laVc[v]]++;
    const r = this.vcTile[v];
    this.flits[r]++;
    this.queued++;
    this.mark(r, now);
  }

  /** Sends a wavelet from the CE into ramp-input VC v (the caller checked credits[v] > 0). */
  inject(now: number, v: number, data: number, flags: number): void {
    this.credits[v]--;
    const lat = this.linkLatency[this.vcTile[v] * 5];
    if (lat === 0) this.enqueue(v, data, flags, now);
    else this.schedule(now, lat, v, data, flags);
  }

  /** Phase 1: credits freed by last cycle's dequeues (their upstream routers wake up). Returns how many. */
  applyCredits(now: number): number {
    const n = this.creditN;
    const list = this.creditList;
    const credits = this.credits;
    const up = this.upRouter;
    for (let i = 0; i < n; i++) {
      const v = list[i];
      credits[v]++;
      const r = up[v];
      if (r >= 0) this.mark(r, now);
    }
    this.creditN = 0;
    return n;
  }

  get creditsPending(): number {
    return this.creditN;
  }

  /**
   * Phase 2: lands the wavelets due at `now`. Sink deliveries are appended to `sinkOut` as (code, data, flags)
   * triples (a caller-owned scratch array, grown as needed); returns the number of sink deliveries.
   */
  land(now: number, sinkOut: { codes: Int32Array; data: Uint32Array; flags: Uint8Array }): number {
    if (this.inFlight === 0) return 0;
    let sinks = 0;
    const rings = this.rings;
    for (let c = 0; c < rings.length; c++) {
      const ring = rings[c];
      const mask = ring.mask;
      while (ring.count > 0) {
        const h = ring.head;
        if (ring.time[h] > now) break;
        const t = ring.target[h];
        if (this.laVc !== null) this.fHist[this.laOf(t)]--;
        if (t >= 0) this.enqueue(t, ring.data[h], ring.flags[h], now);
        else {
          if (sinks === sinkOut.codes.length) growSinkOut(sinkOut);
          sinkOut.codes[sinks] = t;
          sinkOut.data[sinks] = ring.data[h];
          sinkOut.flags[sinks] = ring.flags[h];
          sinks++;
        }
        ring.head = (h + 1) & mask;
        ring.count--;
        this.inFlight--;
      }
    }
    return sinks;
  }

  /** The earliest cycle after `now` with a wavelet landing, or Infinity. */
  nextLanding(now: number): number {
    if (this.inFlight === 0) return Infinity;
    let t = Infinity;
    for (const ring of this.rings) if (ring.count > 0 && ring.time[ring.head] < t) t = ring.time[ring.head];
    return Math.max(t, now + 1);
  }

  /**
   * Forgets per-cycle bookkeeping (evaluation stamps, last dequeue cycles) of a drained network, so a new run may
   * start at any cycle — even one already visited — and every router is evaluated when something reaches it.
   */
  resetTransient(): void {
    this.stamp.fill(-1);
    this.lastDeq.fill(-1);
    this.curN = 0;
  }

  /** Routers queued for evaluation this cycle. */
  get activeRouters(): number {
    return this.curN;
  }

  /** Phase 4: the routers whose state changed arbitrate and forward. Returns wavelets forwarded. */
  evaluate(now: number): number {
    const list = this.cur;
    const n = this.curN;
    const next = this.nxt;
    // In tile order: each router's state lies in a few arrays at its own index range, so visiting routers in index
    // order reads them nearly sequentially (the list is filled in arrival order; a cycle's routers do not interact,
    // so the order changes no result).
    if (n > 64) list.subarray(0, n).sort();
    let nn = 0;
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const r = list[i];
      if (this.flits[r] === 0) continue;
      const m = this.evaluateRouter(r, now);
      if (m > 0) {
        moved += m;
        if (this.flits[r] > 0) next[nn++] = r;
      }
    }
    // Routers that forwarded are looked at again next cycle (new heads; VCs that just dequeued).
    this.nxt = list;
    this.cur = next;
    this.curN = nn;
    this.nxtN = 0;
    const t = now + 1;
    for (let i = 0; i < nn; i++) this.stamp[next[i]] = t;
    this.moves += moved;
    return moved;
  }

  private evaluateRouter(r: number, now: number): number {
    const vs = this.vcStart[r];
    const ve = this.vcStart[r + 1];
    const qCount = this.qCount;
    const pending = this.pending;
    const lastDeq = this.lastDeq;
    const cand = this.cand;
    const want = this.want;
    want[0] = want[1] = want[2] = want[3] = want[4] = 0;
    let m = 0;
    for (let v = vs; v < ve; v++) {
      if (qCount[v] === 0 || lastDeq[v] === now) continue;
      let p = pending[v];
      if (p === 0) {
        p = this.routeHead(v, r);
        pending[v] = p;
      }
      if (m < 32) {
        // want[o]: bit k set when candidate k asks for output o.
        const b = 1 << m;
        if (p & 1) want[0] |= b;
        if (p & 2) want[1] |= b;
        if (p & 4) want[2] |= b;
        if (p & 8) want[3] |= b;
        if (p & 16) want[4] |= b;
      }
      cand[m++] = v;
    }
    if (m === 0) return 0;
    if (m > 32) return this.evaluateWide(r, now, m);
    let moved = 0;
    const rr = this.rr;
    for (let o = 0; o < 5; o++) {
      const mask = want[o];
      if (mask === 0) continue;
      // Round robin: candidates after the last one granted this output, then from the start.
      const last = rr[r * 5 + o];
      let startK = 0;
      while (startK < m && cand[startK] <= last) startK++;
      const highBits = startK >= 32 ? 0 : mask & (-1 << startK);
      let bits = highBits;
      let pass = 0;
      for (;;) {
        if (bits === 0) {
          if (pass === 1) break;
          pass = 1;
          bits = mask & ~highBits;
          continue;
        }
        const low = bits & -bits;
        bits ^= low;
        const v = cand[31 - Math.clz32(low)];
        if ((pending[v] & (1 << o)) === 0 || lastDeq[v] === now) continue;
        if (this.forward(r, v, o, now)) {
          moved++;
          break;
        }
      }
    }
    return moved;
  }

  /** The same arbitration without bit masks, for routers with more than 32 occupied VCs. */
  private evaluateWide(r: number, now: number, m: number): number {
    const cand = this.cand;
    const pending = this.pending;
    const lastDeq = this.lastDeq;
    const rr = this.rr;
    let moved = 0;
    for (let o = 0; o < 5; o++) {
      const bit = 1 << o;
      const last = rr[r * 5 + o];
      let start = 0;
      while (start < m && cand[start] <= last) start++;
      for (let k = 0; k < m; k++) {
        let idx = start + k;
        if (idx >= m) idx -= m;
        const v = cand[idx];
        if ((pending[v] & bit) === 0 || lastDeq[v] === now) continue;
        if (this.forward(r, v, o, now)) {
          moved++;
          break;
        }
      }
    }
    return moved;
  }

  /** Tries to send the head of VC v (router r) out of port o this cycle; true when it went. */
  private forward(r: number, v: number, o: number, now: number): boolean {
    const d = this.downVc[v * 5 + o];
    const slot = v * this.depth + this.qHead[v];
    if (d >= 0) {
      if (this.credits[d] <= 0) return false;
      if (this.wormhole) {
        const owner = this.lockedBy[d];
        const f = this.qFlags[slot];
        if (owner !== v && (owner !== -1 || (f & FLAG_HEAD) === 0)) return false;
        this.lockedBy[d] = (f & FLAG_TAIL) !== 0 ? -1 : v;
      }
      this.credits[d]--;
      const lat = this.linkLatency[r * 5 + o];
      const ds = this.downStrip === null ? -1 : this.downStrip[d];
      if (ds < 0) this.schedule(now, lat, d, this.qData[slot], this.wormhole ? this.qFlags[slot] : 0);
      else {
        this.mail!.postWavelet(ds, now + lat, lat, d, this.qData[slot], this.wormhole ? this.qFlags[slot] : 0);
        if (this.laVc !== null && now + lat + this.laVc[d] < this.postBound) this.postBound = now + lat + this.laVc[d];
      }
      this.waveletHops++;
    } else if (d === SINK) {
      const s = r * this.classes + this.vcClass[v];
      if (this.sinkRoom[s] <= 0) return false;
      this.sinkRoom[s]--;
      const lat = this.linkLatency[r * 5];
      // A zero-latency ramp still lands in the next cycle's phase 2 at the earliest (the sink is visited there).
      this.schedule(now, lat === 0 ? 1 : lat, -1 - s, this.qData[slot], this.wormhole ? this.qFlags[slot] : 0);
    } else {
      throw new NoRouteError(r, this.vcPort[v], this.vcClass[v], `no route out of port ${o}`);
    }
    this.linkWavelets[r * 5 + o]++;
    this.rr[r * 5 + o] = v;
    const left = this.pending[v] & ~(1 << o);
    this.pending[v] = left;
    if (left === 0) {
      const h = this.qHead[v] + 1;
      this.qHead[v] = h === this.depth ? 0 : h;
      this.qCount[v]--;
      if (this.laVc !== null) this.qHist[this.laVc[v]]--;
      this.flits[r]--;
      this.queued--;
      this.lastDeq[v] = now;
      const us = this.upStrip === null ? -1 : this.upStrip[v];
      if (us < 0) this.creditList[this.creditN++] = v;
      else {
        this.mail!.postCredit(us, v);
        this.occupy(v, -1);
      }
    }
    return true;
  }

  /** Output ports for the wavelet now at the head of VC v. */
  private routeHead(v: number, r: number): number {
    const np = this.nextPort;
    const w = this.xyWidth;
    if (np === null && w === 0) return this.routeMask[v];
    const slot = v * this.depth + this.qHead[v];
    if ((this.qFlags[slot] & FLAG_HEAD) === 0 && this.wormhole) return this.curRoute[v];
    const dst = this.pktDest[this.qData[slot]];
    let port: number;
    if (w > 0) {
      const dx = (dst % w) - (r % w);
      if (dx > 0) port = 2;
      else if (dx < 0) port = 4;
      else {
        const dy = ((dst - (dst % w)) / w) - ((r - (r % w)) / w);
        port = dy > 0 ? 3 : dy < 0 ? 1 : 0;
      }
    } else port = np![r * this.tiles + dst];
    if (port === 255) throw new NoRouteError(r, this.vcPort[v], this.vcClass[v], `destination ${dst} is unreachable`);
    const mask = 1 << port;
    this.curRoute[v] = mask;
    return mask;
  }

  /** Routers holding wavelets, with their occupied VCs, for deadlock reports (at most `limit` VCs). */
  stuckVcs(limit = 8): StuckVc[] {
    const out: StuckVc[] = [];
    for (let v = 0; v < this.vcs && out.length < limit; v++) {
      if (this.qCount[v] > 0) out.push({ vc: v, tile: this.vcTile[v], port: this.vcPort[v], cls: this.vcClass[v], count: this.qCount[v] });
    }
    return out;
  }

  queuedWavelets(): number {
    let s = 0;
    for (let r = 0; r < this.tiles; r++) s += this.flits[r];
    return s;
  }
}

/** A VC holding wavelets, for deadlock reports. */
export interface StuckVc {
  vc: number;
  tile: number;
  port: number;
  cls: number;
  count: number;
}

export interface SinkScratch {
  codes: Int32Array;
  data: Uint32Array;
  flags: Uint8Array;
}

export function newSinkScratch(n = 256): SinkScratch {
  return { codes: new Int32Array(n), data: new Uint32Array(n), flags: new Uint8Array(n) };
}

function growSinkOut(s: SinkScratch): void {
  const n = s.codes.length * 2;
  const c = new Int32Array(n);
  c.set(s.codes);
  const d = new Uint32Array(n);
  d.set(s.data);
  const f = new Uint8Array(n);
  f.set(s.flags);
  s.codes = c;
  s.data = d;
  s.flags = f;
}

/** A growable FIFO of in-flight wavelets (landing time, target, payload, flags). */
class FlightRing {
  time: Int32Array;
  target: Int32Array;
  data: Uint32Array;
  flags: Uint8Array;
  head = 0;
  count = 0;
  mask: number;

  constructor(cap: number) {
    let size = 16;
    while (size < cap) size <<= 1;
    this.mask = size - 1;
    this.time = new Int32Array(size);
    this.target = new Int32Array(size);
    this.data = new Uint32Array(size);
    this.flags = new Uint8Array(size);
  }

  push(time: number, target: number, data: number, flags: number): void {
    if (this.count > this.mask) this.grow();
    const i = (this.head + this.count) & this.mask;
    this.time[i] = time;
    this.target[i] = target;
    this.data[i] = data;
    this.flags[i] = flags;
    this.count++;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const time = new Int32Array(size);
    const target = new Int32Array(size);
    const data = new Uint32Array(size);
    const flags = new Uint8Array(size);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & this.mask;
      time[k] = this.time[i];
      target[k] = this.target[i];
      data[k] = this.data[i];
      flags[k] = this.flags[i];
    }
    this.time = time;
    this.target = target;
    this.data = data;
    this.flags = flags;
    this.head = 0;
    this.mask = size - 1;
  }
}
