// A sweep on BullMQ + Redis: the coordinator (`wafer sweep run --queue`) enqueues the points not yet recorded, one
// job per point with the point's key as its job id (so a point is enqueued at most once), and gathers finished jobs
// into the results directory — the record is written first, the job removed after, so a coordinator killed between
// the two finds the job again and skips it by key. Workers (`wafer sweep worker`) compute points on their own thread
// pool; a worker killed mid-point stops renewing its job's lock and another worker's stalled-job check hands the point
// to someone else. Every process checks the code version it runs against the one the queue's sweep was made with.
import type { ConnectionOptions, Job, Queue } from 'bullmq';
import { InputError } from '../../fabric/errors.js';
import type { RunHooks, RunSummary } from './embedded.js';
import { pending } from './embedded.js';
import type { KeyedPoint, SweepPlan } from './plan.js';
import { createPointPool } from './pool.js';
import type { SweepRecord } from './runPoint.js';
import type { ResultStore } from './store.js';
import { codeVersion } from './version.js';

/** BullMQ, loaded by the first queue operation: every other command starts without it (~0.1 s of module loading). */
export const loadBullmq = () => import('bullmq');

export const DEFAULT_QUEUE_NAME = 'wafer-sweep';
/** Tries a point gets (the first and after failures or stalls) before it is reported as failed. */
const ATTEMPTS = 3;
/** How long a coordinator waits with no progress before it checks for workers and says none is there. */
const NO_WORKER_NOTE_MS = 5000;
/** Jobs gathered per round trip. */
const GATHER_BATCH = 1000;

export interface QueueAddress {
  url: string;
  host: string;
  port: number;
  db: number;
  /** The BullMQ queue (several sweeps can share a Redis under different names). */
  name: string;
}

interface JobData {
  version: string;
  point: KeyedPoint;
}

/** "redis://HOST:PORT[/DB]" checked and split. */
export function parseQueueUrl(url: string, name = DEFAULT_QUEUE_NAME, option = '--queue'): QueueAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`not a URL: "${url}"`, option, 'give redis://HOST:PORT, e.g. redis://127.0.0.1:6379');
  }
  if (u.protocol !== 'redis:') throw new InputError(`not a redis:// URL: "${url}"`, option, 'give redis://HOST:PORT, e.g. redis://127.0.0.1:6379');
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname === '' || u.pathname === '/' ? 0 : Number(u.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) throw new InputError(`not a database number: "${u.pathname.slice(1)}"`, option, 'give redis://HOST:PORT/N with N ≥ 0');
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new InputError(`not a queue name: "${name}"`, '--queue-name', 'use letters, digits, ".", "_" and "-"');
  return { url, host: u.hostname, port, db, name };
}

const versionKey = (a: QueueAddress) => `wafer:sweep:${a.name}:version`;

/**
 * Connection options. `blocking`: a worker's (BullMQ requires unlimited retries per request there). Either gives up
 * reconnecting after about 5 s, so a Redis that went away ends the process with an error instead of a hang.
 */
function connection(a: QueueAddress, blocking: boolean, retry = true): ConnectionOptions {
  const options = {
    host: a.host,
    port: a.port,
    db: a.db,
    connectTimeout: 3000,
    maxRetriesPerRequest: blocking ? null : 1,
    enableOfflineQueue: blocking,
    retryStrategy: (times: number) => (retry && times <= 20 ? 250 : null),
  };
  return options as ConnectionOptions;
}

function unreachable(a: QueueAddress, e: unknown): InputError {
  return new InputError(`cannot reach Redis: ${(e as Error).message}`, `--queue ${a.url}`, 'start redis-server there (or check the host and port), then run the same command again');
}

function lost(a: QueueAddress, e: unknown): InputError {
  return new InputError(`lost the connection to Redis: ${(e as Error).message}`, `--queue ${a.url}`, 'bring Redis back and run the same command again (finished points are kept)');
}

/**
 * Connects once without retrying — a Redis that is not there is an error at once, not a wait — and reads the code
 * version the queue's sweep was made with (null when no sweep has claimed the queue).
 */
