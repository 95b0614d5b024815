// BOOKSIM=/path/to/booksim npm run bench:booksim: wafer's NoC (fabric/mesh/noc.ts) and BookSim2 on the same uniform
// traffic — a 16×16 mesh, XY routing, 2 VCs of 8 flits, packets of 1 and 4 flits, offered loads from near zero to
// past saturation — writing bench/results/booksim.md. The BookSim configuration is bench/booksim/mesh.cfg (what it
// matches of wafer's router and what it cannot); this script overrides only k, packet_size, injection_rate and
// sim_type on BookSim's command line. wafer runs with a 3-cycle hop, the latency of BookSim's fastest router, so both
// pay the same per hop; each simulator's latency at 5% of the bound is its zero-load figure, and the comparison is of
// the queueing delay above it, and of the accepted rate. BookSim is never part of wafer: without BOOKSIM this says so
// and writes nothing.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { getFabricPreset, parseFabricSpec } from '../../fabric/spec/index.js';
import { runNoc } from '../../fabric/mesh/noc.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { writeFileAtomic } from '../../src/io/atomicWrite.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONFIG = join(HERE, 'mesh.cfg');
const OUT = join(HERE, '../results/booksim.md');
const K = 16;
const BOUND = 4 / K;
/** Offered loads as fractions of the uniform bound 4/k; the first is each simulator's zero-load reference. */
const FRACTIONS = [0.05, 0.25, 0.5, 0.75];
/** The saturation case: offered at twice the bound, only the accepted rate is compared. */
const SATURATED = 2;
const PACKETS = [1, 4];
/** BookSim's input-queued router with no routing stage: one cycle each of VC and switch allocation, one of link. */
const HOP_CYCLES = 3;

interface Point {
  accepted: number;
  latency: number;
  hops: number;
  wallSeconds: number;
  /** Router-cycles simulated (k² × cycles), where the simulator reports its cycles. */
  routerCycles: number | null;
  unstable: boolean;
}

function booksimPath(): string | null {
  const bin = process.env.BOOKSIM;
  if (!bin) return null;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    process.stderr.write(`error: BOOKSIM=${bin} is not an executable file (BOOKSIM): give the path of a built BookSim2 binary (src/booksim)\n`);
    process.exit(2);
  }
  return bin;
}

/** A number after `label` in BookSim's overall statistics, or NaN. */
function field(text: string, label: string): number {
  const i = text.indexOf(label);
  if (i < 0) return NaN;
  return Number.parseFloat(text.slice(i + label.length).replace(/^[\s=]+/, ''));
}

function runBooksim(bin: string, P: number, rate: number, mode: 'latency' | 'throughput'): Point {
  const args = [CONFIG, `k=${K}`, `packet_size=${P}`, `injection_rate=${rate}`, `sim_type=${mode}`];
  const t0 = performance.now();
  // BookSim's exit status does not say whether it ran (a finished simulation exits non-zero): its output does.
  const run = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000 });
  if (run.error) throw run.error;
  const out = run.stdout;
  if (!out.includes('Time taken is') && !out.includes('Simulation unstable')) throw new Error(`BookSim did not finish (${[bin, ...args].join(' ')}): ${run.stderr.trim().split('\n').pop() ?? ''}`);
  const wallSeconds = (performance.now() - t0) / 1000;
  const overall = out.slice(Math.max(0, out.indexOf('====== Overall Traffic Statistics ======')));
  const unstable = out.includes('Simulation unstable') || !out.includes('====== Overall Traffic Statistics ======');
  const cycles = field(out, 'Time taken is');
  return {
    accepted: field(overall, 'Accepted flit rate average'),
    latency: field(overall, 'Packet latency average'),
    hops: field(overall, 'Hops average'),
    wallSeconds,
    routerCycles: Number.isFinite(cycles) ? cycles * K * K : null,
    unstable,
  };
}

function runWafer(spec: FabricSpec, P: number, rate: number, saturated: boolean): Point {
  const t0 = performance.now();
  const r = runNoc({
    spec,
    width: K,
    height: K,
    pattern: 'uniform',
    rate,
    packetWavelets: P,
    vcs: 2,
    cycles: 10_000,
    warmupCycles: 10_000,
    // Past saturation only the accepted rate is compared: stop at the window. Below it, drain every packet.
    drainCycles: saturated ? 0 : 1_000_000,
    settle: { periodCycles: 500, tolerance: 0.05 },
    seed: 1,
  });
  return { accepted: r.acceptedRate, latency: r.meanLatencyCycles, hops: r.meanHops, wallSeconds: (performance.now() - t0) / 1000, routerCycles: r.routerCycles, unstable: r.latencyIsLowerBound };
}

interface Row {
  P: number;
  fraction: number;
  rate: number;
  wafer: Point;
  booksim: Point;
}

