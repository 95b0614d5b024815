// `wafer sweep`: design-space sweeps and yield studies from a sweep file — plan (how many points, how long), run
// (embedded on a local thread pool, or on a BullMQ queue in Redis), worker (processes a queue's points), report
// (yield curves, a Pareto chart and a sortable table as HTML and SVG).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { assertParentFolder, writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText, type GlobalOptions } from '../io/output.js';
import { parseIntOption } from '../io/parse.js';
import { sweepCharts, sweepReportHtml } from '../report/sweepHtml.js';
import { pointSeconds } from '../sweep/cost.js';
import { runEmbedded, type RunSummary } from '../sweep/embedded.js';
import { loadSweep, type SweepPlan } from '../sweep/plan.js';
import { formatDuration, sweepProgress } from '../sweep/progress.js';
import { DEFAULT_QUEUE_NAME, parseQueueUrl, probe, runQueued, runSweepWorker } from '../sweep/queue.js';
import { sweepReportData } from '../sweep/reportData.js';
import { readRecords, ResultStore, SWEEP_FILE, type SweepMeta } from '../sweep/store.js';
import { codeVersion } from '../sweep/version.js';
import { action, errorExit } from './action.js';
import { readUserJson } from '../io/atomicWrite.js';

const MAX_THREADS = 256;

function parseThreads(v: string | undefined, fallback: number): number {
  const n = v === undefined ? fallback : parseIntOption(v, '--threads', 1);
  if (n > MAX_THREADS) throw new InputError(`${n} threads`, '--threads', `give at most ${MAX_THREADS}`);
  return n;
}

const parseMaxPoints = (v: string | undefined): number | undefined => (v === undefined ? undefined : parseIntOption(v, '--max-points', 1));

export interface PlanSummary {
  name: string;
  points: number;
  studies: { index: number; run: string; name: string | null; points: number; estimatedSeconds: number }[];
  /** Seconds of one thread, summed over every point (docs/sweeps.md#what-a-point-costs). */
  estimatedThreadSeconds: number;
  threads: number;
  estimatedWallSeconds: number;
}

export function summarisePlan(plan: SweepPlan, threads: number): PlanSummary {
  const studies = plan.file.studies.map((s, index) => {
    const mine = plan.points.filter((p) => p.study === index);
    return { index, run: s.run, name: s.name ?? null, points: mine.length, estimatedSeconds: mine.reduce((t, p) => t + pointSeconds(p), 0) };
  });
  const total = studies.reduce((t, s) => t + s.estimatedSeconds, 0);
  // The slowest point bounds the wall time too: threads cannot split one point.
  const longest = Math.max(0, ...plan.points.map(pointSeconds));
  return { name: plan.file.name, points: plan.points.length, studies, estimatedThreadSeconds: total, threads, estimatedWallSeconds: Math.max(longest, total / threads) };
}

function formatPlan(s: PlanSummary): string {
  const lines = [`${s.name}: ${s.points} points`];
  for (const st of s.studies) lines.push(`  study ${st.index} (${st.run}${st.name ? `: ${st.name}` : ''}): ${st.points} points, about ${formatDuration(st.estimatedSeconds)} of one thread`);
  lines.push(`about ${formatDuration(s.estimatedThreadSeconds)} of one thread in all, ${formatDuration(s.estimatedWallSeconds)} on ${s.threads} thread${s.threads > 1 ? 's' : ''} (a coarse cost per point: docs/sweeps.md#what-a-point-costs)`);
  return lines.join('\n');
}

function planCommand(sweep: Command): void {
  const cmd = sweep
    .command('plan')
    .description('how many points a sweep file holds and about how long they take, before running any')
    .argument('<file>', 'sweep file (.json, .yaml or .yml)')
    .option('--threads <n>', 'threads the estimate divides the work over (default: this machine\'s cores)')
    .option('--max-points <n>', 'refuse a sweep with more points than this (default 100,000)')
    .addHelpText('after', '\nExample:\n  npx wafer sweep plan examples/yield-toy-moe.yaml');
  action<{ threads?: string; maxPoints?: string }>(cmd, (o, g, args) => {
    const plan = loadSweep(args[0], parseMaxPoints(o.maxPoints));
    const s = summarisePlan(plan, parseThreads(o.threads, availableParallelism()));
    if (g.json) printJson(s);
    else printText(formatPlan(s));
  });
}

