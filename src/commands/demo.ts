// `wafer demo`: the whole story in under a minute, on built-in defaults. A toy MoE model is written to disk and
// read back, a seeded 1% fault map is injected into a small wafer, the model is compiled around the faults and run
// cycle by cycle (tokens checked against the reference), the same model runs on the H100 emulator, and one
// real-size model is projected onto a full WSE-3 and onto H100s — then a side-by-side table.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { getPreset, findPreset } from '../../compiler/model/presets.js';
import { loadModelDir } from '../io/loadModel.js';
import { castWeights, weightsToSafetensors } from '../../compiler/model/weights.js';
import { syntheticWeights } from '../../compiler/model/synthetic.js';
import { estimateGpu } from '../../compiler/gpu/estimate.js';
import { runOnGpu } from '../../compiler/gpu/run.js';
import { getGpuPreset } from '../../fabric/gpu/spec.js';
import { getFabricPreset } from '../../fabric/spec/index.js';
import { projectWafer } from '../../compiler/project/index.js';
import { InputError } from '../../fabric/errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText, type GlobalOptions } from '../io/output.js';
import { prepareCompile } from '../wafer/compileJob.js';
import { runOnMesh } from '../wafer/runJob.js';
import { compareFabrics, resolveFabricArg } from '../study/compare.js';
import { buildReportData } from '../study/reportData.js';
import { reportHtml } from '../report/html.js';
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
  realModel: 'llama-3.1-8b',
  realFabric: 'wse3',
  realGpus: 1,
  realPrompt: 512,
  realContext: 1024,
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
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...findPreset(DEMO.model)!.hfConfig, _name_or_path: DEMO.model }, null, 2));
    writeFileSync(join(dir, 'model.safetensors'), weightsToSafetensors(syntheticWeights(cfg, 0)));
    say(g, `1/4 wrote ${DEMO.model} (Hugging Face config.json + model.safetensors) and read it back`);

    // 2. Compile around a seeded 1% fault map and run on the mesh, every step checked against the reference.
    say(g, `2/4 compiling onto ${DEMO.fabric} with ${Number(DEMO.faultDensity) * 100}% defective tiles and running ${DEMO.tokens} tokens cycle by cycle…`);
    const job = prepareCompile({ model: dir, fabric: DEMO.fabric, faultDensity: DEMO.faultDensity, seed: DEMO.faultSeed, dtype: DEMO.dtype, spread: DEMO.spread, maxSeq: '16' }, true);
    const { tileStats, ...wafer } = await runOnMesh(job, DEMO.prompt, DEMO.tokens, { workers: 0, baseline: true, tileStats: true });

    // 3. The same model on the H100 emulator: timing from the kernel list, tokens from executing it.
    say(g, `3/4 the same model on the ${DEMO.gpu} emulator…`);
    const gpuSpec = getGpuPreset(DEMO.gpu);
    const weights = castWeights(loadModelDir(dir), DEMO.dtype as 'bf16');
    const gpuTokens = runOnGpu(weights, gpuSpec, DEMO.prompt, DEMO.tokens, { gpus: 1 }).tokens;
    const gpu = estimateGpu(cfg, gpuSpec, { promptLength: DEMO.prompt.length, contextLength: DEMO.prompt.length + DEMO.tokens });

    // 4. A real-size model: projected onto a full wafer (the same compiler and cost functions, one layer per kind)
    // and onto the GPU.
    say(g, `4/4 projecting ${DEMO.realModel} onto ${DEMO.realFabric} and ${DEMO.realGpus} × ${DEMO.gpu}…`);
    const real = getPreset(DEMO.realModel);
    const realWafer = projectWafer(real, getFabricPreset(DEMO.realFabric), { promptLength: DEMO.realPrompt, context: DEMO.realContext });
    const realGpu = estimateGpu(real, gpuSpec, { gpus: DEMO.realGpus, promptLength: DEMO.realPrompt, contextLength: DEMO.realContext });
    // The report: the wafer map of this run, its busy heatmap, SRAM fill, and the memory wall for this model.
    const compare = compareFabrics({ model: cfg, fabrics: [resolveFabricArg(DEMO.fabric), resolveFabricArg(DEMO.gpu)], batches: [1], dtype: 'bf16', promptLength: 512, contextLength: 512 });
    const html = reportHtml(buildReportData({ job, run: { result: wafer, stats: tileStats!, prompt: DEMO.prompt }, compare, noc: null }));
    return {
      seconds: (performance.now() - t0) / 1000,
      html,
      toy: {
        model: DEMO.model,
        wafer: {
          fabric: job.spec.name,
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
      real: {
        model: DEMO.realModel,
        context: DEMO.realContext,
        wafer: { fabric: DEMO.realFabric, wafers: realWafer.wafers, tokensPerSecond: realWafer.decodeTokensPerSecond, boundBy: realWafer.boundBy, timeToFirstTokenSeconds: realWafer.timeToFirstTokenSeconds },
        gpu: { gpus: DEMO.realGpus, gpu: DEMO.gpu, tokensPerSecond: realGpu.decodeTokensPerSecond, boundBy: realGpu.boundBy, timeToFirstTokenSeconds: realGpu.timeToFirstTokenSeconds },
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type DemoResult = Omit<Awaited<ReturnType<typeof runDemo>>, 'html'> & { report: string };

/** A report this command may replace: absent, written by `wafer report`/`wafer demo` before (its title says so), or --force. */
function assertReportWritable(path: string, force: boolean): void {
  if (force || !existsSync(path)) return;
  const head = readFileSync(path).subarray(0, 1024).toString('utf8');
  if (!head.includes('<title>wafer report:')) throw new InputError(`file exists and was not written by wafer: ${path}`, '--out', 'pass --force to overwrite it, or choose another path with --out');
}

export function formatDemo(r: DemoResult): string {
  const w = r.toy.wafer;
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const share = (b: object) => (Object.entries(b) as [string, number][]).filter(([, v]) => v >= 0.05).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', ');
  const rows: [string, string, string][] = [
    ['', `wafer (${w.fabric})`, `GPU (${r.toy.gpu.gpu} emulator)`],
    [`${r.toy.model} tokens`, w.tokens.join(','), r.toy.gpu.tokens.join(',')],
    [`${r.toy.model} tokens/s`, `${f(w.tokensPerSecond)} (${f(w.decodeCyclesPerToken)} cycles)`, `${f(r.toy.gpu.tokensPerSecond)} (${share(r.toy.gpu.boundBy)})`],
    [`${r.real.model} tokens/s`, `${f(r.real.wafer.tokensPerSecond)} on ${r.real.wafer.wafers} ${r.real.wafer.fabric} (bound by ${r.real.wafer.boundBy})`, `${f(r.real.gpu.tokensPerSecond)} on ${r.real.gpu.gpus} ${r.real.gpu.gpu} (${share(r.real.gpu.boundBy)})`],
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c].length)));
  const lines = rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  '));
  lines.splice(1, 0, widths.map((n) => '-'.repeat(n)).join('  '));
  lines.push('');
  lines.push(`${w.tilesUsed} tiles used on ${w.fabric}, ${w.deadTiles} defective; every token matched the reference forward pass${r.toy.gpu.sameTokens ? ', and the GPU emulator produced the same tokens' : ''}.`);
  if (w.faultCost) lines.push(`The faults cost ${w.faultCost.extraCyclesPerToken >= 0 ? '+' : ''}${f(w.faultCost.extraCyclesPerToken)} cycles per token against the fault-free wafer (${f(w.faultCost.faultFreeDecodeCyclesPerToken)}).`);
  lines.push(`${r.real.model} at context ${r.real.context}: projected with the same compiler and cost functions (one layer per kind compiled at tile granularity).`);
  lines.push(`done in ${r.seconds.toFixed(1)} s; report written to ${r.report}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = new Command('demo')
    .description('the whole story in a minute: a toy MoE on a small faulty wafer, run cycle by cycle, against an H100 and at real size')
    .option('--out <file>', 'where to write the HTML report', 'wafer-report.html')
    .option('--force', 'overwrite --out even if wafer did not write it', false)
    .addHelpText('after', '\nExample:\n  npx wafer demo\n  npx wafer demo --json --out /tmp/report.html');
  action<{ out: string; force: boolean }>(cmd, async (opts, g) => {
    assertReportWritable(opts.out, opts.force);
    const { html, ...r } = await runDemo(g);
    writeFileAtomic(opts.out, html, { option: '--out' });
    const result: DemoResult = { ...r, report: opts.out };
    if (g.json) printJson(result);
    else printText(formatDemo(result));
  });
  program.addCommand(cmd);
}
