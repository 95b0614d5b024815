// `wafer demo`: the whole story in under a minute, on built-in defaults. A toy MoE model is written to disk and
// read back, a seeded 1% fault map is injected into a small wafer, the model is compiled around the faults and run
// cycle by cycle (tokens checked against the reference), the same model runs on the H100 emulator, and one
// real-size model is projected onto a full WSE-3 and onto H100s — then a side-by-side table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { getPreset, findPreset } from '../../compiler/model/presets.js';
import { loadModelDir } from '../../compiler/model/load.js';
import { castWeights, weightsToSafetensors } from '../../compiler/model/weights.js';
import { syntheticWeights } from '../../compiler/model/synthetic.js';
import { estimateGpu } from '../../compiler/gpu/estimate.js';
import { runOnGpu } from '../../compiler/gpu/run.js';
import { getGpuPreset } from '../../fabric/gpu/spec.js';
import { printJson, printText, type GlobalOptions } from '../io/output.js';
import { runInWorker } from '../wafer/runInWorker.js';
import { action } from './action.js';

export const DEMO = Object.freeze({
  model: 'toy-moe',
  fabric: 'mini-64',
  faultDensity: '0.01',
  faultSeed: '1',
  dtype: 'bf16',
  spread: '0.6',
  prompt: [1, 2, 3],
  tokens: 8,
  gpu: 'h100',
  realModel: 'llama-3.1-70b',
  realGpus: 8,
});

function say(g: GlobalOptions, text: string): void {
  if (!g.json && !g.quiet) process.stderr.write(`${text}\n`);
}

export async function runDemo(g: GlobalOptions) {
  const t0 = performance.now();
  // 1. The toy MoE model, written in Hugging Face format and read back like any user's checkpoint.
  const dir = mkdtempSync(join(tmpdir(), 'wafer-demo-'));
  try {
    const cfg = getPreset(DEMO.model);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(findPreset(DEMO.model)!.hfConfig, null, 2));
    writeFileSync(join(dir, 'model.safetensors'), weightsToSafetensors(syntheticWeights(cfg, 0)));
    say(g, `1/4 wrote ${DEMO.model} (Hugging Face config.json + model.safetensors) and read it back`);

    // 2–3. Compile around a seeded 1% fault map and run on the mesh, checked against the reference.
    say(g, `2/4 compiling onto ${DEMO.fabric} with ${Number(DEMO.faultDensity) * 100}% defective tiles and running ${DEMO.tokens} tokens cycle by cycle…`);
    const wafer = await runInWorker({
      options: { model: dir, fabric: DEMO.fabric, faultDensity: DEMO.faultDensity, seed: DEMO.faultSeed, dtype: DEMO.dtype, spread: DEMO.spread, maxSeq: '16' },
      prompt: DEMO.prompt,
      tokens: DEMO.tokens,
      workers: 0,
      baseline: true,
    });

    // 3. The same model on the H100 emulator: timing from the kernel list, tokens from executing it.
    say(g, `3/4 the same model on the ${DEMO.gpu} emulator…`);
    const gpuSpec = getGpuPreset(DEMO.gpu);
    const weights = castWeights(loadModelDir(dir), DEMO.dtype as 'bf16');
    const gpuTokens = runOnGpu(weights, gpuSpec, DEMO.prompt, DEMO.tokens, { gpus: 1 }).tokens;
    const gpu = estimateGpu(cfg, gpuSpec, { promptLength: DEMO.prompt.length, contextLength: DEMO.prompt.length + DEMO.tokens });

    // 4. A real-size model: projected onto H100s (the wafer side joins when the projection lands).
    say(g, `4/4 projecting ${DEMO.realModel}…`);
    const real = getPreset(DEMO.realModel);
    const realGpu = estimateGpu(real, gpuSpec, { gpus: DEMO.realGpus, promptLength: 512, contextLength: 512 });
    return {
      seconds: (performance.now() - t0) / 1000,
      toy: {
        model: DEMO.model,
        wafer: {
          fabric: wafer.fabric,
          tilesUsed: wafer.tilesUsed,
          deadTiles: wafer.deadTiles,
          tokens: wafer.tokens,
          matchesReference: wafer.matchesReference,
          decodeCyclesPerToken: wafer.decodeCyclesPerToken,
          tokensPerSecond: wafer.tokensPerSecond,
          faultCost: wafer.faultCost,
        },
        gpu: { gpu: DEMO.gpu, tokens: gpuTokens, sameTokens: gpuTokens.join() === wafer.tokens.join(), tokensPerSecond: gpu.decodeTokensPerSecond, boundBy: gpu.boundBy },
      },
      real: { model: DEMO.realModel, gpu: { gpus: DEMO.realGpus, gpu: DEMO.gpu, tokensPerSecond: realGpu.decodeTokensPerSecond, boundBy: realGpu.boundBy } },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type DemoResult = Awaited<ReturnType<typeof runDemo>>;

export function formatDemo(r: DemoResult): string {
  const w = r.toy.wafer;
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const share = (b: object) => (Object.entries(b) as [string, number][]).filter(([, v]) => v >= 0.05).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', ');
  const rows: [string, string, string][] = [
    ['', `wafer (${w.fabric})`, `GPU (${r.toy.gpu.gpu} emulator)`],
    [`${r.toy.model} tokens`, w.tokens.join(','), r.toy.gpu.tokens.join(',')],
    [`${r.toy.model} tokens/s`, `${f(w.tokensPerSecond)} (${f(w.decodeCyclesPerToken)} cycles)`, `${f(r.toy.gpu.tokensPerSecond)} (${share(r.toy.gpu.boundBy)})`],
    [`${r.real.model} tokens/s`, '(projection pending)', `${f(r.real.gpu.tokensPerSecond)} on ${r.real.gpu.gpus} GPUs (${share(r.real.gpu.boundBy)})`],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  '));
  lines.splice(1, 0, widths.map((n) => '-'.repeat(n)).join('  '));
  lines.push('');
  lines.push(`${w.tilesUsed} tiles used on ${w.fabric}, ${w.deadTiles} defective; every token matched the reference forward pass${r.toy.gpu.sameTokens ? ', and the GPU emulator produced the same tokens' : ''}.`);
  if (w.faultCost) lines.push(`The faults cost ${w.faultCost.extraCyclesPerToken >= 0 ? '+' : ''}${f(w.faultCost.extraCyclesPerToken)} cycles per token against the fault-free wafer (${f(w.faultCost.faultFreeDecodeCyclesPerToken)}).`);
  lines.push(`done in ${r.seconds.toFixed(1)} s`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = new Command('demo')
    .description('the whole story in a minute: a toy MoE on a small faulty wafer, run cycle by cycle, against an H100 and at real size')
    .addHelpText('after', '\nExample:\n  npx wafer demo\n  npx wafer demo --json');
  action(cmd, async (_opts, g) => {
    const r = await runDemo(g);
    if (g.json) printJson(r);
    else printText(formatDemo(r));
  });
  program.addCommand(cmd);
}
