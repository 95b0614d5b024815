// A snapshot of the projection of every real-size preset (wse2 and wse3 at the fabrics bench's settings, MoE models
// also with mxfp4 experts), for checking that a refactor leaves every projected figure as it was:
//   npx tsx scripts/projection-snapshot.ts before.json        (on the old tree)
//   npx tsx scripts/projection-snapshot.ts after.json         (on the new tree)
//   npx tsx scripts/projection-snapshot.ts --compare before.json after.json
// The whole report is kept (tokens/s, time to first token, breakdowns, tiles), host wall-clock times dropped.
import { readFileSync, writeFileSync } from 'node:fs';
import { getPreset, listPresets } from '../compiler/model/presets.js';
import { projectWafer, type ProjectOptions } from '../compiler/project/index.js';
import { getFabricPreset } from '../fabric/spec/index.js';

const SETTINGS: ProjectOptions = { batch: 1, promptLength: 1024, context: 4096 };

function snapshot(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keep = (r: unknown) => JSON.parse(JSON.stringify(r, (k, v: unknown) => (/wall/i.test(k) ? undefined : v))) as unknown;
  const run = (key: string, f: () => unknown) => {
    try {
      out[key] = keep(f());
    } catch (e) {
      out[key] = { error: (e as Error).message };
    }
    process.stderr.write(`${key}\n`);
  };
  for (const p of listPresets().filter((x) => !x.runnable)) {
    const cfg = getPreset(p.name);
    for (const fabric of ['wse2', 'wse3']) run(`${p.name}|${fabric}|bf16`, () => projectWafer(cfg, getFabricPreset(fabric), { ...SETTINGS, dtype: 'bf16' }));
    if (cfg.moe) run(`${p.name}|wse3|mxfp4`, () => projectWafer(cfg, getFabricPreset('wse3'), { ...SETTINGS, dtype: 'mxfp4' }));
  }
  return out;
}

function compare(a: Record<string, unknown>, b: Record<string, unknown>): number {
  let differ = 0;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue;
    differ++;
    process.stdout.write(`differs: ${key}\n`);
  }
  process.stdout.write(`${Object.keys(a).length} projections, ${differ} differ\n`);
  return differ;
}

const args = process.argv.slice(2);
if (args[0] === '--compare' && args.length === 3) {
  const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  process.exitCode = compare(read(args[1]), read(args[2])) === 0 ? 0 : 1;
} else if (args.length === 1) writeFileSync(args[0], JSON.stringify(snapshot(), null, 1) + '\n');
else {
  process.stderr.write('usage: npx tsx scripts/projection-snapshot.ts OUT.json | --compare BEFORE.json AFTER.json\n');
  process.exitCode = 2;
}
