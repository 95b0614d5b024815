// `wafer project`: a real-size model on full wafers and multi-wafer pipelines — decode tokens/s per user and in
// aggregate, time to first token, wafers and tiles, and where a token's time goes; with --sweep-grid, tokens/s
// against the size of the (sub-)grid each wafer offers.
import type { Command } from 'commander';
import { resolveModelConfig } from '../io/loadModel.js';
import { KV_DTYPES, PROJECT_DTYPES, projectWafer, sweepGrid, sweepGrids, type GridPoint, type KvDtype, type ProjectDtype, type ProjectionReport, type ProjectOptions } from '../../compiler/project/index.js';
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import { ASSUMPTIONS, applyAssumptions, type AssumptionOverride } from '../../fabric/spec/assumptions.js';
import { printJson, printText, progress } from '../io/output.js';
import { parseDtypeOption, parseIntOption, parseNumberOption, quoteInput } from '../io/parse.js';
import { OPTION_FLAGS, parseRepair, resolveFaults, withFlags, type FaultOptions } from '../wafer/setup.js';
import { loadFabric } from '../io/fabric.js';
import { addFaultOptions } from './faultOptions.js';
import { action } from './action.js';

interface Options extends FaultOptions {
  model: string;
  fabric: string;
  wafers: string;
  grid?: string;
  sweepGrid?: boolean;
  batch: string;
  promptLen?: string;
  context?: string;
  dtype: string;
  kvDtype: string;
  spread?: string;
  balance: boolean;
  hubSlices: string;
  kvChunk: string;
  assume: string[];
}

/** At most this many --assume flags (there are far fewer assumptions; later ones of a name win). */
const MAX_ASSUME = 256;

/** `--assume NAME=VALUE` values -> overrides; the names and ranges are checked by applyAssumptions. */
export function parseAssumeOptions(values: readonly string[]): AssumptionOverride[] {
  if (values.length > MAX_ASSUME) throw new InputError(`${values.length} --assume flags`, '--assume', `give at most ${MAX_ASSUME}`);
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq < 0) throw new InputError(`not NAME=VALUE: ${quoteInput(v)}`, '--assume', `give e.g. clock-hz=850e6; names: ${ASSUMPTIONS.map((a) => a.name).join(', ')}`);
    const name = v.slice(0, eq).trim();
    try {
      return { name, value: parseNumberOption(v.slice(eq + 1), '--assume') };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw new InputError(`${e.what} for ${quoteInput(name)}`, '--assume', 'give a finite number, e.g. clock-hz=850e6 or inter-wafer-latency-seconds=5e-6');
    }
  });
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** "420x420" -> { width, height } within the fabric. */
export function parseGrid(value: string, spec: FabricSpec, option = '--grid'): { width: number; height: number } {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(value);
  if (!m) throw new InputError(`not a grid size: ${quoteInput(value)}`, option, 'give WxH in tiles, e.g. 420x420');
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 1 || height < 1) throw new InputError(`grid ${width}x${height} has no tiles`, option, 'give at least 1x1');
  if (width > spec.widthTiles || height > spec.heightTiles) throw new InputError(`grid ${width}x${height} is larger than ${spec.name}'s ${spec.widthTiles}x${spec.heightTiles}`, option, `give at most ${spec.widthTiles}x${spec.heightTiles}`);
  return { width, height };
}

export function parseProjectDtype(value: string): ProjectDtype {
  return parseDtypeOption(value, '--dtype', PROJECT_DTYPES);
}

export function parseKvDtype(value: string): KvDtype {
  return parseDtypeOption(value, '--kv-dtype', KV_DTYPES);
}

/** Users decoding at once: 2^16, far above any serving batch (the pipeline's per-user tables are sized by it). */
const MAX_BATCH = 65536;
/** Wafers in a pipeline: one per layer at most, and layers are at most 1024 (compiler/model/config.ts). */
const MAX_WAFERS = 1024;

export function parseWafers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (!/^\s*\d+\s*$/.test(value)) throw new InputError(`not a wafer count: ${quoteInput(value)}`, '--wafers', `give auto or a whole number in [1, ${MAX_WAFERS}]`);
  return parseIntOption(value, '--wafers', 1, MAX_WAFERS);
}

const pct = (part: number, whole: number): string => `${whole > 0 ? ((100 * part) / whole).toFixed(1) : '0.0'}%`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

export function fmtSeconds(s: number): string {
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  return `${(s * 1e6).toFixed(1)} µs`;
}

