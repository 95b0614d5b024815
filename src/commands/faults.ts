// `wafer faults`: generate (seeded) or load a fault map for a fabric, and report what it leaves: dead tiles, cores
// and links, whether the live mesh is connected, the largest fault-free rectangle, and the remap repair outcome.
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import {
  FaultMap,
  REPAIR_POLICIES,
  assertFaultMapSize,
  generateFaults,
  largestFaultFreeRectangle,
  meshComponents,
  remapRepair,
  type RepairPolicy,
} from '../../fabric/faults/index.js';
import { assertParentFolder, assertWritable, readUserJson, writeFileAtomic } from '../io/atomicWrite.js';
import { loadFabric } from '../io/fabric.js';
import { printJson, printText } from '../io/output.js';
import { parseNumberOption, parsePositiveNumberOption, parseSeedOption } from '../io/parse.js';
import { action } from './action.js';

interface FaultsOptions {
  fabric: string;
  density?: string;
  clustered?: string;
  seed?: string;
  map?: string;
  repair: string;
  out?: string;
  force?: boolean;
}

export { loadFabric };

export interface FaultsReport {
  fabric: string;
  repair: RepairPolicy;
  /** The grid the fault map covers: the logical mesh for route-around, the physical grid with spares for remap. */
  grid: { width: number; height: number };
  source: { kind: 'generated'; model: 'uniform' | 'clustered'; density: number; clusterAlpha: number | null; seed: number } | { kind: 'file'; path: string };
  tiles: number;
  usableTiles: number;
  deadTiles: [number, number][];
  deadCores: [number, number][];
  deadLinks: [number, number, 'E' | 'S'][];
  connected: boolean;
  components: number;
  cutOffTiles: [number, number][];
  largestFaultFreeRectangle: { x: number; y: number; width: number; height: number; tiles: number };
  remap:
    | null
    | { ok: true; logicalWidth: number; logicalHeight: number; hiddenDefects: number; skippedRows: number[]; maxSpareColumnsUsed: number; linksWithBypass: number; maxExtraLatencyCycles: number }
    | { ok: false; error: string };
}

export function faultsReport(spec: FabricSpec, faults: FaultMap, repair: RepairPolicy, source: FaultsReport['source']): FaultsReport {
  const json = faults.toJson();
  const comp = meshComponents(faults);
  let remap: FaultsReport['remap'] = null;
  if (repair === 'remap') {
    try {
      const r = remapRepair(faults, spec);
      remap = {
        ok: true,
        logicalWidth: r.logicalWidth,
        logicalHeight: r.logicalHeight,
        hiddenDefects: r.hiddenDefects,
        skippedRows: r.skippedRows,
        maxSpareColumnsUsed: r.maxSpareColumnsUsed,
        linksWithBypass: r.linksWithBypass,
        maxExtraLatencyCycles: r.maxExtraLatencyCycles,
      };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      remap = { ok: false, error: e.message };
    }
  }
  const xy = (i: number): [number, number] => [i % faults.width, Math.floor(i / faults.width)];
  return {
    fabric: spec.name,
    repair,
    grid: { width: faults.width, height: faults.height },
    source,
    tiles: faults.tiles,
    usableTiles: faults.counts().usableTiles,
    deadTiles: json.deadTiles,
    deadCores: json.deadCores,
    deadLinks: json.deadLinks,
    connected: comp.cutOff.length === 0,
    components: comp.count,
    cutOffTiles: comp.cutOff.map(xy),
    largestFaultFreeRectangle: largestFaultFreeRectangle(faults),
    remap,
  };
}

function list(items: (readonly (number | string)[])[], verbose: boolean): string {
  const shown = verbose ? items : items.slice(0, 24);
  const text = shown.map((t) => (t.length === 3 ? `(${t[0]},${t[1]})${t[2]}` : `(${t[0]},${t[1]})`)).join(' ');
  return items.length > shown.length ? `${text} … (${items.length - shown.length} more; --verbose or --json lists all)` : text;
}

