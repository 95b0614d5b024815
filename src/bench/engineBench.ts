// `wafer bench engine`: how fast the mesh engine simulates.
// 1. Synthetic uniform traffic (fabric/mesh/noc.ts — the engine's router/link core) on 16×16 and 64×64 meshes in
//    steady state: offered rates at 1/4, 1/2 and 3/4 of the uniform-traffic bound 4/k of each size, a warm-up that
//    ends once two periods accept the same rate (within 5%), the window, then a full drain; beside them one case at
//    1.5× the bound, marked saturated (its accepted rate is the saturation throughput, its latency grows with the
//    window; one run, drained only for 4 warm-up-and-window lengths, its latency a lower bound). Simulated
//    router-cycles (tiles × cycles, warm-up and drain included) and wavelet-hops per host second, the faster of two
//    runs (this machine is shared: slower runs measure the neighbours), with router-cycles per CPU-second of the
//    process and the host's 1-minute load average. Target: ≥ 1M router-cycles/s at 64×64.
// 2. The speed-up from 1 to 2 worker threads on a compute-heavy ISA program (gridProgram: every tile runs a chain of
//    f32 matvecs on a broadcast vector, rows reduce westward), after checking that 0, 1 and 2 workers give identical
//    cycles and outputs. Figure: wall time per step, best of the timed steps.
// 3. The parallel mesh (MeshOptions.stripPool: routers and compute engines stepped in strips, one thread each): wall
//    time per step on 1 and 2 threads for the synthetic compute program and for a compiled model, after checking that
//    both give identical cycles and outputs, with the host's 1-minute load average before and after each run (on a
//    host with fewer free cores than threads each barrier waits on the scheduler).
import { getFabricPreset } from '../../fabric/spec/index.js';
import { runNoc } from '../../fabric/mesh/noc.js';
import { MeshEngine, type MeshStats } from '../../fabric/mesh/engine.js';
import { stripOwners } from '../../fabric/mesh/strips.js';
import { gridProgram, syntheticWeights } from '../../fabric/mesh/workloads.js';
import { piscinaJobPool } from '../workers/meshPool.js';
import { nodeStripPool } from '../workers/stripPool.js';
import { prepareCompile } from '../wafer/compileJob.js';
import { castWeights } from '../../compiler/model/weights.js';
import { weightProvider } from '../../compiler/wafer/weights.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { Program } from '../../fabric/isa/types.js';
import type { WeightProvider } from '../../fabric/mesh/engine.js';
import { loadavg } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { runModuleChild } from '../workers/modules.js';

export interface NocBenchRow {
  mesh: string;
  tiles: number;
  /** Offered rate as a fraction of the uniform bound 4/k. */
  fractionOfBound: number;
  rate: number;
  /** Offered past the bound: the network saturates, the latency is that of a growing queue. */
  saturatedCase: boolean;
  acceptedRate: number;
  meanLatencyCycles: number;
  zeroLoadLatencyCycles: number;
  warmupCyclesUsed: number;
  warmupSettled: boolean;
  windowCycles: number;
  /** Cycles after the window until the last measured packet arrived (the full drain). */
  drainCycles: number;
  /** Measured packets not delivered (0: the drain was full). */
  unfinishedPackets: number;
  cyclesSimulated: number;
  wallSeconds: number;
  routerCyclesPerSecond: number;
  waveletHopsPerSecond: number;
  /** Router-cycles per second of this process's CPU time (robust to a machine shared with other work). */
  routerCyclesPerCpuSecond: number;
  /** The host's 1-minute load average before and after the faster run. */
  loadBefore: number;
  loadAfter: number;
}

export interface WorkerBenchRow {
  workers: number;
  msPerStep: number;
  simulatedCyclesPerStep: number;
}

export interface ParallelMeshRow {
  threads: number;
  msPerStep: number;
  /** Every timed step's wall time. */
  stepMs: number[];
  simulatedCyclesPerStep: number;
  /** Barriers per step (rounds: one per window of cycles the strips run apart, docs/parallel-mesh.md#lookahead). */
  barriersPerStep: number;
  /**
   * The best step's wall time split as strip 0 saw it: working and waiting at barriers; and its critical path (per
   * round, the slowest strip's work, summed): the step on a host with a free core per thread and free barriers. On a
   * busy host all three measure the scheduler too (a thread woken from a barrier runs its short round unpreempted).
   */
  workMs: number;
  waitMs: number;
  criticalMs: number;
  /** The host's 1-minute load average just before and just after the timed steps. */
  loadBefore: number;
  loadAfter: number;
}