/** What the layout gave up to fit the colours: the KV combine's pieces, narrow hub streams, grouped LM head inputs. */
function fitNotes(r: ProjectionReport): string {
  const notes: string[] = [];
  if (r.kvCombinePieces !== null) notes.push(`KV combine in ${r.kvCombinePieces} piece${r.kvCombinePieces === 1 ? '' : 's'} per edge`);
  if (r.narrowStreams.layers !== 'none') notes.push(r.narrowStreams.layers === 'gather-trees' ? 'gather trees into the hub slices' : 'gather trees into the hub slices, MLP inputs grouped');
  if (r.narrowStreams.lmHeadInputsGrouped) notes.push('LM head inputs grouped');
  return notes.length > 0 ? ` (${notes.join('; ')})` : '';
}

export function formatProjection(r: ProjectionReport, verbose: boolean): string {
  const t = 1 / r.decodeTokensPerSecond;
  const d = r.breakdownDetail;
  const b = r.breakdown;
  const wafersLine =
    r.wafers === 1
      ? `1 (${int(r.tilesPerWafer[0])} of ${int(r.usableTilesPerWafer)} usable tiles, ${r.layersPerWafer[0]} layers)`
      : `${r.wafers} in a pipeline (tiles per wafer ${r.tilesPerWafer.map(int).join(' / ')} of ${int(r.usableTilesPerWafer)} usable; layers ${r.layersPerWafer.join('/')})`;
  const lines = [
    `${r.model} on ${r.fabric} ${r.grid.width}×${r.grid.height} (${r.dtype}, KV cache ${r.kvDtype}, batch ${r.batch}, prompt ${r.promptLength}, context ${r.context})`,
    `decode        ${r.decodeTokensPerSecond.toFixed(1)} tokens/s per user, ${r.aggregateTokensPerSecond.toFixed(1)} aggregate (a token alone: ${fmtSeconds(r.tokenLatencySeconds)})`,
    `floor         ${r.floorTokensPerSecond.toFixed(1)} tokens/s per user (${int(r.floor.cyclesPerToken)} cycles a token on ${r.floor.wafers} wafer${r.floor.wafers === 1 ? '' : 's'}: every step at its bound, docs/floor.md) · efficiency ${r.efficiency.toFixed(3)} (projected ÷ floor)`,
    `first token   ${fmtSeconds(r.timeToFirstTokenSeconds)} (the ${r.promptLength}-token prompt pipelined through the layers, one token per step)`,
    `wafers        ${wafersLine}`,
    `context       ${r.context} positions provisioned per user; the wafers hold up to ${int(r.maxContext)} (KV chunk tiles full)`,
    `a token       compute ${pct(b.compute, t)} (matvec ${pct(d.matvec, t)}, attention ${pct(d.attention, t)}, other vector ops ${pct(d.vector, t)}, task starts ${pct(d.overhead, t)})`,
    `              SRAM ${pct(b.sram, t)} · on-wafer communication ${pct(b.communication, t)} (hops ${pct(d.hops, t)}, reductions ${pct(d.reduction, t)}, broadcasts ${pct(d.broadcast, t)}, transfers ${pct(d.transfer, t)})`,
    `              inter-wafer ${pct(b.interWafer, t)} · pipeline bubbles ${pct(b.bubbles, t)} · bound by ${r.boundBy}`,
    ...r.stages.map((s) => `layer kind    ${s.kind} ×${s.layers}: ${int(s.tilesPerLayer)} tiles, ${int(s.cycles)} cycles (${fmtSeconds(s.cycles / r.clockHz)}) per layer, ${s.colours ?? '>32'} colours${s.kvPositionsPerTile ? `, ${s.kvPositionsPerTile} KV positions per attention tile` : ''}`),
    `head          embedding ${int(r.head.embeddingTiles)} tiles, ${int(r.head.embeddingCycles)} cycles to the first layer, ${r.head.embeddingColours ?? '>32'} colours · LM head ${int(r.head.lmHeadTiles)} tiles, ${int(r.head.lmHeadCycles)} cycles to the token, ${r.head.lmHeadColours ?? '>32'} colours`,
    (r.coloursWithinBudget
      ? `colours       every stage routed and coloured within the fabric's ${r.colourBudget}${fitNotes(r)}`
      : `colours       NOT within the fabric's ${r.colourBudget}: no layout the projection tries fits (see approximated)`) +
      (r.receiveQueues !== null && r.receiveStreamsPerTile > r.receiveQueues ? `; tiles receive on up to ${r.receiveStreamsPerTile}, beyond ${r.fabric}'s ${r.receiveQueues} input queues (see approximated)` : ''),
  ];
  if (r.wafers > 1) lines.push(`inter-wafer   ${r.interWafer.boundaries} boundaries × ${fmtSeconds(r.interWafer.secondsPerBoundary)} (${int(r.interWafer.bytesPerToken)} bytes of activations each) + the token id back`);
  if (r.approximations.length) lines.push(`approximated  ${r.approximations.join('; ')}`);
  const changed = r.assumptions.filter((a) => a.value !== a.default);
  lines.push(`assumptions   ${r.assumptions.length} named in docs/assumptions.md (change one with --assume NAME=VALUE)${changed.length ? `; here ${changed.map((a) => `${a.name}=${a.value}`).join(', ')}` : ''}`);
  if (verbose) {
    const l = r.floor.layers[0];
    if (l) lines.push(`floor layer   ${l.layer}: ${l.steps.map((x) => `${x.step} ${int(x.cycles)}`).join(' · ')} = ${int(l.cycles)} cycles`);
  }
  if (verbose) for (const a of r.assumptions) lines.push(`              ${a.name} = ${a.value} ${a.unit} (plausible ${a.low}–${a.high})`);
  if (verbose) {
    const share = (f: number) => `${Math.round(100 * f)}%`;
    const sb = r.stageBudgets;
    lines.push(`method        ${r.method}`, `              fan-out ${r.maxFan}, hubs split over ${r.hubSlices} tiles, ${int(r.budgetBytesPerTile)} bytes of buffers per tile (blocks of q/k/v ${share(sb.qkv)}, O ${share(sb.o)}, dense MLPs ${share(sb.mlp)} of it), clock ${(r.clockHz / 1e9).toFixed(2)} GHz`);
  }
  return lines.join('\n');
}

