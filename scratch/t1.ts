import { compareFabrics, resolveFabricArg } from '../src/report/compareData.js';
import { getPreset } from '../compiler/model/presets.js';
for (const [model, fabs, sweep] of [['llama-3.1-8b', 'wse3,h100', false], ['llama-3.1-8b', 'mini-256,h100', false], ['toy-moe', 'mini-64,h100', true], ['llama-3.1-8b', 'wse3,h100', true]] as const) {
  const t0 = performance.now();
  const c = compareFabrics({ model: getPreset(model), fabrics: fabs.split(',').map((f) => resolveFabricArg(f)), batches: [1], dtype: 'bf16', promptLength: 512, contextLength: 512, sweepModels: sweep, onProgress: (d, t) => { if (d % 5 === 0) console.log(d, t, (performance.now() - t0).toFixed(0)); } });
  console.log(model, fabs, sweep, (performance.now() - t0).toFixed(0), 'ms', c.rows.map((r) => r.decodeTokensPerSecond));
}