export interface ParallelMeshCase {
  name: string;
  tiles: number;
  rows: ParallelMeshRow[];
  speedup1to2: number;
  identical: boolean;
  /** Router work of the busier of the two strips over the mean (wavelets forwarded per strip): 1 is perfect balance. */
  hopImbalance2: number;
  /** [1 thread, 2 threads]: the best step of each fresh process (the rows are the fastest of them). */
  processMsPerStep: number[][];
}

export interface EngineBenchReport {
  noc: NocBenchRow[];
  targetRouterCyclesPerSecond: number;
  meetsTargetAt64: boolean;
  compute: {
    program: string;
    tiles: number;
    macsPerStep: number;
    rows: WorkerBenchRow[];
    speedup1to2: number;
    identicalAcrossWorkers: boolean;
  };
  /** The parallel mesh, 1 -> 2 threads (absent when skipped). */
  parallelMesh?: ParallelMeshCase[];
  hostCpus: number;
}

export interface EngineBenchOptions {
  quick?: boolean;
  onProgress?: (line: string) => void;
  hostCpus?: number;
  /** The compiled model of the parallel-mesh figure (default gpt2-small-dense on mini-128; quick: toy-dense on mini-64). */
  meshModel?: string;
  meshFabric?: string;
}

export async function runEngineBench(o: EngineBenchOptions = {}): Promise<EngineBenchReport> {
  const quick = o.quick === true;
  const say = o.onProgress ?? (() => {});
  const spec = getFabricPreset('mini-64');
  const noc = runNocBench(spec, quick, say);

  // Compute-heavy program: 8×8 tiles (4×4 quick), 96×96 f32 blocks (36 KiB of the 48), 64 chained matvecs each.
  const side = quick ? 4 : 8;
  const n = quick ? 32 : 96;
  const repeats = quick ? 2 : 64;
  const program = gridProgram({ side, n, repeats, extras: false });
  const rows: WorkerBenchRow[] = [];
  let reference: string | null = null;
  let identical = true;
  for (const workers of [0, 1, 2]) {
    const engine = await MeshEngine.create(spec, program, syntheticWeights(), { workers, pool: piscinaJobPool });
    const steps = quick ? 2 : 6;
    let best = Infinity;
    let cycles = 0;
    const seen: string[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const r = await engine.step({ token: i % 8, position: i });
      const ms = performance.now() - t0;
      if (i > 0) best = Math.min(best, ms); // the first step warms the JIT and the threads
      cycles = r.cycles;
      seen.push(`${r.cycles}:${[...r.outputs.entries()].sort().map(([k, v]) => `${k}=${[...v].join(',')}`).join(';')}`);
    }
    await engine.close();
    const fingerprint = seen.join('|');
    if (reference === null) reference = fingerprint;
    else if (fingerprint !== reference) identical = false;
    rows.push({ workers, msPerStep: best, simulatedCyclesPerStep: cycles });
    say(`compute program, ${workers} worker(s): ${best.toFixed(2)} ms/step`);
  }
  const t1 = rows.find((r) => r.workers === 1)!.msPerStep;
  const t2 = rows.find((r) => r.workers === 2)!.msPerStep;
  const at64 = noc.filter((r) => r.tiles === 64 * 64);
  return {
    noc,
    targetRouterCyclesPerSecond: 1e6,
    meetsTargetAt64: at64.length > 0 && at64.every((r) => r.routerCyclesPerSecond >= 1e6),
    compute: {
      program: `grid ${side}x${side}, ${n}x${n} f32 blocks, ${repeats} matvecs per tile`,
      tiles: side * side,
      macsPerStep: (side * side - 1) * repeats * n * n,
      rows,
      speedup1to2: t1 / t2,
      identicalAcrossWorkers: identical,
    },
    parallelMesh: await runParallelMeshBench(o),
    hostCpus: o.hostCpus ?? 0,
  };
}