export async function probe(a: QueueAddress): Promise<string | null> {
  const mq = await loadBullmq();
  const q = new mq.Queue(a.name, { connection: connection(a, false, false) });
  q.on('error', () => {}); // the rejected promise below carries it
  try {
    const client = await q.client;
    return await client.get(versionKey(a));
  } catch (e) {
    throw unreachable(a, e);
  } finally {
    await q.close().catch(() => {});
  }
}

function mismatch(a: QueueAddress, theirs: string, mine: string, role: string): InputError {
  return new InputError(`the sweep on queue ${a.name} was made by wafer ${theirs}, this ${role} runs ${mine}`, `--queue ${a.url}`, 'run the same wafer version and code on every machine (or use another --queue-name)');
}

/** The coordinator's side: claims the queue for this code version (unless another version's sweep is still in it). */
async function claimVersion(queue: Queue, a: QueueAddress): Promise<void> {
  const client = await queue.client;
  const theirs = await client.get(versionKey(a));
  const mine = codeVersion();
  if (theirs !== null && theirs !== mine) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(c).some((n) => n > 0)) throw mismatch(a, theirs, mine, 'coordinator');
  }
  await client.set(versionKey(a), mine);
}

/** Jobs of `keys` found in `state`, a batch at a time. */
async function jobsIn(queue: Queue, state: 'completed' | 'failed', keys: Set<string>): Promise<Job<JobData, SweepRecord>[]> {
  const jobs = (await queue.getJobs([state], 0, GATHER_BATCH - 1, true)) as Job<JobData, SweepRecord>[];
  return jobs.filter((j) => j && j.id !== undefined && keys.has(j.id));
}

