// The verifier between passes: every weight element placed exactly once per use, every hop on a live link, every
// colour's routes acyclic. The engine's program validator (fabric/isa) checks SRAM and colour budgets per tile again.
import { neighbour } from '../../fabric/geometry.js';
import type { BufferInit } from '../../fabric/isa/types.js';
import type { ModelGraph } from '../graph/graph.js';
import { layerMatrices } from '../graph/graph.js';
import type { Lowered } from './lower.js';
import type { StreamDecl } from './plan.js';
import { extent, meshScratch, zeroedU32 } from './scratch.js';
import type { MeshView, LinkRows, StreamRoute } from './route.js';

type Block = [number, number, number, number];

const ON_LINK = meshScratch('verify.link', 'u32', 5);
const SEEN = meshScratch('verify.seen', 'u32', 1);

export function verifyCoverage(graph: ModelGraph, lowered: Lowered): void {
  const blocks = new Map<string, Block[]>();
  for (const t of lowered.plan.tiles) {
    for (const b of t.buffers) {
      const init = b.init as BufferInit;
      if (init.kind !== 'weights') continue;
      let list = blocks.get(init.tensor);
      if (!list) blocks.set(init.tensor, (list = []));
      list.push([init.rows[0], init.rows[1], init.cols[0], init.cols[1]]);
    }
  }
  const mats = [graph.embedding, graph.lmHead, ...graph.layers.flatMap(layerMatrices)];
  const uses = new Map<string, { rows: number; cols: number; uses: number }>();
  for (const m of mats) {
    const u = uses.get(m.tensor);
    if (u) u.uses++;
    else uses.set(m.tensor, { rows: m.rows, cols: m.cols, uses: 1 });
  }
  // A routed expert held as a reserved span (the projection's, or a run's experts that the router never picks) has
  // none of its weights placed.
  const reserved = new Set<string>();
  for (const t of lowered.plan.tiles) {
    const layer = t.tag.unit === 'reserved-expert' ? graph.layers.find((l) => l.index === t.tag.layer) : undefined;
    if (layer?.mlp.kind !== 'moe' || typeof t.tag.expert !== 'number') continue;
    const e = layer.mlp.moe.experts[t.tag.expert];
    for (const m of [e.gate, e.up, e.down]) reserved.add(m.tensor);
  }
  for (const [tensor, u] of uses) {
    if (reserved.has(tensor)) {
      if (blocks.has(tensor)) throw new Error(`verify: ${tensor} is placed, but its expert is a reserved span`);
      continue;
    }
    const list = blocks.get(tensor) ?? [];
    let area = 0;
    for (const [r0, r1, c0, c1] of list) {
      if (r0 < 0 || c0 < 0 || r1 > u.rows || c1 > u.cols || r0 >= r1 || c0 >= c1) throw new Error(`verify: block [${r0},${r1})×[${c0},${c1}) of ${tensor} is outside its ${u.rows}×${u.cols} shape`);
      area += (r1 - r0) * (c1 - c0);
    }
    if (area !== u.uses * u.rows * u.cols) throw new Error(`verify: ${tensor} is placed ${area} elements for ${u.uses} use(s) of ${u.rows * u.cols}`);
    if (u.uses === 1) {
      const sorted = [...list].sort((a, b) => a[0] - b[0] || a[2] - b[2]);
      for (let i = 0; i < sorted.length; i++) {
        for (let j = i + 1; j < sorted.length && sorted[j][0] < sorted[i][1]; j++) {
          const a = sorted[i];
          const b = sorted[j];
          if (a[2] < b[3] && b[2] < a[3]) throw new Error(`verify: blocks of ${tensor} overlap at rows ${b[0]}, cols ${Math.max(a[2], b[2])}`);
        }
      }
    }
  }
}

export function verifyRoutes(routes: StreamRoute[], colourOf: Int32Array, view: MeshView): void {
  const linkColour = new Map<number, number>();
  for (const r of routes) {
    const c = colourOf[r.stream];
    for (const l of r.links) {
      const tile = Math.floor(l / 5);
      const port = l % 5;
      if (!view.linkAlive(tile, port)) throw new Error(`verify: stream ${r.stream} uses a dead link out of tile ${tile} port ${port}`);
      const key = l * 32 + c;
      if (linkColour.has(key)) throw new Error(`verify: streams ${linkColour.get(key)} and ${r.stream} share colour ${c} on one link`);
      linkColour.set(key, r.stream);
    }
    // A tree: every tile is entered by at most one link of this stream, so the links cannot close a cycle.
    const entered = new Set<number>();
    for (const l of r.links) {
      const to = neighbour(Math.floor(l / 5), l % 5, view.width, view.height);
      if (entered.has(to) && r.entries.get(to)!.length === 1) throw new Error(`verify: stream ${r.stream} enters tile ${to} twice`);
      entered.add(to);
    }
  }
}

/**
 * verifyRoutes on links alone (route.ts LinkRows; `chosen[i]` 1 where stream i took its `alternatives` route):
 * every link alive, no two streams on one link with one colour, and each route a tree — a multicast enters no tile
 * twice, an in-tree (several sources) leaves no tile twice, so neither can close a cycle.
 */
export function verifyLinks(streams: StreamDecl[], tileOf: Int32Array, routes: LinkRows, alternatives: LinkRows | null, chosen: Uint8Array | null, colourOf: Int32Array, view: MeshView): void {
  const n = view.width * view.height;
  // Only the routes' links are read, and the tiles at either end of them (a neighbour is at most a row away).
  const [k0, k1] = extent(routes.links, alternatives?.links);
  const onLink = zeroedU32(ON_LINK, n * 5, k0, k1);
  const seen = zeroedU32(SEEN, n, Math.max(0, Math.floor(k0 / 5) - view.width), Math.min(n, Math.ceil(k1 / 5) + view.width));
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i];
    const r = chosen?.[i] ? alternatives! : routes;
    const bit = 1 << colourOf[i];
    let multicast = true;
    for (const t of s.src) if (tileOf[t] !== tileOf[s.src[0]]) multicast = false;
    for (let k = r.start[i]; k < r.start[i + 1]; k++) {
      const l = r.links[k];
      const tile = Math.floor(l / 5);
      const port = l % 5;
      if (!view.faultFree && !view.linkAlive(tile, port)) throw new Error(`verify: stream ${i} uses a dead link out of tile ${tile} port ${port}`);
      if (onLink[l] & bit) throw new Error(`verify: stream ${i} shares colour ${colourOf[i]} with another on a link out of tile ${tile} port ${port}`);
      onLink[l] |= bit;
      const t = multicast ? neighbour(tile, port, view.width, view.height) : tile;
      if (t < 0) throw new Error(`verify: stream ${i} leaves the mesh out of tile ${tile} port ${port}`);
      if (seen[t] === i + 1) throw new Error(`verify: stream ${i} ${multicast ? 'enters' : 'leaves'} tile ${t} twice`);
      seen[t] = i + 1;
    }
  }
}