function measure(bin: string, spec: FabricSpec): Row[] {
  const rows: Row[] = [];
  for (const P of PACKETS) {
    for (const fraction of [...FRACTIONS, SATURATED]) {
      const rate = fraction * BOUND;
      const saturated = fraction === SATURATED;
      const booksim = runBooksim(bin, P, rate, saturated ? 'throughput' : 'latency');
      const wafer = runWafer(spec, P, rate, saturated);
      process.stderr.write(`P ${P}, ${fraction}× 4/k: wafer ${wafer.accepted.toFixed(4)} / ${wafer.latency.toFixed(1)}, BookSim ${booksim.accepted.toFixed(4)} / ${booksim.latency.toFixed(1)}\n`);
      rows.push({ P, fraction, rate, wafer, booksim });
    }
  }
  return rows;
}

const f = (v: number, d: number): string => (Number.isFinite(v) ? v.toFixed(d) : '–');

function table(rows: Row[]): string[] {
  const lines = [
    '| packet | offered (× 4/k) | accepted wafer | accepted BookSim | latency wafer | latency BookSim | queueing wafer | queueing BookSim | queueing difference |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const P of PACKETS) {
    const mine = rows.filter((r) => r.P === P);
    const zero = mine[0];
    for (const r of mine) {
      const saturated = r.fraction === SATURATED;
      const qw = r.wafer.latency - zero.wafer.latency;
      const qb = r.booksim.latency - zero.booksim.latency;
      const lat = (p: Point) => (saturated ? '(saturated)' : `${f(p.latency, 1)}${p.unstable ? ' (unstable)' : ''}`);
      lines.push(`| ${P} | ${f(r.rate, 4)} (${r.fraction}) | ${f(r.wafer.accepted, 4)} | ${f(r.booksim.accepted, 4)} | ${lat(r.wafer)} | ${lat(r.booksim)} | ${saturated ? '' : f(qw, 2)} | ${saturated ? '' : f(qb, 2)} | ${saturated ? '' : f(qw - qb, 2)} |`);
    }
  }
  return lines;
}

function speed(rows: Row[]): string[] {
  const sum = (pick: (r: Row) => Point) => {
    const pts = rows.map(pick).filter((p) => p.routerCycles !== null);
    const cycles = pts.reduce((a, p) => a + p.routerCycles!, 0);
    const secs = pts.reduce((a, p) => a + p.wallSeconds, 0);
    return { cycles, secs };
  };
  const w = sum((r) => r.wafer);
  const b = sum((r) => r.booksim);
  return [
    `Speed over all runs above (start-up included): wafer ${(w.cycles / w.secs / 1e6).toFixed(2)}M router-cycles/s (${w.secs.toFixed(1)} s), BookSim ${(b.cycles / b.secs / 1e6).toFixed(2)}M (${b.secs.toFixed(1)} s).`,
  ];
}

function report(rows: Row[], bin: string, spec: FabricSpec, load: [number, number]): string {
  const zero1 = rows.find((r) => r.P === 1)!;
  return [
    '# wafer NoC against BookSim2',
    '',
    `Generated by \`BOOKSIM=<path> npm run bench:booksim\` (bench/booksim/run.ts, configuration bench/booksim/mesh.cfg; BookSim binary \`${bin.split('/').pop()}\`). Host load (1-minute average) ${load[0].toFixed(1)} before, ${load[1].toFixed(1)} after.`,
    '',
    `Uniform traffic on a ${K}×${K} mesh, XY routing, 2 VCs of ${spec.queueDepthWavelets} flits, Bernoulli injection; wafer with a ${spec.hopLatencyCycles}-cycle hop and a ${spec.rampLatencyCycles}-cycle ramp, BookSim's input-queued router with one cycle each of VC and switch allocation. Offered and accepted rates in flits (wavelets) per node per cycle; the bound 4/k = ${BOUND}. Latency in cycles from a packet's creation to its tail's arrival (source queueing included), queueing = latency − the same simulator's latency at 0.05 × 4/k (zero load: wafer ${f(zero1.wafer.latency, 1)}, BookSim ${f(zero1.booksim.latency, 1)} cycles at 1 flit). wafer warms up until two 500-cycle periods accept the same rate (within 5%) and drains every packet; BookSim runs its own warm-up and convergence (latency mode). At ${SATURATED} × 4/k both saturate: only the accepted rate (the saturation throughput) is compared, BookSim in throughput mode.`,
    '',
    ...table(rows),
    '',
    ...speed(rows),
    '',
  ].join('\n');
}

const bin = booksimPath();
if (bin === null) {
  process.stdout.write('BOOKSIM is not set: give the path of a built BookSim2 binary, e.g. BOOKSIM=/tmp/booksim/src/booksim npm run bench:booksim. Nothing run, nothing written.\n');
  process.exit(0);
}
const spec = parseFabricSpec({ ...getFabricPreset('mini-16'), hopLatencyCycles: HOP_CYCLES }, 'bench/booksim/run.ts');
const before = loadavg()[0];
const rows = measure(bin, spec);
const text = report(rows, bin, spec, [before, loadavg()[0]]);
writeFileAtomic(OUT, text);
process.stdout.write(text);
process.stderr.write(`wrote ${OUT}\n`);