/** An error of the Redis client (ioredis's wording) rather than of this program. */
function isConnectionError(e: unknown): boolean {
  return /ECONN|EPIPE|ETIMEDOUT|Connection is closed|connect|Stream isn't writeable|MaxRetriesPerRequest/i.test((e as Error)?.message ?? '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Enqueues the points `store` lacks and gathers their records until every one is in, or `hooks.signal` stops it. */
export async function runQueued(plan: SweepPlan, store: ResultStore, a: QueueAddress, hooks: RunHooks = {}): Promise<RunSummary> {
  const t0 = performance.now();
  await probe(a);
  const todo = pending(plan, store);
  const summary: RunSummary = { total: plan.points.length, already: plan.points.length - todo.length, computed: 0, failed: [], interrupted: false, wallSeconds: 0 };
  hooks.onProgress?.(summary.already, summary.total, 0);
  const mq = await loadBullmq();
  const queue = new mq.Queue<JobData, SweepRecord>(a.name, { connection: connection(a, false) });
  let connectionError: unknown = null;
  queue.on('error', (e) => (connectionError ??= e));
  const remaining = new Set(todo.map((p) => p.key));
  let failed = false;
  try {
    await claimVersion(queue as Queue, a);
    // A point that failed in an earlier run gets its tries again.
    for (const j of await jobsIn(queue as Queue, 'failed', remaining)) await j.remove();
    const version = codeVersion();
    for (let i = 0; i < todo.length; i += GATHER_BATCH) {
      const chunk = todo.slice(i, i + GATHER_BATCH);
      await queue.addBulk(chunk.map((point) => ({ name: point.kind, data: { version, point }, opts: { jobId: point.key, attempts: ATTEMPTS, removeOnComplete: false, removeOnFail: false } })));
    }
    let idleSince = performance.now();
    let noted = false;
    while (remaining.size > 0 && !hooks.signal?.aborted) {
      const progressed = (await gather(queue as Queue, store, remaining, summary)) > 0;
      if (progressed) {
        hooks.onProgress?.(summary.already + summary.computed, summary.total, summary.computed);
        idleSince = performance.now();
      } else await sleep(100);
      // Nothing for a while and nobody to do it: say what is missing rather than wait in silence.
      if (!noted && performance.now() - idleSince > NO_WORKER_NOTE_MS && (await queue.getWorkersCount()) === 0) {
        hooks.onNote?.(`no worker is connected to queue ${a.name}: start one with \`wafer sweep worker --queue ${a.url}${a.name === DEFAULT_QUEUE_NAME ? '' : ` --queue-name ${a.name}`}\``);
        noted = true;
      }
    }
  } catch (e) {
    failed = true;
    if (e instanceof InputError) throw e;
    if (connectionError !== null || isConnectionError(e)) throw lost(a, connectionError ?? e);
    throw e;
  } finally {
    // Without a connection there is nothing to close cleanly (BullMQ's close would wait on clients reconnecting).
    if (!failed) await queue.close().catch(() => {});
  }
  summary.interrupted = remaining.size > 0;
  summary.wallSeconds = (performance.now() - t0) / 1000;
  return summary;
}

/** One round: finished jobs of this sweep recorded (then removed), failed ones reported (and removed). */
async function gather(queue: Queue, store: ResultStore, remaining: Set<string>, summary: RunSummary): Promise<number> {
  let n = 0;
  for (const job of await jobsIn(queue, 'completed', remaining)) {
    const record = job.returnvalue as SweepRecord;
    if (record?.key !== job.id) throw new Error(`sweep: job ${job.id} returned a record of ${record?.key}`);
    if (store.add(record)) summary.computed++;
    remaining.delete(job.id);
    await job.remove();
    n++;
  }
  for (const job of await jobsIn(queue, 'failed', remaining)) {
    summary.failed.push({ key: job.id!, message: job.failedReason });
    remaining.delete(job.id!);
    await job.remove();
    n++;
  }
  return n;
}

export interface WorkerOptions {
  /** Points computed at once (threads of the pool). */
  threads: number;
  /** How long a point's lock lasts without renewal: a killed worker's point goes to another worker after about this. */
  lockMs: number;
  /** Shown as the jobs' processedBy. */
  name?: string;
  /** A line per point started and finished (--verbose). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Processes points from the queue until `signal` (Ctrl-C, SIGTERM) — then finishes the points in hand and returns —
 * or until Redis goes away or a job of another code version arrives (an InputError; that job is put back first).
 */
export async function runSweepWorker(a: QueueAddress, o: WorkerOptions): Promise<{ points: number }> {
  const theirs = await probe(a);
  const mine = codeVersion();
  // Checked before the worker connects: it takes no job, and there is no BullMQ worker to close.
  if (theirs !== null && theirs !== mine) throw mismatch(a, theirs, mine, 'worker');
  const mq = await loadBullmq();
  const pool = createPointPool(o.threads);
  let fatal = null as InputError | null;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  let closing = false;
  const fail = (e: InputError) => {
    if (closing) return;
    fatal ??= e;
    done();
  };
  let points = 0;
  const worker = new mq.Worker<JobData, SweepRecord>(
    a.name,
    async (job, token) => {
      if (job.data.version !== mine) {
        await job.moveToDelayed(Date.now() + 1000, token);
        fail(mismatch(a, job.data.version, mine, 'worker'));
        throw new mq.DelayedError();
      }
      const t = performance.now();
      o.log?.(`point ${job.id} (${job.data.point.kind}) started`);
      const record = await pool.run(job.data.point);
      o.log?.(`point ${job.id} finished in ${((performance.now() - t) / 1000).toFixed(2)} s`);
      points++;
      return record;
    },
    { connection: connection(a, true), concurrency: o.threads, lockDuration: o.lockMs, stalledInterval: o.lockMs, maxStalledCount: ATTEMPTS, name: o.name, autorun: false },
  );
  worker.on('error', (e) => o.log?.(`redis: ${e.message}`));
  o.signal?.addEventListener('abort', () => done());
  try {
    const client = await worker.client;
    client.once('end', () => fail(lost(a, new Error('the server closed the connection'))));
    void worker.run().catch((e: unknown) => fail(lost(a, e)));
    await finished;
  } finally {
    closing = true;
    // After an error the points in hand are abandoned (their locks lapse and other workers take them); without a
    // connection there is nothing to close cleanly, and BullMQ's close would wait on clients still reconnecting.
    if (fatal === null) await worker.close().catch(() => {});
    await pool.close();
  }
  if (fatal) throw fatal;
  return { points };
}
