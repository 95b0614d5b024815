// `wafer bench sweep`: how fast sweeps go on this machine — points per second embedded (a local pool of 1 thread, and
// of every core) and through a BullMQ queue on a local Redis (1 and 2 worker processes of one thread each), for two
// workloads: GPU estimates (milliseconds of work: the figure is the machinery's own cost) and projections of toy-moe
// on a faulty mini-64 (about a second each: the figure is the compute). The queue's overhead per point is its extra
// wall time per point over the embedded pool of the same width on the cheap workload. Pools and workers are started
// and warmed before the clock starts (a long sweep pays their start once; `wafer sweep run` prints it separately).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEmbedded } from '../sweep/embedded.js';
import { startRedis, type RedisServer } from '../sweep/localRedis.js';
import { planSweep, type SweepPlan } from '../sweep/plan.js';
import { createPointPool } from '../sweep/pool.js';
import { loadBullmq, parseQueueUrl, runQueued } from '../sweep/queue.js';
import { parseSweepText } from '../sweep/schema.js';
import { ResultStore } from '../sweep/store.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { REPO_ROOT } from '../workers/modules.js';

export interface SweepBenchRow {
  workload: string;
  mode: 'embedded' | 'queue';
  /** Threads of the embedded pool, or worker processes (one thread each) on the queue. */
  width: number;
  points: number;
  wallSeconds: number;
  pointsPerSecond: number;
}

export interface SweepBenchReport {
  /** loadAverage: the 1-minute load when the bench ended (other work on the host slows every row). */
  host: { cpus: number; model: string; loadAverage: number };
  rows: SweepBenchRow[];
  /** Seconds the queue adds to each point over the embedded pool of the same width (GPU estimates), by width. */
  queueOverheadSecondsPerPoint: { width: number; seconds: number }[];
  /** Why there are no queue rows, where there are none. */
  queueSkipped: string | null;
}

export interface SweepBenchOptions {
  /** A few points, one thread and one worker (a smoke test: the figures are not meaningful). */
  quick?: boolean;
  /** A Redis to use (default: a redis-server started here on a free port, when installed). */
  queue?: string;
  onProgress?: (line: string) => void;
}

function workloads(quick: boolean, tag: string): { name: string; plan: SweepPlan }[] {
  const make = (name: string, study: unknown) => planSweep(parseSweepText(JSON.stringify({ name: `bench-${name}-${tag}`, studies: [study] }), `bench ${name}`), `bench ${name}`);
  const batches = quick ? [1, 8] : [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32];
  return [
    { name: 'GPU estimates', plan: make('gpu', { run: 'gpu', axes: { model: ['toy-moe', 'toy-dense'], gpu: ['h100', 'h200'], gpus: [1, 2], batch: batches } }) },
    { name: 'projections', plan: make('project', { run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], repair: ['route-around'], faultDensity: [0.02], seed: { from: 0, count: quick ? 1 : 12 } } }) },
  ];
}

/** A warm-up plan: points none of the measured workloads has, so the measured ones all run. */
function warmup(n: number, tag: string): SweepPlan {
  const study = { run: 'gpu', axes: { model: ['toy-moe'], gpu: ['b200'], batch: Array.from({ length: n }, (_, i) => 100 + i) } };
  return planSweep(parseSweepText(JSON.stringify({ name: `bench-warmup-${tag}`, studies: [study] }), 'bench warm-up'), 'bench warm-up');
}

async function embeddedRow(workload: string, plan: SweepPlan, threads: number, dir: string): Promise<SweepBenchRow> {
  const pool = createPointPool(threads);
  try {
    const warm = ResultStore.open(join(dir, `warm-e${threads}-${workload}`), warmup(threads * 2, `e${threads}`));
    await runEmbedded(warmup(threads * 2, `e${threads}`), warm, threads, {}, pool);
    warm.close();
    const store = ResultStore.open(join(dir, `e${threads}-${workload}`), plan);
    const s = await runEmbedded(plan, store, threads, {}, pool);
    store.close();
    if (s.failed.length) throw new Error(`bench sweep: ${s.failed[0].message}`);
    return { workload, mode: 'embedded', width: threads, points: s.computed, wallSeconds: s.wallSeconds, pointsPerSecond: s.computed / s.wallSeconds };
  } finally {
    await pool.close();
  }
}

interface Workers {
  procs: ChildProcess[];
  stop(): Promise<void>;
}