/** Offered rates of the steady-state table, as fractions of the uniform bound 4/k, and the saturated case. */
export const NOC_BENCH_FRACTIONS = Object.freeze([0.25, 0.5, 0.75]);
export const NOC_BENCH_SATURATED_FRACTION = 1.5;
/**
 * The saturated case's drain limit, in warm-up-and-window lengths (the steady cases' is 100): past saturation the
 * sources' queues grow for as long as they offer, so draining them measures only the backlog (a 64×64 mesh took 562,530
 * cycles and 44 minutes to reach 100 and still left packets); its unfinished packets are reported and its latency is a
 * lower bound either way.
 */
const SATURATED_DRAIN_LENGTHS = 4;
/** Warm-up periods settle when their accepted rates agree within this (relative). */
const SETTLE_TOLERANCE = 0.05;

/**
 * One steady-state case: a settling period long enough for ~1600 delivered wavelets (Poisson scatter ≈ 2.5%, half the
 * tolerance) and at least 4k cycles; at most 20 periods of warm-up; a window of at least ~20,000 wavelets; a full
 * drain (the drain limit is far beyond what any case here needs: unfinishedPackets says if it was not).
 */
function nocCase(spec: FabricSpec, k: number, fraction: number, quick: boolean): NocBenchRow {
  const tiles = k * k;
  const rate = (fraction * 4) / k;
  const period = quick ? 20 : Math.max(4 * k, Math.ceil(1600 / (tiles * rate)));
  const cycles = quick ? 100 : Math.max(500, Math.ceil(20_000 / (tiles * rate)));
  const warmupCycles = 20 * period;
  const loadBefore = loadavg()[0];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const drainCycles = (fraction > 1 ? SATURATED_DRAIN_LENGTHS : 100) * (warmupCycles + cycles);
  const r = runNoc({ spec, width: k, height: k, pattern: 'uniform', rate, cycles, warmupCycles, drainCycles, seed: 1, settle: { periodCycles: period, tolerance: SETTLE_TOLERANCE } });
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0).user / 1e6;
  return {
    mesh: `${k}x${k}`,
    tiles,
    fractionOfBound: fraction,
    rate,
    saturatedCase: fraction > 1,
    acceptedRate: r.acceptedRate,
    meanLatencyCycles: r.meanLatencyCycles,
    zeroLoadLatencyCycles: r.zeroLoadLatencyCycles,
    warmupCyclesUsed: r.warmupCyclesUsed,
    warmupSettled: r.warmupSettled === true,
    windowCycles: cycles,
    drainCycles: r.cyclesSimulated - r.warmupCyclesUsed - cycles,
    unfinishedPackets: r.unfinishedPackets,
    cyclesSimulated: r.cyclesSimulated,
    wallSeconds: s,
    routerCyclesPerSecond: r.routerCycles / s,
    waveletHopsPerSecond: r.waveletHops / s,
    routerCyclesPerCpuSecond: r.routerCycles / cpu,
    loadBefore,
    loadAfter: loadavg()[0],
  };
}

/** The steady-state table on 16×16 and 64×64 (8×8 quick), each case the faster of two runs (one quick). */
export function runNocBench(spec: FabricSpec, quick: boolean, say: (line: string) => void): NocBenchRow[] {
  const rows: NocBenchRow[] = [];
  for (const k of quick ? [8] : [16, 64]) {
    for (const fraction of [...NOC_BENCH_FRACTIONS, NOC_BENCH_SATURATED_FRACTION]) {
      let best: NocBenchRow | null = null;
      // The faster of two runs, but for the saturated case (its wall time is the backlog's, not the router's speed).
      for (let rep = 0; rep < (quick || fraction > 1 ? 1 : 2); rep++) {
        const row = nocCase(spec, k, fraction, quick);
        if (!best || row.wallSeconds < best.wallSeconds) best = row;
      }
      say(`noc ${k}x${k} @ ${fraction}× 4/k: ${(best!.routerCyclesPerSecond / 1e6).toFixed(2)}M router-cycles/s (load ${best!.loadBefore.toFixed(1)})`);
      rows.push(best!);
    }
  }
  return rows;
}

