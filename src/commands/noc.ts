// `wafer noc`: synthetic traffic on the mesh engine's routers and links — latency and throughput against theory.
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { FaultMap } from '../../fabric/faults/index.js';
import { MAX_MESH_SIDE } from '../../fabric/spec/schema.js';
import { ROUTING_ALGORITHMS } from '../../fabric/routing/table.js';
import { estimateNoc, runNoc, uniformMeanHops, TRAFFIC_PATTERNS, type NocResult } from '../../fabric/mesh/noc.js';
import { readUserJson } from '../io/atomicWrite.js';
import { printJson, printText } from '../io/output.js';
import { deadline, guardMemory, guardWork } from '../io/limits.js';
import { parseChoiceOption, parseGridOption, parseIntOption, parsePositiveNumberOption, parseSeedOption } from '../io/parse.js';
import { action } from './action.js';
import { loadFabric } from '../io/fabric.js';

interface NocCliOptions {
  mesh: string;
  fabric: string;
  pattern: string;
  rate?: string;
  packetWavelets: string;
  cycles: string;
  warmup: string;
  drain?: string;
  vcs: string;
  seed: string;
  faults?: string;
  routing?: string;
  sweep?: boolean;
}

function row(r: NocResult): string {
  const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  // Past saturation the latencies cover only the packets delivered: lower bounds, marked ≥.
  const lb = (v: string) => (r.latencyIsLowerBound ? `≥${v}` : v);
  return [f(r.offeredRate, 4).padStart(8), f(r.acceptedRate, 4).padStart(9), lb(f(r.meanLatencyCycles, 1)).padStart(10), lb(f(r.p99LatencyCycles, 0)).padStart(7), f(r.meanHops, 2).padStart(6), (r.saturated ? `saturated, ${r.unfinishedPackets} undelivered` : '').padStart(10)].join(' ');
}

/** Cycle counts a flag may give: 10^9 (the work guard refuses far less on any mesh; this only keeps numbers exact). */
const MAX_CYCLES = 1e9;

const HEADER = `${'offered'.padStart(8)} ${'accepted'.padStart(9)} ${'mean lat'.padStart(10)} ${'p99'.padStart(7)} ${'hops'.padStart(6)}`;

