// `wafer compile`: a model onto a fabric (with faults), writing the program artifact and printing the report.
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText } from '../io/output.js';
import { prepareCompile, type CompileCliOptions, type CompileJob } from '../wafer/compileJob.js';
import { action } from './action.js';
import { addFaultOptions } from './faultOptions.js';

interface Options extends CompileCliOptions {
  out?: string;
  force?: boolean;
}

export function addCompileOptions(cmd: Command): Command {
  cmd
    .requiredOption('--model <dir|preset>', 'model directory (config.json + model.safetensors) or preset (toy-dense, toy-moe, llama-3.1-8b, …)')
    .requiredOption('--fabric <name|file>', 'fabric preset (mini-64, wse3, …) or spec JSON file');
  return addFaultOptions(cmd)
    .option('--dtype <dtype>', 'weight dtype on the wafer: f32 | bf16 | int8 (default: the weights file\'s; bf16 for config-only presets)')
    .option('--max-seq <N>', 'longest context the KV caches hold', '64')
    .option('--spread <F>', 'spread the model over this fraction of usable tiles (smaller blocks, more parallelism); 0 packs', '0')
    .option('--hub-slices <auto|N>', 'tiles each half-layer\'s hub (residual, norm) is split over; auto: one per q/k/v block column', 'auto')
    .option('--context <N>', 'context length at which to estimate cycles per token (default: 16, at most --max-seq)')
    .option('--weights-seed <S>', 'seed of synthetic weights for a preset', '0');
}

export function compileSummary(job: CompileJob) {
  const r = job.result.report;
  const clockHz = job.spec.clockHz;
  const cycles = job.estimate.cyclesPerToken;
  return {
    ...r,
    expectedCyclesPerToken: cycles,
    expectedTokensPerSecond: clockHz / cycles,
    estimateContext: job.estimate.context,
    clockHz,
    faultCost: job.baseline
      ? {
          faultFreeCyclesPerToken: job.estimate.baselineCyclesPerToken,
          extraCyclesPerToken: cycles - job.estimate.baselineCyclesPerToken!,
          extraLinkHops: r.routes.totalLinkHops - job.baseline.report.routes.totalLinkHops,
          longestRouteHopsFaultFree: job.baseline.report.routes.longestHops,
        }
      : null,
  };
}

export function formatCompileSummary(s: ReturnType<typeof compileSummary>, verbose: boolean): string {
  const pct = (f: number) => `${(100 * f).toFixed(1)}%`;
  const lines = [
    `compiled ${s.model} (${s.dtype}) onto ${s.fabric} ${s.mesh.width}×${s.mesh.height}${s.deadTiles ? `, ${s.deadTiles} defective tiles, repair ${s.repair}` : ''}`,
    `  tiles used        ${s.tilesUsed} of ${s.tilesAvailable} available (+${s.relayTiles} routers forwarding only)`,
    `  SRAM fill         mean ${pct(s.sram.meanFill)}, max ${pct(s.sram.maxFill)} (${(s.sram.weightBytes / 1e6).toFixed(2)} MB weights, ${(s.sram.kvCacheBytes / 1e6).toFixed(2)} MB KV cache for ${s.maxSeq} positions)`,
    `  colours           at most ${s.colours.maxPerTile} per tile, ${s.colours.distinct} distinct; a tile receives on at most ${s.colours.receivePerTile}${s.colours.receiveQueues !== null && s.colours.receivePerTile > s.colours.receiveQueues ? ` (more than the ${s.colours.receiveQueues} input queues of a ${s.fabric} tile: not held to, docs/colours.md)` : ''}`,
    `  routes            ${s.routes.streams} streams, longest ${s.routes.longestHops} hops, mean ${s.routes.meanHops.toFixed(1)}, ${s.routes.totalLinkHops} link-hops`,
    `  expected          ${Math.round(s.expectedCyclesPerToken)} cycles per decode token at context ${s.estimateContext} = ${s.expectedTokensPerSecond.toFixed(0)} tokens/s at ${(s.clockHz / 1e6).toFixed(0)} MHz (schedule estimate, streams sharing a link take turns)`,
  ];
  if (s.faultCost) {
    lines.push(
      `  faults cost       ${s.faultCost.extraCyclesPerToken >= 0 ? '+' : ''}${Math.round(s.faultCost.extraCyclesPerToken)} cycles per token vs fault-free (${Math.round(s.faultCost.faultFreeCyclesPerToken!)}), ${s.faultCost.extraLinkHops >= 0 ? '+' : ''}${s.faultCost.extraLinkHops} link-hops, longest route ${s.routes.longestHops} vs ${s.faultCost.longestRouteHopsFaultFree}`,
    );
  }
  if (s.remap) lines.push(`  remap             ${s.remap.hiddenDefects} defects hidden, ${s.remap.skippedRows} rows bypassed, ${s.remap.linksWithBypass} links pay a bypass (max +${s.remap.maxExtraLatencyCycles} cycles)`);
  lines.push('  where each layer sits (tiles, bounding box x0,y0–x1,y1):');
  const groups = verbose ? s.groups : s.groups.filter((g) => !/expert[1-9]/.test(g.group));
  for (const g of groups) lines.push(`    ${g.group.padEnd(16)} ${String(g.tiles).padStart(5)} tiles  (${g.x0},${g.y0})–(${g.x1},${g.y1})`);
  if (groups.length < s.groups.length) lines.push(`    … ${s.groups.length - groups.length} more expert groups (--verbose lists all)`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = addCompileOptions(new Command('compile').description('compile a model onto a wafer fabric (around its faults) into a per-tile program'))
    .option('--out <file>', 'write the program JSON here')
    .option('--force', 'overwrite --out if it exists', false)
    .addHelpText('after', '\nExamples:\n  npx wafer compile --model toy-moe --fabric mini-64 --fault-density 0.03 --seed 5 --out prog.json\n  npx wafer compile --model llama-3.1-8b --fabric wse3 --dtype bf16 --json');
  action<Options>(cmd, (opts, g) => {
    if (opts.out && existsSync(opts.out) && !opts.force) throw new InputError(`file exists: ${opts.out}`, '--out', 'pass --force to overwrite it, or choose another path');
    const job = prepareCompile(opts, false, false);
    if (opts.out) writeFileAtomic(opts.out, JSON.stringify(job.result.program) + '\n', { force: opts.force === true, option: '--out' });
    const summary = compileSummary(job);
    if (g.json) printJson(summary);
    else printText(formatCompileSummary(summary, g.verbose) + (opts.out ? `\n  program written to ${opts.out}` : ''));
  });
  program.addCommand(cmd);
}
