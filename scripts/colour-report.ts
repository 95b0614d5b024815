// Which streams need the colours: per stage of a preset's projection (one layer per kind, the embedding, the LM head),
// the colours the compiler's colouring gives it (up to 32), and the streams that needed a colour beyond the fabric's
// budget, grouped by what they are (their label with the numbers taken out: a diagnostic for people), with the tiles
// that receive or send the most streams (the colours a tile needs at least, whatever the routes).
//   npx tsx scripts/colour-report.ts [--fabric wse3] [--dtype bf16] [--stage layer|embedding|lm_head] model ...
import { getPreset } from '../compiler/model/presets.js';
import { projectionGraph } from '../compiler/project/graph.js';
import { spreadExperts } from '../compiler/project/project.js';
import { colourStage, lowerStage, ColourError, type StageRequest, type WaferMesh } from '../compiler/project/stage.js';
import { placeTiles } from '../compiler/wafer/place.js';
import { tileBudgetBytes } from '../compiler/wafer/partition.js';
import { meshView, routeStreams, type StreamRoute } from '../compiler/wafer/route.js';
import type { StreamDecl } from '../compiler/wafer/plan.js';
import { getFabricPreset } from '../fabric/spec/index.js';
import { InputError } from '../fabric/errors.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : dflt;
};
const fabric = opt('--fabric', 'wse3');
const dtype = opt('--dtype', 'bf16');
const only = opt('--stage', '');
const pieces = Number(opt('--pieces', '1'));
const models = args.length > 0 ? args : ['llama-3.1-70b'];
const spec = getFabricPreset(fabric);
const W = spec.widthTiles;
const H = spec.heightTiles;
const mesh: WaferMesh = { spec, faults: null, linkExtraLatencyCycles: null, usable: () => true, usableTiles: W * H };
const kind = (label: string) => label.replace(/\d+/g, '#');

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

/** assignColours' greedy, going on past a stream with no free colour; why each failed: a full router, or links/ends. */
function greedyFailures(streams: StreamDecl[], routes: StreamRoute[], alts: StreamRoute[], tileOf: Int32Array, tiles: number, max: number): { id: number; why: string; on?: Map<string, number> }[] {
  const linkMask = new Uint32Array(tiles * 5);
  const srcMask = new Uint32Array(tiles);
  const dstMask = new Uint32Array(tiles);
  const allMask = new Uint32Array(tiles);
  const failed: { id: number; why: string; on?: Map<string, number> }[] = [];
  const onLink = new Map<number, number[]>();
  const order = routes.map((r) => r.stream).sort((a, b) => routes[b].entries.size - routes[a].entries.size || a - b);
  const pick = (id: number, r: StreamRoute): { c: number; why: string } => {
    const s = streams[id];
    let links = 0;
    let ends = 0;
    for (const l of r.links) links |= linkMask[l];
    for (const t of s.src) ends |= srcMask[tileOf[t]];
    for (const t of s.dst) ends |= dstMask[tileOf[t]];
    let full = false;
    for (let c = 0; c < max; c++) {
      const bit = 1 << c;
      if ((links | ends) & bit) continue;
      let fits = true;
      for (const t of r.entries.keys()) if (!(allMask[t] & bit) && popcount(allMask[t]) >= max) fits = false;
      if (fits) return { c, why: '' };
      full = true;
    }
    return { c: -1, why: full ? 'router full' : popcount(ends) >= max ? 'ends' : popcount(links) >= max ? 'links' : 'links+ends' };
  };
  for (const id of order) {
    let r = routes[id];
    let got = pick(id, r);
    const again = pick(id, alts[id]);
    const alt = alts[id];
    if (again.c >= 0 && (got.c < 0 || alt.links.length < r.links.length || (alt.links.length === r.links.length && again.c < got.c))) {
      got = again;
      r = alts[id];
    }
    if (got.c < 0) {
      // What holds the colours on the busiest link of its first route.
      let worst: number[] = [];
      for (const l of r.links) if ((onLink.get(l)?.length ?? 0) > worst.length) worst = onLink.get(l)!;
      const on = new Map<string, number>();
      for (const o of worst) on.set(kind(streams[o].label), (on.get(kind(streams[o].label)) ?? 0) + 1);
      failed.push({ id, why: got.why, on });
      continue;
    }
    for (const l of r.links) (onLink.get(l) ?? onLink.set(l, []).get(l)!).push(id);
    const bit = 1 << got.c;
    for (const l of r.links) linkMask[l] |= bit;
    for (const t of streams[id].src) srcMask[tileOf[t]] |= bit;
    for (const t of streams[id].dst) dstMask[tileOf[t]] |= bit;
    for (const t of r.entries.keys()) allMask[t] |= bit;
  }
  return failed;
}

