// `wafer noc`: synthetic traffic on the mesh engine's routers and links — latency and throughput against theory.
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { FaultMap } from '../../fabric/faults/index.js';
import { parseMeshSize } from '../../fabric/geometry.js';
import { ROUTING_ALGORITHMS, type RoutingAlgorithm } from '../../fabric/routing/table.js';
import { runNoc, uniformMeanHops, TRAFFIC_PATTERNS, type NocResult, type TrafficPattern } from '../../fabric/mesh/noc.js';
import { readUserJson } from '../io/atomicWrite.js';
import { printJson, printText } from '../io/output.js';
import { parseIntOption, parseNumberOption } from '../io/parse.js';
import { action } from './action.js';
import { loadFabric } from '../wafer/setup.js';

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
  return [f(r.offeredRate, 4).padStart(8), f(r.acceptedRate, 4).padStart(9), f(r.meanLatencyCycles, 1).padStart(10), f(r.p99LatencyCycles, 0).padStart(7), f(r.meanHops, 2).padStart(6), (r.saturated ? 'saturated' : '').padStart(10)].join(' ');
}

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
    const { width, height } = parseMeshSize(o.mesh, '--mesh');
    const spec = loadFabric(o.fabric);
    if (!TRAFFIC_PATTERNS.includes(o.pattern as TrafficPattern)) throw new InputError(`unknown traffic pattern "${o.pattern}"`, '--pattern', `use one of ${TRAFFIC_PATTERNS.join(', ')}`);
    if (o.routing !== undefined && !ROUTING_ALGORITHMS.includes(o.routing as RoutingAlgorithm)) throw new InputError(`unknown routing "${o.routing}"`, '--routing', `use one of ${ROUTING_ALGORITHMS.join(', ')}`);
    const faults = o.faults ? FaultMap.fromJson(readUserJson(o.faults, '--faults'), o.faults) : null;
    const common = {
      spec,
      width,
      height,
      pattern: o.pattern as TrafficPattern,
      packetWavelets: parseIntOption(o.packetWavelets, '--packet-wavelets', 1),
      cycles: parseIntOption(o.cycles, '--cycles', 1),
      warmupCycles: parseIntOption(o.warmup, '--warmup', 0),
      drainCycles: o.drain === undefined ? undefined : parseIntOption(o.drain, '--drain', 0),
      vcs: parseIntOption(o.vcs, '--vcs', 1),
      seed: parseIntOption(o.seed, '--seed', 0),
      faults,
      routing: o.routing as RoutingAlgorithm | undefined,
    };
    const bound = 4 / Math.max(width, height);
    if (!o.sweep) {
      if (o.rate === undefined) throw new InputError('no --rate given', '--rate', 'give the offered load in wavelets per tile per cycle, e.g. --rate 0.1 (or use --sweep)');
      const r = runNoc({ ...common, rate: parseNumberOption(o.rate, '--rate', 0, 1) });
      if (g.json) return printJson(r);
      const lines = [
        `noc ${width}x${height} ${r.pattern}, ${r.routing} routing, packets of ${r.packetWavelets}, ${r.vcs} VCs (${spec.name}: hop ${spec.hopLatencyCycles}, ramp ${spec.rampLatencyCycles}, queues ${spec.queueDepthWavelets})`,
        `  offered  ${r.offeredRate.toFixed(4)} wavelets/tile/cycle`,
        `  accepted ${r.acceptedRate.toFixed(4)}${r.bisectionBoundRate !== null ? ` (bisection bound 4/k = ${r.bisectionBoundRate.toFixed(4)})` : ''}`,
        `  latency  mean ${r.meanLatencyCycles.toFixed(2)} cycles, p99 ${r.p99LatencyCycles} (zero-load theory ${r.zeroLoadLatencyCycles.toFixed(2)} = 2·${spec.rampLatencyCycles} + ${r.meanHops.toFixed(3)} hops·${spec.hopLatencyCycles} + ${r.packetWavelets - 1})`,
        `  hops     mean ${r.meanHops.toFixed(3)}${r.pattern === 'uniform' && width === height ? ` (2(k²−1)/(3k) = ${uniformMeanHops(width).toFixed(3)})` : ''}`,
        `  wavelets ${r.injectedWavelets} injected, ${r.deliveredWavelets} delivered${r.sourceQueuedWavelets > 0 ? `, ${r.sourceQueuedWavelets} never left their source queue` : ''}`,
        r.saturated ? `  saturated: ${r.unfinishedPackets} of ${r.measuredPackets} measured packets undelivered after the drain limit (latency is a lower bound)` : `  ${r.measuredPackets} packets measured, all delivered`,
      ];
      return printText(lines.join('\n'));
    }
    const top = o.rate === undefined ? Math.min(1, 1.6 * bound) : parseNumberOption(o.rate, '--rate', 0, 1);
    const steps = 12;
    const rates = Array.from({ length: steps }, (_, i) => Number(((top * (i + 1)) / steps).toPrecision(3)));
    const results: NocResult[] = [];
    if (!g.json) printText(`noc ${width}x${height} ${o.pattern} sweep (${spec.name}); bound 4/k = ${bound.toFixed(4)}\n${HEADER}`);
    for (const rate of rates) {
      const r = runNoc({ ...common, rate });
      results.push(r);
      if (!g.json) printText(row(r));
    }
    if (g.json) printJson({ pattern: o.pattern, width, height, bisectionBoundRate: bound, sweep: results });
  });
  program.addCommand(cmd);
}