/** Wall time per step of `program` on the parallel mesh with `threads` strips; the fingerprint of every step. */
async function timeStrips(spec: FabricSpec, program: Program, weights: WeightProvider, threads: number, steps: number): Promise<{ row: ParallelMeshRow; fingerprint: string; stats: MeshStats }> {
  const engine = await MeshEngine.create(spec, program, weights, { workers: threads, stripPool: nodeStripPool });
  const stepMs: number[] = [];
  const seen: string[] = [];
  let cycles = 0;
  let loadBefore = 0;
  let rounds = 0;
  let best = Infinity;
  let split = { workMs: 0, waitMs: 0, criticalMs: 0 };
  let stats: MeshStats;
  try {
    for (let i = 0; i < steps + 1; i++) {
      if (i === 1) loadBefore = loadavg()[0];
      const t0 = performance.now();
      const before = engine.barrierRounds;
      const t = engine.stripTiming;
      const r = await engine.step({ token: 1 + (i % 8), position: i });
      rounds = engine.barrierRounds - before;
      const ms = performance.now() - t0;
      if (i > 0) {
        stepMs.push(ms); // the first step warms the JIT
        if (ms < best) {
          best = ms;
          const u = engine.stripTiming;
          split = { workMs: u.workMs - t.workMs, waitMs: u.waitMs - t.waitMs, criticalMs: u.criticalMs - t.criticalMs };
        }
      }
      cycles = r.cycles;
      seen.push(`${r.cycles}:${[...r.outputs.entries()].sort().map(([k, v]) => `${k}=${[...v].join(',')}`).join(';')}`);
    }
    stats = engine.stats();
  } finally {
    await engine.close();
  }
  const row: ParallelMeshRow = { threads, msPerStep: Math.min(...stepMs), stepMs, simulatedCyclesPerStep: cycles, barriersPerStep: rounds, ...split, loadBefore, loadAfter: loadavg()[0] };
  return { row, fingerprint: seen.join('|'), stats };
}

/** Wavelets forwarded by the busier of two strips (the default cut) over the mean of the two. */
function hopImbalance(s: MeshStats): number {
  const owner = stripOwners(s.widthTiles, s.heightTiles, 2);
  const hops = [0, 0];
  for (let r = 0; r < owner.length; r++) for (let o = 0; o < 5; o++) hops[owner[r]] += s.linkWavelets[r * 5 + o];
  const mean = (hops[0] + hops[1]) / 2;
  return mean > 0 ? Math.max(hops[0], hops[1]) / mean : 1;
}

/** One timed run of the parallel mesh, as a child process makes it (src/workers/parallelMeshChild.ts). */
export interface ParallelMeshJob {
  kind: 'grid' | 'model';
  quick: boolean;
  model: string;
  fabric: string;
  threads: number;
}

export interface ParallelMeshRun {
  name: string;
  tiles: number;
  row: ParallelMeshRow;
  /** SHA-256 of every step's cycles and outputs. */
  fingerprint: string;
  hopImbalance2: number;
}

/**
 * Timed steps of the compiled model, after one that warms the JIT: a strip's worker thread settles over its first
 * few steps (gpt2-small-dense on mini-128, two threads: 3.1, 1.6, 1.4, 2.1, 1.3, 1.2, 1.4 s), and the row is the
 * fastest, as for one thread.
 */
const PARALLEL_MESH_MODEL_STEPS = 5;

/** Builds the job's program (the synthetic grid or the compiled model) and times it at the job's thread count. */
export async function runParallelMeshJob(job: ParallelMeshJob): Promise<ParallelMeshRun> {
  const { quick } = job;
  const side = quick ? 4 : 8;
  const n = quick ? 32 : 96;
  const repeats = quick ? 2 : 64;
  let c: { name: string; spec: FabricSpec; program: Program; weights: WeightProvider; steps: number };
  if (job.kind === 'grid') {
    c = { name: `synthetic grid ${side}x${side}, ${repeats} matvecs of ${n}x${n} per tile`, spec: getFabricPreset('mini-64'), program: gridProgram({ side, n, repeats, extras: false }), weights: syntheticWeights(), steps: quick ? 1 : 5 };
  } else {
    const compiled = prepareCompile({ model: job.model, fabric: job.fabric }, true);
    c = { name: `${job.model} on ${job.fabric}`, spec: compiled.spec, program: compiled.result.program, weights: weightProvider(castWeights(compiled.weights!, compiled.dtype)), steps: quick ? 1 : PARALLEL_MESH_MODEL_STEPS };
  }
  const t = await timeStrips(c.spec, c.program, c.weights, job.threads, c.steps);
  return { name: c.name, tiles: c.program.tiles.length, row: t.row, fingerprint: createHash('sha256').update(t.fingerprint).digest('hex'), hopImbalance2: hopImbalance(t.stats) };
}