for (const m of models) {
  const cfg = getPreset(m);
  const { graph } = projectionGraph(cfg);
  const chosen = cfg.moe ? new Set(spreadExperts(cfg.moe.topK, cfg.moe.numExperts)) : new Set<number>();
  const req = (part: 'layer' | 'embedding' | 'lm_head', maxFan: number): StageRequest => ({
    graph,
    part,
    layers: part === 'layer' ? [graph.layers[0]] : [],
    mesh,
    dtype: 'bf16',
    budgetBytes: tileBudgetBytes(spec),
    maxFan,
    maxSeq: 4096,
    projection: { lowerExpert: (_l, e) => chosen.has(e), expertWeightBits: dtype === 'mxfp4' ? spec.costs.mxfp4BitsPerWeight : undefined, kvDtype: 'bf16', kvCombinePieces: pieces },
    batch: 1,
    expertChoice: cfg.moe ? spreadExperts : undefined,
  });
  let maxFan = 8;
  for (const f of [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]) {
    try {
      lowerStage(req('layer', f));
      maxFan = f;
      break;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
  }
  for (const part of ['layer', 'embedding', 'lm_head'] as const) {
    if (only && only !== part) continue;
    const t0 = performance.now();
    const stage = lowerStage(req(part, maxFan));
    const { plan } = stage.lowered;
    const placement = placeTiles(plan.tiles, W, H, mesh.usable, { fabric: fabric, dead: 0 }, { scanOffset: 0 });
    let coloured = 'fits';
    try {
      const c = colourStage(stage, placement);
      coloured = `${c.colours} colours, ${c.alternativeRoutes} column-first`;
    } catch (e) {
      if (!(e instanceof ColourError)) throw e;
      coloured = `beyond ${spec.colours}: ${e.message}`;
    }
    process.stdout.write(`${m} ${fabric} ${part} (fan ${maxFan}, ${stage.tiles} tiles, ${plan.streams.length} streams, slices ${stage.hubSlices}): ${coloured}\n`);
    process.stdout.write(`  regions: ${stage.lowered.regions.filter((r, i, all) => all.findIndex((x) => kind(x.name) === kind(r.name)) === i).map((r) => `${r.name} ${r.grid.gr}x${r.grid.gc} (${r.grid.br}x${r.grid.bc}, ${r.reduce})`).join('; ')}\n`);
    const view = meshView(W, H, null);
    const rf = routeStreams(plan.streams, placement.tileOf, view, { dimensionOrdered: true });
    const cf = routeStreams(plan.streams, placement.tileOf, view, { dimensionOrdered: true, columnFirst: true });
    // The colouring at the budget, going on past the streams it finds no colour for: which kinds those are, and why.
    const failed = greedyFailures(plan.streams, rf, cf, placement.tileOf, W * H, spec.colours);
    const by = new Map<string, number>();
    for (const f of failed) {
      const key = `${kind(plan.streams[f.id].label)} (${f.why})`;
      by.set(key, (by.get(key) ?? 0) + 1);
    }
    const seen = new Set<string>();
    for (const f of failed) {
      const k = kind(plan.streams[f.id].label);
      if (seen.has(k)) continue;
      seen.add(k);
      process.stdout.write(`  e.g. ${plan.streams[f.id].label}: its busiest link holds ${[...f.on!].map(([x, n]) => `${x} ×${n}`).join(', ')}\n`);
    }
    process.stdout.write(`  uncoloured at ${spec.colours}: ${failed.length}: ${[...by].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ×${n}`).join(', ')}\n`);
    // Tiles receiving or sending the most streams.
    const ins = new Map<number, Set<number>>();
    const outs = new Map<number, Set<number>>();
    for (const s of plan.streams) {
      for (const t of s.dst) (ins.get(t) ?? ins.set(t, new Set()).get(t)!).add(s.id);
      for (const t of s.src) (outs.get(t) ?? outs.set(t, new Set()).get(t)!).add(s.id);
    }
    const top = (mp: Map<number, Set<number>>) =>
      [...mp]
        .sort((a, b) => b[1].size - a[1].size)
        .slice(0, 3)
        .map(([t, ss]) => `${plan.tiles[t].role} ${ss.size} (${[...new Set([...ss].map((i) => kind(plan.streams[i].label)))].slice(0, 4).join(' ')})`)
        .join('; ');
    process.stdout.write(`  most in: ${top(ins)}\n  most out: ${top(outs)}\n  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
}