export function formatFaultsReport(r: FaultsReport, verbose: boolean): string {
  const src =
    r.source.kind === 'file'
      ? `from ${r.source.path}`
      : `${r.source.model} density ${r.source.density}${r.source.clusterAlpha !== null ? `, alpha ${r.source.clusterAlpha}` : ''}, seed ${r.source.seed}`;
  const lines = [`faults on ${r.fabric}, ${r.grid.width}x${r.grid.height} ${r.repair === 'remap' ? 'physical grid (with spares)' : 'mesh'}, ${src}`];
  lines.push(`  dead tiles  ${r.deadTiles.length}${r.deadTiles.length ? ': ' + list(r.deadTiles, verbose) : ''}`);
  lines.push(`  dead cores  ${r.deadCores.length}${r.deadCores.length ? ': ' + list(r.deadCores, verbose) : ''}  (router still forwards)`);
  lines.push(`  dead links  ${r.deadLinks.length}${r.deadLinks.length ? ': ' + list(r.deadLinks, verbose) : ''}`);
  lines.push(`  usable tiles ${r.usableTiles} of ${r.tiles}`);
  lines.push(
    r.connected
      ? `  live mesh: connected (${r.components} component${r.components === 1 ? '' : 's'} of live routers)`
      : `  live mesh: NOT connected, ${r.components} components; cut off: ${list(r.cutOffTiles, verbose)}`,
  );
  const rect = r.largestFaultFreeRectangle;
  lines.push(`  largest fault-free rectangle: ${rect.width}x${rect.height} at (${rect.x},${rect.y}) = ${rect.tiles} tiles`);
  if (r.remap) {
    lines.push(
      r.remap.ok
        ? `  remap: repaired to a perfect ${r.remap.logicalWidth}x${r.remap.logicalHeight}; ${r.remap.hiddenDefects} defects hidden by row shifts ` +
            `(at most ${r.remap.maxSpareColumnsUsed} spare columns in a row), ${r.remap.skippedRows.length} rows bypassed, ` +
            `${r.remap.linksWithBypass} links pay a bypass (max +${r.remap.maxExtraLatencyCycles} cycles)`
        : `  remap: FAILED — ${r.remap.error}`,
    );
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = new Command('faults')
    .description('generate or load a fault map for a fabric; report dead tiles/cores/links, connectivity, the largest fault-free rectangle and the repair')
    .requiredOption('--fabric <name|file>', 'fabric preset (wse2, wse3, mini-64, …) or spec JSON file')
    .option('--density <D>', 'defects per tile, in [0, 1] (generates a seeded map)')
    .option('--clustered <alpha>', 'clustered defects, negative-binomial (Stapper) with clustering parameter alpha > 0')
    .option('--seed <S>', 'seed of the fault stream', '0')
    .option('--map <file>', 'read a fault map JSON instead of generating one')
    .option('--repair <policy>', `repair policy: ${REPAIR_POLICIES.join(' | ')}`, 'route-around')
    .option('--out <file>', 'write the fault map JSON')
    .option('--force', 'overwrite --out if it exists', false)
    .addHelpText('after', '\nExamples:\n  npx wafer faults --fabric mini-64 --density 0.03 --seed 1\n  npx wafer faults --fabric mini-256 --density 0.02 --clustered 0.5 --seed 7 --repair remap --json');
  action<FaultsOptions>(cmd, (opts, g) => {
    if (!(REPAIR_POLICIES as readonly string[]).includes(opts.repair)) {
      throw new InputError(`unknown repair policy "${opts.repair}"`, '--repair', `use one of ${REPAIR_POLICIES.join(', ')}`);
    }
    const repair = opts.repair as RepairPolicy;
    if ((opts.density === undefined) === (opts.map === undefined)) {
      throw new InputError(opts.map ? 'both --density and --map given' : 'no fault source given', 'faults', 'give either --density D (with --seed) or --map FILE');
    }
    if (opts.clustered !== undefined && opts.map !== undefined) throw new InputError('--clustered applies to generated maps only', '--clustered', 'drop it, or use --density instead of --map');
    if (opts.out) {
      assertWritable(opts.out, opts.force);
      assertParentFolder(opts.out);
    }
    const spec = loadFabric(opts.fabric);
    const width = spec.widthTiles + (repair === 'remap' ? spec.spareColumns : 0);
    const height = spec.heightTiles + (repair === 'remap' ? spec.spareRows : 0);
    let faults: FaultMap;
    let source: FaultsReport['source'];
    if (opts.map !== undefined) {
      faults = FaultMap.fromJson(readUserJson(opts.map, '--map'), opts.map);
      assertFaultMapSize(faults, width, height, `--map ${opts.map}`, repair === 'remap' ? `${spec.name}'s physical grid (with spares, for --repair remap)` : `${spec.name}'s mesh`);
      source = { kind: 'file', path: opts.map };
    } else {
      const density = parseNumberOption(opts.density!, '--density', 0, 1);
      const clusterAlpha = opts.clustered === undefined ? undefined : parsePositiveNumberOption(opts.clustered, '--clustered', 1e6);
      const seed = parseSeedOption(opts.seed ?? '0');
      faults = generateFaults({ width, height, density, seed, clusterAlpha });
      source = { kind: 'generated', model: clusterAlpha === undefined ? 'uniform' : 'clustered', density, clusterAlpha: clusterAlpha ?? null, seed };
    }
    const report = faultsReport(spec, faults, repair, source);
    if (opts.out) writeFileAtomic(opts.out, JSON.stringify(faults.toJson()) + '\n', { force: opts.force === true, option: '--out' });
    if (g.json) printJson(report);
    else printText(formatFaultsReport(report, g.verbose) + (opts.out ? `\n  fault map written to ${opts.out}` : ''));
  });
  program.addCommand(cmd);
}