export function register(program: Command): void {
  const cmd = new Command('noc')
    .description('synthetic traffic on the mesh routers: offered vs accepted rate (wavelets/tile/cycle), latency in cycles')
    .option('--mesh <WxH>', 'mesh size', '16x16')
    .option('--fabric <name|file>', 'fabric preset or spec JSON for hop/ramp latency and queue depth (its size is replaced by --mesh)', 'mini-16')
    .option('--pattern <name>', `traffic pattern: ${TRAFFIC_PATTERNS.join(' | ')}`, 'uniform')
    .option('--rate <R>', 'offered wavelets per tile per cycle (with --sweep: the highest rate; default 1.6× the uniform bound)')
    .option('--packet-wavelets <P>', 'wavelets per packet (wormhole)', '1')
    .option('--cycles <C>', 'measurement window in cycles', '10000')
    .option('--warmup <C>', 'warm-up cycles before the window', '2000')
    .option('--drain <C>', 'cycles allowed after the window to deliver the measured packets (default 4 × (warmup + cycles))')
    .option('--vcs <n>', 'virtual-channel classes per port', '2')
    .option('--seed <n>', 'random seed', '1')
    .option('--faults <file>', 'fault map JSON (routes around dead tiles and links)')
    .option('--routing <alg>', `routing: ${ROUTING_ALGORITHMS.join(' | ')} (default xy; updown with faults)`)
    .option('--sweep', 'print the latency–throughput curve from low load to the rate');
  cmd.addHelpText('after', '\nExamples:\n  npx wafer noc --mesh 16x16 --pattern uniform --rate 0.02 --json\n  npx wafer noc --mesh 8x8 --pattern transpose --sweep');
  action<NocCliOptions>(cmd, (o, g) => {
    const { width, height } = parseGridOption(o.mesh, '--mesh', MAX_MESH_SIDE);
    const spec = loadFabric(o.fabric);
    const pattern = parseChoiceOption(o.pattern, '--pattern', TRAFFIC_PATTERNS, 'traffic pattern');
    const routing = o.routing === undefined ? undefined : parseChoiceOption(o.routing, '--routing', ROUTING_ALGORITHMS, 'routing');
    const faults = o.faults ? FaultMap.fromJson(readUserJson(o.faults, '--faults'), o.faults) : null;
    const common = {
      spec,
      width,
      height,
      pattern,
      packetWavelets: parseIntOption(o.packetWavelets, '--packet-wavelets', 1, 1024),
      cycles: parseIntOption(o.cycles, '--cycles', 1, MAX_CYCLES),
      warmupCycles: parseIntOption(o.warmup, '--warmup', 0, MAX_CYCLES),
      drainCycles: o.drain === undefined ? undefined : parseIntOption(o.drain, '--drain', 0, MAX_CYCLES),
      vcs: parseIntOption(o.vcs, '--vcs', 1, spec.colours),
      seed: parseSeedOption(o.seed),
      faults,
      routing,
      checkStop: deadline(g.limits),
    };
    /**
     * Refuses the runs at `rates` before any allocates: the largest one's memory, all of them's router-cycles — and a
     * rate so low that not one packet is expected in the window (its figures would all be empty).
     */
    const guard = (rates: number[]) => {
      const expected = width * height * common.cycles * Math.min(...rates) / common.packetWavelets;
      if (expected < 1) {
        throw new InputError(`at rate ${Math.min(...rates)} fewer than one packet is expected in the ${common.cycles}-cycle window (${expected.toPrecision(2)})`, '--rate', 'raise --rate or --cycles');
      }
      const est = rates.map((rate) => estimateNoc({ ...common, rate }));
      const what = `noc ${width}x${height}${rates.length > 1 ? ` sweep of ${rates.length} rates` : ''}`;
      const shrink = 'use a smaller --mesh or fewer --cycles/--warmup/--drain';
      guardMemory(g.limits, Math.max(...est.map((e) => e.memoryBytes)), what, shrink);
      guardWork(g.limits, est.reduce((a, e) => a + e.routerCycles, 0), 'router-cycles', what, shrink);
    };
    const bound = 4 / Math.max(width, height);
    if (!o.sweep) {
      if (o.rate === undefined) throw new InputError('no --rate given', '--rate', 'give the offered load in wavelets per tile per cycle, e.g. --rate 0.1 (or use --sweep)');
      const rate = parsePositiveNumberOption(o.rate, '--rate', 1);
      guard([rate]);
      const r = runNoc({ ...common, rate });
      if (r.measuredPackets === 0) throw new InputError(`no packet was created in the ${common.cycles}-cycle window`, '--rate', 'raise --rate or --cycles');
      if (g.json) return printJson(r);
      const lines = [
        `noc ${width}x${height} ${r.pattern}, ${r.routing} routing, packets of ${r.packetWavelets}, ${r.vcs} VCs (${spec.name}: hop ${spec.hopLatencyCycles}, ramp ${spec.rampLatencyCycles}, queues ${spec.queueDepthWavelets})`,
        `  offered  ${r.offeredRate.toFixed(4)} wavelets/tile/cycle`,
        `  accepted ${r.acceptedRate.toFixed(4)}${r.bisectionBoundRate !== null ? ` (bisection bound 4/k = ${r.bisectionBoundRate.toFixed(4)})` : ''}`,
        `  latency  mean ${r.latencyIsLowerBound ? '≥ ' : ''}${r.meanLatencyCycles.toFixed(2)} cycles, p99 ${r.latencyIsLowerBound ? '≥ ' : ''}${r.p99LatencyCycles}${r.latencyIsLowerBound ? ' (lower bounds: undelivered packets left out)' : ''} (zero-load theory ${r.zeroLoadLatencyCycles.toFixed(2)} = 2·${spec.rampLatencyCycles} + ${r.meanHops.toFixed(3)} hops·${spec.hopLatencyCycles} + ${r.packetWavelets - 1})`,
        `  hops     mean ${r.meanHops.toFixed(3)}${r.pattern === 'uniform' && width === height ? ` (2(k²−1)/(3k) = ${uniformMeanHops(width).toFixed(3)})` : ''}`,
        `  wavelets ${r.injectedWavelets} injected, ${r.deliveredWavelets} delivered${r.sourceQueuedWavelets > 0 ? `, ${r.sourceQueuedWavelets} never left their source queue` : ''}`,
        r.saturated ? `  saturated: ${r.unfinishedPackets} of ${r.measuredPackets} measured packets undelivered after the drain limit (latency is a lower bound)` : `  ${r.measuredPackets} packets measured, all delivered`,
      ];
      return printText(lines.join('\n'));
    }
    const top = o.rate === undefined ? Math.min(1, 1.6 * bound) : parsePositiveNumberOption(o.rate, '--rate', 1);
    const steps = 12;
    const rates = Array.from({ length: steps }, (_, i) => Number(((top * (i + 1)) / steps).toPrecision(3)));
    guard(rates);
    const results: NocResult[] = [];
    if (!g.json) printText(`noc ${width}x${height} ${pattern} sweep (${spec.name}); bound 4/k = ${bound.toFixed(4)}\n${HEADER}`);
    for (const rate of rates) {
      const r = runNoc({ ...common, rate });
      results.push(r);
      if (!g.json) printText(row(r));
    }
    if (g.json) printJson({ pattern, width, height, bisectionBoundRate: bound, sweep: results });
  });
  program.addCommand(cmd);
}
