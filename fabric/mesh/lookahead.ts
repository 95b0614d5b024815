// Conservative lookahead for the parallel mesh (strips.ts): how many cycles must pass, at the least, before a wavelet
// now in a VC (or landing at a CE) can make its strip post anything to another strip. Parallel discrete-event
// simulators call this the lookahead; with it, strips agree at each barrier on a horizon — the earliest cycle any of
// them could post — and run every cycle before it without meeting (docs/parallel-mesh.md#lookahead).
//
// The bound follows the static colour routes: a wavelet in VC v posts when it leaves through a link into another
// strip: distance 0. (Credits returned to another strip are bounded apart: a strip holding c credits for a VC across
// the boundary cannot run out of them in fewer than c cycles — engine.ts runStrip.) Otherwise it goes on through the
// route's links (their latency each) or down the ramp to its CE, where it may complete a receive; the task it starts
// sends after the task-start cost, and what it sends lands in the tile's ramp-input VCs after the ramp latency.
// Every step is a lower bound (a blocked wavelet, an op before the send, only make it later), so the horizon is safe.

/** Distances are capped here: a horizon this far away is as good as unbounded (a barrier per window of this many cycles). */
export const LOOKAHEAD_CAP = 4096;

export interface LookaheadGraph {
  tiles: number;
  vcTile: Int32Array;
  downVc: Int32Array;
  routeMask: Uint8Array;
  /** Per mesh tile, per output (0 = the ramp). */
  linkLatency: Uint16Array;
  /** Strip of each mesh tile. */
  owner: Uint8Array;
  /** Per mesh tile: the ramp-input VCs of the colours its tasks send (CSR: sendVcStart[r]..sendVcStart[r+1]). */
  sendVcStart: Int32Array;
  sendVcs: Int32Array;
  taskStartCycles: number;
}

export interface Lookahead {
  /** Per VC: fewest cycles from the cycle a wavelet may leave it to a post by its strip (capped). */
  vc: Int32Array;
  /** Per mesh tile: fewest cycles from its CE acting (a send op at the earliest) to a post (capped). */
  send: Int32Array;
}

/** Shortest distances to a post over the reversed route graph, by buckets (Dial's algorithm: small integer weights). */
export function lookahead(g: LookaheadGraph): Lookahead {
  const nVc = g.vcTile.length;
  const n = nVc + g.tiles; // VC nodes, then one node per tile: "its CE may send now"
  const dist = new Int32Array(n).fill(LOOKAHEAD_CAP);
  // Forward edges u -> w (weight): a wavelet at u reaches w's state that much later. Stored reversed (by w), CSR.
  const predStart = new Int32Array(n + 1);
  const edge = (add: (u: number, w: number, wt: number) => void): void => {
    for (let v = 0; v < nVc; v++) {
      const r = g.vcTile[v];
      for (let o = 1; o <= 4; o++) {
        const d = g.downVc[v * 5 + o];
        if ((g.routeMask[v] & (1 << o)) !== 0 && d >= 0 && g.owner[g.vcTile[d]] === g.owner[r]) add(v, d, g.linkLatency[r * 5 + o]);
      }
      // Down the ramp: the delivery lands after the ramp (≥ 1 cycle), the task it may start sends after its start cost.
      if ((g.routeMask[v] & 1) !== 0) add(v, nVc + r, Math.max(1, g.linkLatency[r * 5]) + g.taskStartCycles);
    }
    for (let r = 0; r < g.tiles; r++) for (let i = g.sendVcStart[r]; i < g.sendVcStart[r + 1]; i++) add(nVc + r, g.sendVcs[i], g.linkLatency[r * 5]);
  };
  edge((_u, w) => predStart[w + 1]++);
  for (let i = 0; i < n; i++) predStart[i + 1] += predStart[i];
  const fill = predStart.slice(0, n);
  const pred = new Int32Array(predStart[n]);
  const weight = new Int32Array(predStart[n]);
  edge((u, w, wt) => {
    pred[fill[w]] = u;
    weight[fill[w]++] = wt;
  });
  const buckets: number[][] = Array.from({ length: LOOKAHEAD_CAP }, () => []);
  for (let v = 0; v < nVc; v++) {
    const s = g.owner[g.vcTile[v]];
    let cross = false;
    for (let o = 1; o <= 4 && !cross; o++) {
      const d = g.downVc[v * 5 + o];
      cross = (g.routeMask[v] & (1 << o)) !== 0 && d >= 0 && g.owner[g.vcTile[d]] !== s;
    }
    if (cross) {
      dist[v] = 0;
      buckets[0].push(v);
    }
  }
  for (let d = 0; d < LOOKAHEAD_CAP; d++) {
    const b = buckets[d];
    for (let i = 0; i < b.length; i++) {
      const x = b[i];
      if (dist[x] !== d) continue;
      for (let e = predStart[x]; e < predStart[x + 1]; e++) {
        const nd = d + weight[e];
        const u = pred[e];
        if (nd < dist[u]) {
          dist[u] = nd;
          buckets[nd].push(u);
        }
      }
    }
    buckets[d] = [];
  }
  return { vc: dist.slice(0, nVc), send: dist.slice(nVc) };
}