interface RunOptions {
  out: string;
  threads?: string;
  queue?: string;
  queueName: string;
  maxPoints?: string;
}

function formatRun(s: RunSummary, out: string, where: string): string {
  const recorded = s.already + s.computed;
  return [
    `${recorded} of ${s.total} points recorded in ${out} (${s.computed} computed ${where} in ${formatDuration(s.wallSeconds)}${s.computed > 0 ? `, ${(s.computed / s.wallSeconds).toFixed(2)} points/s` : ''}; ${s.already} were already there)`,
    ...(s.failed.length ? [`${s.failed.length} points failed (a rerun tries them again); the first: ${s.failed[0].message}`] : []),
    `draw them: npx wafer sweep report ${out}`,
  ].join('\n');
}

/** Ctrl-C stops a run between points: the records written stay, and the same command resumes. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: ac.signal, dispose: () => (process.off('SIGINT', stop), process.off('SIGTERM', stop)) };
}

function runCommand(sweep: Command): void {
  const cmd = sweep
    .command('run')
    .description('run every point of a sweep file not yet in the results directory: on a local thread pool, or through a BullMQ queue (--queue); records are appended as points finish, and Ctrl-C or a crash loses none')
    .argument('<file>', 'sweep file (.json, .yaml or .yml)')
    .requiredOption('--out <dir>', 'results directory (created; an earlier run of the same sweep there is resumed)')
    .option('--threads <n>', 'points computed at once, embedded (default: this machine\'s cores)')
    .option('--queue <url>', 'enqueue the points on Redis at redis://HOST:PORT and gather what `wafer sweep worker`s compute')
    .option('--queue-name <name>', 'the BullMQ queue (the workers must name the same)', DEFAULT_QUEUE_NAME)
    .option('--max-points <n>', 'refuse a sweep with more points than this (default 100,000)')
    .addHelpText('after', '\nExamples:\n  npx wafer sweep run examples/yield-toy-moe.yaml --out yield-toy-moe\n  npx wafer sweep run examples/yield-toy-moe.yaml --out yield-toy-moe --queue redis://127.0.0.1:6379');
  action<RunOptions>(cmd, async (o, g, args) => {
    const plan = loadSweep(args[0], parseMaxPoints(o.maxPoints));
    const threads = parseThreads(o.threads, availableParallelism());
    const address = o.queue === undefined ? null : parseQueueUrl(o.queue, o.queueName);
    if (address) await probe(address); // before the results directory is made: a Redis that is not there leaves nothing behind
    const store = ResultStore.open(o.out, plan);
    const bar = sweepProgress(g);
    const stop = interruptible();
    let s: RunSummary;
    try {
      const note = (line: string) => {
        if (g.quiet || g.json) return;
        bar.end();
        process.stderr.write(`note: ${line}\n`);
      };
      const hooks = { onProgress: (d: number, t: number, f: number) => bar.update(d, t, f), signal: stop.signal, onNote: note };
      s = address ? await runQueued(plan, store, address, hooks) : await runEmbedded(plan, store, threads, hooks);
    } catch (e) {
      if (!address) throw e;
      // Redis clients still trying to reconnect would keep the process alive (and talking): end it here.
      bar.end();
      store.close();
      errorExit(e, g.verbose);
      process.exit();
    } finally {
      stop.dispose();
      bar.end();
      store.close();
    }
    report(s, o.out, address ? `through queue ${address.name}` : `on ${threads} thread${threads > 1 ? 's' : ''}`, g);
  });
}

function report(s: RunSummary, out: string, where: string, g: GlobalOptions): void {
  if (s.interrupted) {
    process.stderr.write(`interrupted: ${s.already + s.computed} of ${s.total} points are recorded in ${out}; run the same command to go on\n`);
    process.exitCode = 130;
    return;
  }
  if (g.json) printJson({ out, ...s });
  else printText(formatRun(s, out, where));
  if (s.failed.length) throw new Error(`${s.failed.length} of ${s.total} points failed; the first: ${s.failed[0].message}`);
}

interface WorkerCliOptions {
  queue: string;
  queueName: string;
  threads: string;
  lockMs: string;
  name?: string;
}

function workerCommand(sweep: Command): void {
  const cmd = sweep
    .command('worker')
    .description('compute the points a `wafer sweep run --queue` put on a BullMQ queue, on this machine, until Ctrl-C (or SIGTERM: the points in hand finish first)')
    .requiredOption('--queue <url>', 'Redis at redis://HOST:PORT')
    .option('--queue-name <name>', 'the BullMQ queue', DEFAULT_QUEUE_NAME)
    .option('--threads <n>', 'points computed at once', '1')
    .option('--lock-ms <ms>', 'a point whose worker stops answering for this long goes to another worker', '30000')
    .option('--name <name>', 'this worker\'s name in the queue (default: BullMQ\'s)')
    .addHelpText('after', '\nExample:\n  npx wafer sweep worker --queue redis://127.0.0.1:6379 --threads 2');
  action<WorkerCliOptions>(cmd, async (o, g) => {
    const address = parseQueueUrl(o.queue, o.queueName);
    const threads = parseThreads(o.threads, 1);
    const lockMs = parseIntOption(o.lockMs, '--lock-ms', 1000);
    const log = g.verbose && !g.json ? (line: string) => process.stderr.write(`${o.name ?? 'worker'}: ${line}\n`) : undefined;
    if (!g.quiet && !g.json) process.stderr.write(`worker on ${address.url} queue ${address.name}, wafer ${codeVersion()}, ${threads} thread${threads > 1 ? 's' : ''}; Ctrl-C to stop\n`);
    const stop = interruptible();
    try {
      const r = await runSweepWorker(address, { threads, lockMs, name: o.name, log, signal: stop.signal });
      if (g.json) printJson(r);
      else printText(`processed ${r.points} points`);
    } catch (e) {
      // Redis clients still trying to reconnect would keep the process alive (and talking): end it here.
      errorExit(e, g.verbose);
      process.exit();
    } finally {
      stop.dispose();
    }
  });
}

const REPORT_FILES = { html: 'sweep-report.html', yieldTokens: 'sweep-yield-tokens.svg', yieldTiles: 'sweep-yield-tiles.svg', yieldFits: 'sweep-yield-fits.svg', pareto: 'sweep-pareto.svg' } as const;

function reportCommand(sweep: Command): void {
  const cmd = sweep
    .command('report')
    .description('yield curves, a Pareto chart and a sortable table of a results directory, as HTML and SVG files (--json: the raw records on stdout)')
    .argument('<dir>', 'a results directory of `wafer sweep run`')
    .option('--out-dir <dir>', 'where the HTML and SVG files go (default: the results directory)')
    .addHelpText('after', '\nExamples:\n  npx wafer sweep report yield-toy-moe\n  npx wafer sweep report yield-toy-moe --json > records.json');
  action<{ outDir?: string }>(cmd, (o, g, args) => {
    const dir = args[0];
    const records = readRecords(dir, 'results directory');
    const meta = readUserJson(join(dir, SWEEP_FILE), 'results directory') as SweepMeta & { file?: { description?: string } };
    const data = sweepReportData(records);
    const charts = sweepCharts(data);
    const outDir = o.outDir ?? dir;
    // Like the results directory of `sweep run`: made if missing, its parent must exist.
    if (!existsSync(outDir)) assertParentFolder(outDir, '--out-dir');
    if (!existsSync(outDir)) mkdirSync(outDir);
    const written: string[] = [];
    const write = (file: string, content: string | null) => {
      if (content === null) return;
      writeFileAtomic(join(outDir, file), content, { option: '--out-dir', createParents: true });
      written.push(join(outDir, file));
    };
    write(REPORT_FILES.html, sweepReportHtml(meta.name, meta.file?.description, data, charts));
    write(REPORT_FILES.yieldTokens, charts.yieldTokens);
    write(REPORT_FILES.yieldTiles, charts.yieldTiles);
    write(REPORT_FILES.yieldFits, charts.yieldFits);
    write(REPORT_FILES.pareto, charts.pareto);
    if (g.json) return printJson({ name: meta.name, records });
    printText([`${meta.name}: ${records.length} records, ${data.errors} where the inputs did not go; ${data.yield.length} yield series, ${data.pareto.length} points on the Pareto chart`, ...written.map((w) => `wrote ${w}`)].join('\n'));
  });
}

export function register(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('design-space sweeps and yield studies from a sweep file: plan, run (embedded or on a Redis queue), worker, report')
    .addHelpText('after', '\nExample:\n  npx wafer sweep run examples/yield-toy-moe.yaml --out yield-toy-moe');
  for (const add of [planCommand, runCommand, workerCommand, reportCommand]) add(sweep);
}