/**
 * The parallel mesh at 1 and 2 threads on the synthetic compute program and on a compiled model, each run in a fresh
 * process: in one process the runs before it would have warmed (and shaped) the JIT of the thread that runs strip 0
 * but not of a new worker, favouring the 2-thread run.
 */
export async function runParallelMeshBench(o: EngineBenchOptions = {}): Promise<ParallelMeshCase[]> {
  const quick = o.quick === true;
  const say = o.onProgress ?? (() => {});
  const model = o.meshModel ?? (quick ? 'toy-dense' : 'gpt2-small-dense');
  const fabric = o.meshFabric ?? (quick ? 'mini-64' : 'mini-128');
  const out: ParallelMeshCase[] = [];
  for (const kind of ['grid', 'model'] as const) {
    const runs: ParallelMeshRun[][] = [[], []];
    // Alternating, so that a slow spell of the host falls on both counts.
    for (let rep = 0; rep < (quick ? 1 : PARALLEL_MESH_PROCESSES); rep++) {
      for (const threads of [1, 2]) {
        const run = runParallelMeshChild({ kind, quick, model, fabric, threads });
        say(`parallel mesh, ${run.name}, ${threads} thread${threads === 1 ? '' : 's'}: ${run.row.msPerStep.toFixed(0)} ms/step (load ${run.row.loadBefore.toFixed(1)})`);
        runs[threads - 1].push(run);
      }
    }
    const [one, two] = runs.map((r) => r.reduce((a, b) => (b.row.msPerStep < a.row.msPerStep ? b : a)));
    const identical = runs.flat().every((r) => r.fingerprint === one.fingerprint);
    out.push({ name: one.name, tiles: one.tiles, rows: [one.row, two.row], speedup1to2: one.row.msPerStep / two.row.msPerStep, identical, hopImbalance2: one.hopImbalance2, processMsPerStep: runs.map((r) => r.map((x) => x.row.msPerStep)) });
  }
  return out;
}

/**
 * Fresh processes per thread count; each row is the fastest. The same program's step time varies by ±30% from one
 * process to the next on this host (the JIT's choices, the host's other work), more than between the thread counts.
 */
const PARALLEL_MESH_PROCESSES = 3;

/** A child's whole run can take minutes (a compiled model on mini-128); past this it is stopped. */
const PARALLEL_MESH_CHILD_TIMEOUT_MS = 20 * 60_000;

function runParallelMeshChild(job: ParallelMeshJob): ParallelMeshRun {
  const r = runModuleChild<ParallelMeshRun>('src/workers/parallelMeshChild', job, PARALLEL_MESH_CHILD_TIMEOUT_MS);
  if (r.error !== null) throw new Error(`parallel mesh run (${job.kind}, ${job.threads} threads): ${r.error}`);
  return r.value;
}

export function formatParallelMesh(cases: ParallelMeshCase[]): string[] {
  const lines = ['', 'Parallel mesh (routers and compute engines in strips of rows, one thread each, a barrier per window of cycles the strips run apart; work, wait and critical path of the best step as strip 0 saw them):'];
  for (const c of cases) {
    lines.push(`  ${c.name} (${c.tiles} tiles):`);
    for (const r of c.rows) {
      lines.push(
        `    ${r.threads} thread${r.threads === 1 ? ' ' : 's'}: ${r.msPerStep.toFixed(1).padStart(9)} ms/step (${r.simulatedCyclesPerStep} simulated cycles, ${r.barriersPerStep} barriers; work ${r.workMs.toFixed(0)} ms, wait ${r.waitMs.toFixed(0)} ms, critical path ${r.criticalMs.toFixed(0)} ms; host load ${r.loadBefore.toFixed(1)} -> ${r.loadAfter.toFixed(1)})`,
      );
    }
    lines.push(`    speed-up 1 -> 2 threads: ${c.speedup1to2.toFixed(2)}× (fastest of ${c.processMsPerStep[0].length} processes each: ${c.processMsPerStep.map((ms, i) => `${i + 1} thread${i === 0 ? '' : 's'} ${ms.map((x) => x.toFixed(0)).join(' / ')} ms`).join('; ')}); identical cycles and outputs: ${c.identical ? 'yes' : 'NO'}; busier strip's share of router work: ${c.hopImbalance2.toFixed(3)}× the mean`);
  }
  return lines;
}

