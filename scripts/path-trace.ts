// The critical path of one projected layer, task by task and stream by stream: where a layer's cycles go, at the
// projection's packed budget (or a smaller one with --budget), batch 1, decode at the last of `context` positions.
//   npx tsx scripts/path-trace.ts [--fabric wse3] [--budget BYTES] [--top N] [--fan N] [--pieces N] [--balanced] [--alpha A] [--narrow [--gather-only]] [model]
// --balanced: q/k/v, O and dense MLP blocks at their balanced shares of the budget (compiler/wafer/balance.ts), or
// --alpha of the way there (what the projection chose: its `stageBudgets`); --narrow: gather trees and grouped MLP
// inputs (the projection's narrowStreams 'gather-trees+grouped-inputs'), with --gather-only the gather trees alone
// ('gather-trees'). An MoE layer lowers the experts the projection's estimate routes to, the others reserved.
import { getPreset } from '../compiler/model/presets.js';
import { projectionGraph } from '../compiler/project/graph.js';
import { lowerStage, type StageRequest } from '../compiler/project/stage.js';
import { tileBudgetBytes } from '../compiler/wafer/partition.js';
import { placeTiles } from '../compiler/wafer/place.js';
import { meshView, routeLinks } from '../compiler/wafer/route.js';
import { estimateStep } from '../compiler/wafer/estimate.js';
import { getFabricPreset } from '../fabric/spec/index.js';
import { balancedFractions } from '../compiler/wafer/balance.js';
import { NARROW_GATHER_FAN, spreadExperts } from '../compiler/project/project.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const spec = getFabricPreset(flag('--fabric') ?? 'wse3');
const budget = flag('--budget');
const top = Number(flag('--top') ?? 40);
const context = Number(flag('--context') ?? 4096);
const pieces = Number(flag('--pieces') ?? 1);
/** Whether a flag without a value is given (taken out of the arguments). */
const has = (name: string): boolean => args.includes(name) && args.splice(args.indexOf(name), 1).length > 0;
const alpha = flag('--alpha');
const balanced = has('--balanced') || alpha !== undefined;
const narrow = has('--narrow');
const gatherOnly = has('--gather-only');
const fan = Number(flag('--fan') ?? 128);
const model = args[0] ?? 'llama-3.1-8b';
const cfg = getPreset(model);
const { graph } = projectionGraph(cfg);
const n = spec.widthTiles * spec.heightTiles;
const chosen = new Set(cfg.moe ? spreadExperts(cfg.moe.topK, cfg.moe.numExperts) : []);
const req: StageRequest = {
  graph,
  layers: [graph.layers[0]],
  mesh: { spec, faults: null, linkExtraLatencyCycles: null, usable: () => true, usableTiles: n },
  dtype: 'bf16',
  budgetBytes: budget ? Number(budget) : tileBudgetBytes(spec),
  stageBudgets: balanced ? balancedFractions(graph, spec, 'bf16', Number(alpha ?? 1)) : undefined,
  maxFan: fan,
  maxSeq: context,
  projection: { kvDtype: 'bf16', kvCombinePieces: pieces, lowerExpert: (_l, e) => chosen.has(e) },
  expertChoice: cfg.moe ? spreadExperts : undefined,
  narrow: narrow ? { gatherFan: NARROW_GATHER_FAN, regionInputs: gatherOnly ? Infinity : spec.colours } : undefined,
  batch: 1,
};
const stage = lowerStage(req);
const tiles = stage.lowered.plan.tiles;
const placement = placeTiles(tiles, spec.widthTiles, spec.heightTiles, () => true, { fabric: spec.name, dead: 0 }, { scanOffset: 0 });
// The projection's routes (compiler/project/stage.ts routeStage), with their links for the estimate's link sharing,
// each stream taking whichever of its row-first and column-first routes frees it first (before any colouring).
const view = meshView(spec.widthTiles, spec.heightTiles, null);
const links = routeLinks(stage.lowered.plan.streams, placement.tileOf, view, { dimensionOrdered: true, hops: true });
const alternativeLinks = routeLinks(stage.lowered.plan.streams, placement.tileOf, view, { dimensionOrdered: true, columnFirst: true });
const routes = links.hops!;
const from = tiles.find((t) => t.tag.unit === 'attn-hub' && t.tag.index[0] === 0)!;
const outs = tiles.filter((t) => t.tag.unit === 'stage-out');
const pos = Math.max(0, Math.min(stage.kvPositionsPerTile || context, context) - 1);
const probe = estimateStep(spec, stage.lowered, placement, routes, { position: pos, links, alternativeLinks, probeTiles: [from.id, ...outs.map((t) => t.id)] });
const last = outs.map((t) => ({ t, a: probe.firstArrival!.get(t.id)! })).reduce((x, y) => (y.a.cycles > x.a.cycles ? y : x));
const est = estimateStep(spec, stage.lowered, placement, routes, { position: pos, links, alternativeLinks, probeTiles: [from.id, last.t.id], pathTrace: { to: last.t.id } });
const start = est.firstArrival!.get(from.id)!.cycles;
process.stdout.write(`${model} ${spec.name}: ${stage.tiles} tiles/layer, layer ${last.a.cycles - start} cycles (hub input at ${start}), kv ${stage.kvPositionsPerTile}/tile\n`);
for (const s of est.pathTrace!) if (s.cycles > 0) process.stdout.write(`  ${String(s.cycles).padStart(6)}  ${s.kind === 'stream' ? '~>' : '  '} ${s.label}  (${s.role})\n`);
const byLabel = new Map<string, number>();
for (const s of est.pathTrace!) {
  const key = `${s.kind} ${s.label.replace(/\d+/g, '#')}`;
  byLabel.set(key, (byLabel.get(key) ?? 0) + s.cycles);
}
process.stdout.write('by kind:\n');
for (const [k, v] of [...byLabel].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${String(v).padStart(6)}  ${k}\n`);