export function formatSweep(model: string, fabric: string, points: GridPoint[], marked: { width: number; height: number } | null): string {
  const head = ['grid', 'tiles', 'wafers', 'tiles/wafer', 'tokens/s', 'compute', 'comm', 'inter-wafer', ''];
  const body = points.map((p) => {
    const mark = marked && p.grid.width === marked.width && p.grid.height === marked.height ? '←' : '';
    const g = `${p.grid.width}x${p.grid.height}`;
    if (!p.report) return [g, int(p.tiles), '-', '-', '-', '-', '-', '-', `${mark} ${p.error ?? ''}`.trim()];
    const r = p.report;
    const t = 1 / r.decodeTokensPerSecond;
    return [g, int(p.tiles), String(r.wafers), int(r.tilesUsedPerWafer), r.decodeTokensPerSecond.toFixed(1), pct(r.breakdown.compute, t), pct(r.breakdown.communication, t), pct(r.breakdown.interWafer, t), mark];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const best = points.filter((p) => p.report).reduce<GridPoint | null>((a, p) => (!a || p.report!.decodeTokensPerSecond > a.report!.decodeTokensPerSecond ? p : a), null);
  const lines = [`${model} on ${fabric}: decode tokens/s per user against the grid each wafer offers (blocks spread to fill each wafer)`, line(head), ...body.map(line)];
  if (best) lines.push(`fastest: ${best.grid.width}x${best.grid.height} at ${best.report!.decodeTokensPerSecond.toFixed(1)} tokens/s`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = program
    .command('project')
    .description('a real-size model on full wafers (and several in a pipeline): tokens/s, time to first token, wafers, and where a token goes — the compiler and cost functions at tile granularity, one layer per kind')
    .requiredOption('--model <dir|preset>', 'model directory, config.json, or preset (llama-3.1-70b, gpt-oss-120b, …)')
    .option('--fabric <name|file>', 'fabric preset (wse2, wse3, …) or spec JSON file', 'wse3')
    .option('--wafers <auto|N>', 'wafers in the pipeline: auto packs into as few as fit; N spreads the layers over N', 'auto')
    .option('--grid <WxH>', 'restrict each wafer to this sub-grid of the fabric, in tiles')
    .option('--sweep-grid', 'project on square sub-grids from 60x60 up to the full fabric (and --grid), blocks spread to fill each wafer, KV chunks sized for speed (more wafers where they need them)')
    .option('--batch <B>', 'users decoding at once (a pipeline over the layers)', '1')
    .option('--prompt-len <L>', 'prompt tokens, for the time to first token (default 1024, below the context)')
    .option('--context <N>', 'KV positions per user, and the position decode is timed at (default 4096, within the model)')
    .option('--dtype <dtype>', `weights on the wafer: ${PROJECT_DTYPES.join(' | ')} (mxfp4: routed experts at 4.25 bits, the rest bf16)`, 'bf16')
    .option('--kv-dtype <dtype>', `KV cache: ${KV_DTYPES.join(' | ')} (f32: as the mesh engine holds it)`, 'bf16')
    .option('--spread <F>', 'shrink blocks until the fullest wafer uses this fraction of its tiles (0 packs; --sweep-grid: 1)')
    .option('--no-balance', 'every stage\'s blocks at the full tile budget (default: q/k/v, O and dense MLPs in smaller blocks where the wafers hold them and the layers are faster)')
    .option('--hub-slices <auto|N>', 'tiles each half-layer\'s hub (residual, norm) is split over; auto: one per q/k/v block column', 'auto')
    .option('--kv-chunk <auto|fill|N>', 'KV positions per chunk tile of a long cache: auto (fastest, unless it needs more wafers), fill (as many as fit), or N', 'auto')
    .option('--assume <NAME=VALUE>', 'override one cost assumption, repeatable (docs/assumptions.md lists them: clock-hz, transcendental-cycles, …)', collect, []);
  addFaultOptions(cmd, true).addHelpText(
      'after',
      '\nExamples:\n  npx wafer project --model llama-3.1-70b --fabric wse3 --json\n  npx wafer project --model gpt-oss-120b --dtype mxfp4\n  npx wafer project --model llama-3.1-8b --fabric wse2 --grid 420x420 --sweep-grid\n  npx wafer project --model qwen3-32b --batch 16 --prompt-len 2048\n  npx wafer project --model llama-3.1-8b --assume clock-hz=850e6 --assume transcendental-cycles=16',
    );
  action<Options>(cmd, (o, g) => {
    const spec = applyAssumptions(loadFabric(o.fabric), parseAssumeOptions(o.assume), '--assume');
    const cfg = resolveModelConfig(o.model, '--model');
    const grid = o.grid === undefined ? null : parseGrid(o.grid, spec);
    const repair = parseRepair(o.repair);
    const opts: ProjectOptions = {
      dtype: parseProjectDtype(o.dtype),
      kvDtype: parseKvDtype(o.kvDtype),
      wafers: parseWafers(o.wafers),
      batch: parseIntOption(o.batch, '--batch', 1, MAX_BATCH),
      // Positions are bounded by what the model attends to (its max_position_embeddings, itself at most 2^24).
      promptLength: o.promptLen === undefined ? undefined : parseIntOption(o.promptLen, '--prompt-len', 1, cfg.maxPositionEmbeddings),
      context: o.context === undefined ? undefined : parseIntOption(o.context, '--context', 1, cfg.maxPositionEmbeddings),
      spread: o.spread === undefined ? undefined : parseNumberOption(o.spread, '--spread', 0, 1),
      balance: o.balance,
      hubSlices: o.hubSlices === 'auto' ? undefined : parseIntOption(o.hubSlices, '--hub-slices', 1, cfg.hiddenSize),
      kvChunkPositions: o.kvChunk === 'auto' ? undefined : o.kvChunk === 'fill' ? 'fill' : parseIntOption(o.kvChunk, '--kv-chunk', 1, cfg.maxPositionEmbeddings),
      repair,
    };
    const gridSpec = (size: { width: number; height: number } | null): FabricSpec => (size ? { ...spec, widthTiles: size.width, heightTiles: size.height } : spec);
    if (o.sweepGrid) {
      if (o.faults !== undefined) throw new InputError('a fault map file fits one grid, and --sweep-grid visits many', '--faults', 'use --fault-density (a map is generated per grid) or drop --sweep-grid');
      const grids = sweepGrids(spec, grid);
      const bar = progress(g, 'grid sweep');
      const points = withFlags(OPTION_FLAGS, () => sweepGrid(cfg, spec, opts, grids, { faultsFor: (size) => resolveFaults(gridSpec(size), o, repair), onPoint: (done, total) => bar.update(done, total) }));
      bar.end();
      if (g.json) printJson({ model: cfg.name, fabric: spec.name, marked: grid, points });
      else printText(formatSweep(cfg.name, spec.name, points, grid));
      return;
    }
    const report = withFlags(OPTION_FLAGS, () => projectWafer(cfg, spec, { ...opts, grid, faults: resolveFaults(gridSpec(grid), o, repair) }));
    if (g.json) printJson(report);
    else printText(formatProjection(report, g.verbose));
  });
}