function formatNocRow(x: NocBenchRow): string {
  const cols = [
    x.mesh.padEnd(7),
    `${x.fractionOfBound.toFixed(2)}×`.padStart(6),
    x.rate.toFixed(4).padStart(7),
    x.acceptedRate.toFixed(4).padStart(9),
    x.meanLatencyCycles.toFixed(1).padStart(8),
    x.zeroLoadLatencyCycles.toFixed(1).padStart(6),
    `${x.warmupCyclesUsed}${x.warmupSettled ? '' : '*'}`.padStart(7),
    String(x.windowCycles).padStart(6),
    String(x.drainCycles).padStart(6),
    String(x.unfinishedPackets).padStart(6),
    x.wallSeconds.toFixed(2).padStart(7),
    `${(x.routerCyclesPerSecond / 1e6).toFixed(2)}M`.padStart(9),
    `${(x.waveletHopsPerSecond / 1e6).toFixed(2)}M`.padStart(9),
    `${(x.routerCyclesPerCpuSecond / 1e6).toFixed(2)}M`.padStart(9),
    `${x.loadBefore.toFixed(1)}-${x.loadAfter.toFixed(1)}`.padStart(9),
  ];
  const unfinished = x.unfinishedPackets > 0 ? `, ${x.unfinishedPackets} packets undelivered at the drain limit: latency a lower bound` : '';
  return `${cols.join(' ')}${x.saturatedCase ? `  SATURATED (past 4/k: latency of a growing queue${unfinished})` : unfinished ? `  (${unfinished.slice(2)})` : ''}`;
}

export function formatEngineBench(r: EngineBenchReport): string {
  const head = ['mesh'.padEnd(7), '4/k'.padStart(6), 'offered'.padStart(7), 'accepted'.padStart(9), 'latency'.padStart(8), 'zero'.padStart(6), 'warm-up'.padStart(7), 'window'.padStart(6), 'drain'.padStart(6), 'unfin'.padStart(6), 'wall s'.padStart(7), 'rcycles/s'.padStart(9), 'hops/s'.padStart(9), 'per CPU-s'.padStart(9), 'load'.padStart(9)];
  const lines = [
    'Synthetic uniform traffic (XY, 2 VCs, 1-wavelet packets) in steady state: offered as a fraction of the bound 4/k, warm-up until two periods accept the same rate (* = not settled), full drain (the saturated case: a short one); latency and zero-load latency in cycles; load = host 1-minute load average before-after:',
    head.join(' '),
    ...r.noc.map(formatNocRow),
  ];
  lines.push(`target ≥ ${(r.targetRouterCyclesPerSecond / 1e6).toFixed(0)}M router-cycles/s at 64x64: ${r.meetsTargetAt64 ? 'met' : 'NOT met'}`);
  lines.push('', `Compute-heavy program (${r.compute.program}, ${(r.compute.macsPerStep / 1e6).toFixed(1)}M MACs/step):`);
  for (const w of r.compute.rows) lines.push(`  ${w.workers} worker${w.workers === 1 ? ' ' : 's'}: ${w.msPerStep.toFixed(2).padStart(8)} ms/step (${w.simulatedCyclesPerStep} simulated cycles)`);
  lines.push(`  speed-up 1 -> 2 workers: ${r.compute.speedup1to2.toFixed(2)}×; identical cycles and outputs across 0/1/2 workers: ${r.compute.identicalAcrossWorkers ? 'yes' : 'NO'}${r.hostCpus ? ` (host: ${r.hostCpus} CPUs)` : ''}`);
  if (r.parallelMesh) lines.push(...formatParallelMesh(r.parallelMesh));
  return lines.join('\n');
}

/** engine.json (the report) and engine.md (the table the terminal shows) in `dir`. */
export function writeEngineBench(r: EngineBenchReport, dir: string): void {
  writeFileAtomic(join(dir, 'engine.json'), JSON.stringify(r, null, 2) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'engine.md'), `# wafer bench engine\n\nGenerated by \`npx wafer bench engine\` (host: ${r.hostCpus} CPUs).\n\n\`\`\`\n${formatEngineBench(r)}\n\`\`\`\n`, { option: '--out-dir', createParents: true });
}
