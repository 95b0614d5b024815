import { study, meshMap, runHere } from '../lab/compute.js';
import { DEFAULT_STATE } from '../lab/state.js';
const t = (label: string, f: () => unknown) => { const t0 = performance.now(); const r = f(); console.log(label, (performance.now() - t0).toFixed(0), 'ms'); return r; };
for (const [model, wafer] of [['gpt2-small-dense', 'mini-256'], ['gpt2-small-dense', 'mini-128'], ['llama-3.1-8b', 'mini-256'], ['toy-moe', 'mini-64']]) {
  const s = { ...DEFAULT_STATE, model, wafer };
  const r = t(`study ${model} ${wafer}`, () => study(s, null, false)) as ReturnType<typeof study>;
  console.log(r.compare.rows.map((x) => [x.fabric, x.decodeTokensPerSecond, x.note]));
}
t('sweep gpt2/mini-256', () => study({ ...DEFAULT_STATE }, null, true));
t('map', () => meshMap({ ...DEFAULT_STATE }, null));
t('map moe 64', () => meshMap({ ...DEFAULT_STATE, runModel: 'toy-moe', mesh: 'mini-64' }, null));
const t0 = performance.now();
const r = await runHere({ ...DEFAULT_STATE }, null, () => {}, null);
console.log('run', (performance.now() - t0).toFixed(0), r.run.tokens, r.run.stepCycles);