async function startWorkers(url: string, queueName: string, n: number): Promise<Workers> {
  const procs = Array.from({ length: n }, (_, i) => spawn(process.execPath, [join(REPO_ROOT, 'bin/wafer.mjs'), 'sweep', 'worker', '--queue', url, '--queue-name', queueName, '--name', `bench-${i}`, '--quiet'], { stdio: 'ignore' }));
  const exits = procs.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
  const { Queue } = await loadBullmq();
  const q = new Queue(queueName, { connection: { host: new URL(url).hostname, port: Number(new URL(url).port) } });
  try {
    const t0 = Date.now();
    while ((await q.getWorkers()).length < n) {
      if (Date.now() - t0 > 120_000) throw new Error('bench sweep: the workers did not connect within 2 minutes');
      if (procs.some((p) => p.exitCode !== null)) throw new Error('bench sweep: a worker exited before it connected');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await q.close();
  }
  return {
    procs,
    async stop() {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
      await Promise.all(exits);
    },
  };
}

async function queueRows(url: string, list: { name: string; plan: SweepPlan }[], n: number, dir: string): Promise<SweepBenchRow[]> {
  const queueName = `wafer-bench-${process.pid}-${n}`;
  const address = parseQueueUrl(url, queueName);
  const workers = await startWorkers(url, queueName, n);
  try {
    const warmPlan = warmup(n * 2, `q${n}`);
    const warm = ResultStore.open(join(dir, `warm-q${n}`), warmPlan);
    await runQueued(warmPlan, warm, address);
    warm.close();
    const rows: SweepBenchRow[] = [];
    for (const w of list) {
      const store = ResultStore.open(join(dir, `q${n}-${w.name}`), w.plan);
      const s = await runQueued(w.plan, store, address);
      store.close();
      if (s.failed.length) throw new Error(`bench sweep: ${s.failed[0].message}`);
      rows.push({ workload: w.name, mode: 'queue', width: n, points: s.computed, wallSeconds: s.wallSeconds, pointsPerSecond: s.computed / s.wallSeconds });
    }
    return rows;
  } finally {
    await workers.stop();
  }
}

export async function runSweepBench(opts: SweepBenchOptions = {}): Promise<SweepBenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'wafer-bench-sweep-'));
  const say = opts.onProgress ?? (() => {});
  const list = workloads(opts.quick ?? false, String(process.pid));
  const rows: SweepBenchRow[] = [];
  let redis: RedisServer | null = null;
  let queueSkipped: string | null = null;
  try {
    const widths = opts.quick ? [1] : [...new Set([1, Math.min(2, availableParallelism())])];
    for (const threads of widths) {
      for (const w of list) {
        say(`embedded, ${threads} thread${threads > 1 ? 's' : ''}: ${w.name} (${w.plan.points.length} points)`);
        rows.push(await embeddedRow(w.name, w.plan, threads, dir));
      }
    }
    let url = opts.queue ?? null;
    if (url === null) {
      redis = await startRedis();
      url = redis?.url ?? null;
    }
    if (url === null) queueSkipped = 'redis-server is not installed here (and no --queue was given)';
    else {
      for (const n of widths) {
        say(`queue, ${n} worker${n > 1 ? 's' : ''}: ${list.map((w) => w.name).join(', ')}`);
        rows.push(...(await queueRows(url, list, n, dir)));
      }
    }
  } finally {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const cheap = list[0].name;
  const perPoint = (mode: string, width: number) => rows.find((r) => r.workload === cheap && r.mode === mode && r.width === width);
  const overhead = [...new Set(rows.map((r) => r.width))].flatMap((width) => {
    const e = perPoint('embedded', width);
    const q = perPoint('queue', width);
    return e && q ? [{ width, seconds: q.wallSeconds / q.points - e.wallSeconds / e.points }] : [];
  });
  return { host: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', loadAverage: loadavg()[0] }, rows, queueOverheadSecondsPerPoint: overhead, queueSkipped };
}

export function formatSweepBench(r: SweepBenchReport): string {
  const lines = [
    `Sweep throughput on this host (${r.host.cpus} cores, ${r.host.model}, load average ${r.host.loadAverage.toFixed(1)} at the end); pools and workers warm before the clock starts:`,
    '',
    '| workload | mode | width | points | wall s | points/s |',
    '|---|---|---:|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.workload} | ${x.mode === 'embedded' ? 'embedded pool' : 'BullMQ queue'} | ${x.width} ${x.mode === 'embedded' ? 'thread' : 'worker'}${x.width > 1 ? 's' : ''} | ${x.points} | ${x.wallSeconds.toFixed(2)} | ${x.pointsPerSecond.toFixed(2)} |`),
    '',
  ];
  if (r.queueSkipped) lines.push(`No queue rows: ${r.queueSkipped}.`);
  for (const o of r.queueOverheadSecondsPerPoint) lines.push(`Queue overhead at width ${o.width}: ${(o.seconds * 1000).toFixed(1)} ms per point (queue wall per point − embedded wall per point, GPU estimates).`);
  return lines.join('\n');
}

/** sweep.json (the --json document) and sweep.md (the table) in `dir`. */
export function writeSweepBench(r: SweepBenchReport, dir: string): void {
  writeFileAtomic(join(dir, 'sweep.json'), JSON.stringify(r, null, 2) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'sweep.md'), `# wafer bench sweep\n\n${formatSweepBench(r)}\n`, { option: '--out-dir', createParents: true });
}
