// Where a projected token goes: per preset, the decode token's critical path by cause (cycles per layer, the
// embedding and LM head spread over the layers) and each layer kind's hub-to-hub cycles, at batch 1 on a fabric.
//   npx tsx scripts/layer-path.ts [--fabric wse3] [--spread F] [model ...]
import { getPreset } from '../compiler/model/presets.js';
import { projectWafer } from '../compiler/project/index.js';
import { PATH_CAUSES } from '../compiler/wafer/estimate.js';
import { getFabricPreset } from '../fabric/spec/index.js';

const args = process.argv.slice(2);
const fi = args.indexOf('--fabric');
const fabric = fi >= 0 ? args.splice(fi, 2)[1] : 'wse3';
const si = args.indexOf('--spread');
const spread = si >= 0 ? Number(args.splice(si, 2)[1]) : undefined;
const models = args.length > 0 ? args : ['llama-3.1-8b', 'llama-3.1-70b', 'qwen3-235b-a22b', 'gpt-oss-120b'];
const spec = getFabricPreset(fabric);
for (const m of models) {
  const cfg = getPreset(m);
  const t0 = performance.now();
  const r = projectWafer(cfg, spec, { batch: 1, promptLength: 1024, context: 4096, spread });
  const perLayer = (s: number) => (s * r.clockHz) / cfg.numLayers;
  const split = PATH_CAUSES.map((c) => `${c} ${perLayer(r.breakdownDetail[c]).toFixed(0)}`).join(', ');
  process.stdout.write(`${m} ${fabric}: ${r.decodeTokensPerSecond.toFixed(1)} tok/s, ${r.wafers} wafer(s), ${r.tilesUsedPerWafer} tiles, ttft ${r.timeToFirstTokenSeconds.toFixed(3)} s (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  for (const s of r.stages) process.stdout.write(`  ${s.kind}: ${s.layers} layers, ${s.cycles} cycles/layer, ${s.tilesPerLayer} tiles/layer, kv ${s.kvPositionsPerTile}/tile\n`);
  process.stdout.write(`  head: ${r.head.embeddingCycles} + ${r.head.lmHeadCycles} cycles; per layer: ${split}\n`);
}
