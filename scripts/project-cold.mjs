// node scripts/project-cold.mjs [model] [fabric]: one cold projection — `projectWafer` timed in this fresh process
// after its imports (the built JavaScript: `npm run build:node` first) — printed as wall and CPU milliseconds. What
// `wafer project` pays beyond start-up; docs/scale.md compares it across changes, alternating processes.
import { projectWafer } from '../dist/node/compiler/project/project.js';
import { getPreset } from '../dist/node/compiler/model/presets.js';
import { getFabricPreset } from '../dist/node/fabric/spec/index.js';
import { InputError } from '../dist/node/fabric/errors.js';

const [model = 'llama-3.1-8b', fabric = 'wse3'] = process.argv.slice(2);
let cfg;
let spec;
try {
  cfg = getPreset(model);
  spec = getFabricPreset(fabric);
} catch (e) {
  if (!(e instanceof InputError)) throw e;
  console.error(`error: ${e.message}`);
  process.exit(2);
}
const t0 = performance.now();
const c0 = process.cpuUsage();
const r = projectWafer(cfg, spec, {});
const cpu = process.cpuUsage(c0);
console.log(`${model} on ${fabric}: ${(performance.now() - t0).toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU (all threads), ${r.decodeTokensPerSecond.toFixed(1)} tokens/s`);
