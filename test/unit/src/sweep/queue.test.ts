// The distributed sweep against a real Redis and real worker processes (nothing mocked): two `wafer sweep worker`s,
// one SIGKILLed in the middle of a point; every point must be recorded exactly once, with the records of the embedded
// run, and the killed worker's point must have been finished by the other. Then the ways a queue run ends badly:
// no Redis, a Redis that goes away, a worker of another code version — one line, exit 2, nothing lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../../../../src/sweep/embedded.js';
import { loadSweep } from '../../../../src/sweep/plan.js';
import { parseQueueUrl, runQueued } from '../../../../src/sweep/queue.js';
import { RECORDS_FILE, ResultStore } from '../../../../src/sweep/store.js';
import type { SweepRecord } from '../../../../src/sweep/runPoint.js';
import { REPO, wafer } from '../cli/spawnWafer.js';
import { freePort, redisServerInstalled, startRedis, type RedisServer } from '../../../../src/sweep/localRedis.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-sweep-queue-'));
let redis: RedisServer | null = null;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Two mesh runs (seconds each: slow enough to be killed in), then cheap GPU estimates and NoC runs. */
const SWEEP = {
  name: 'queue-test',
  studies: [
    { run: 'mesh', axes: { model: ['toy-dense'], fabric: ['mini-32'], grid: ['20x20'], tokens: [2, 3] } },
    { run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'], gpus: [1, 2], batch: [1, 2, 4] } },
    { run: 'noc', axes: { fabric: ['mini-16'], grid: ['6x6'], rate: [0.05, 0.1], cycles: [500], warmup: [100] } },
  ],
};

function sweepFile(name: string): string {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(SWEEP));
  return path;
}

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWafer(args: string[]): Proc {
  const child = spawn(process.execPath, [join(REPO, 'bin/wafer.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, stderr: () => err, stdout: () => out, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it gives a value; the limit only catches a hang (a loaded machine starts processes slowly). */
async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 150_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const byKey = (rs: SweepRecord[]) => new Map(rs.map((r) => [r.key, r]));

// One test at a time: each starts processes, and side by side on two cores they only slow each other down.
describe.runIf(redisServerInstalled())('a sweep through BullMQ on a real Redis', () => {
  it('two workers, one SIGKILLed mid-point: every point recorded exactly once, the same records as the embedded run', async () => {
    const file = sweepFile('kill');
    const plan = loadSweep(file);
    const address = parseQueueUrl(redis!.url, 'kill');
    const embedded = (async () => {
      const store = ResultStore.open(join(root, 'embedded'), plan);
      try {
        const s = await runEmbedded(plan, store, 1);
        expect([s.computed, s.failed]).toEqual([plan.points.length, []]);
        return store.records();
      } finally {
        store.close();
      }
    })();
    const worker = (name: string) => startWafer(['sweep', 'worker', '--queue', redis!.url, '--queue-name', 'kill', '--lock-ms', '2000', '--name', name, '--verbose']);
    const [w1, w2] = [worker('w1'), worker('w2')];
    const watch = new Queue('kill', { connection: { host: '127.0.0.1', port: redis!.port } });
    try {
      // Both workers listening before the points go in, so each takes one of the two mesh runs first.
      await until('two workers', async () => (await watch.getWorkers()).length === 2);
      const store = ResultStore.open(join(root, 'queued'), plan);
      const queued = runQueued(plan, store, address);
      const killed = await until('w1 running a mesh point', async () => (await watch.getActive()).find((j) => j.processedBy === 'w1' && j.name === 'mesh'));
      // Redis marks the job active before w1's processor says so on stderr: kill it only once it has (mid-point).
      await until('w1 saying it started the point', async () => w1.stderr().includes(`w1: point ${killed.id} (mesh) started`));
      w1.child.kill('SIGKILL');
      expect((await w1.exit).signal).toBe('SIGKILL');
      const summary = await queued;
      store.close();
      expect([summary.computed, summary.already, summary.failed, summary.interrupted]).toEqual([plan.points.length, 0, [], false]);

      // Recorded exactly once: one line per point, every key of the plan.
      const lines = readFileSync(join(root, 'queued', RECORDS_FILE), 'utf8').trimEnd().split('\n');
      const records = lines.map((l) => JSON.parse(l) as SweepRecord);
      expect(records.map((r) => r.key).sort()).toEqual(plan.points.map((p) => p.key).sort());
      // The point w1 was killed in was finished by w2, after its lock lapsed.
      w2.child.kill('SIGTERM');
      const end = await w2.exit;
      expect(end.code).toBe(0);
      expect(w2.stderr()).toContain(`w2: point ${killed.id} finished`);
      expect(w1.stderr()).toContain(`w1: point ${killed.id} (mesh) started`);
      // Determinism: the same records as the embedded run, point by point.
      const fromPool = byKey(await embedded);
      expect(byKey(records)).toEqual(fromPool);
      expect(records.every((r) => r.error === null && r.outputs !== null)).toBe(true);
    } finally {
      for (const w of [w1, w2]) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await watch.close();
    }
  });

  it('no Redis there: one line, exit 2, no results directory made', async () => {
    const port = await freePort();
    const out = join(root, 'nothing');
    const r = await wafer(['sweep', 'run', sweepFile('none'), '--out', out, '--queue', `redis://127.0.0.1:${port}`], { cwd: root });
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot reach Redis: .*ECONNREFUSED.* \\(--queue redis://127\\.0\\.0\\.1:${port}\\): start redis-server there .*\\n$`));
    expect(existsSync(out)).toBe(false);
  });

  it('a worker of another code version: one line, exit 2, and it takes no point', async () => {
    const q = new Queue('mismatch', { connection: { host: '127.0.0.1', port: redis!.port } });
    try {
      await (await q.client).set('wafer:sweep:mismatch:version', '0.0.0+00000000');
      const r = await wafer(['sweep', 'worker', '--queue', redis!.url, '--queue-name', 'mismatch', '--quiet'], { cwd: root });
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toMatch(/^error: the sweep on queue mismatch was made by wafer 0\.0\.0\+00000000, this worker runs \d+\.\d+\.\d+\+[0-9a-f]{8} \(--queue redis:\/\/127\.0\.0\.1:\d+\): run the same wafer version and code on every machine .*\n$/);
    } finally {
      await q.close();
    }
  });

  it('Redis goes away mid-sweep: coordinator and worker each stop with one line and exit 2; the records stay', async () => {
    const own = (await startRedis())!;
    try {
      const out = join(root, 'lost');
      const coordinator = startWafer(['sweep', 'run', sweepFile('lost'), '--out', out, '--queue', own.url]);
      const worker = startWafer(['sweep', 'worker', '--queue', own.url, '--quiet']);
      const q = new Queue('wafer-sweep', { connection: { host: '127.0.0.1', port: own.port } });
      // Once a point is recorded, the sweep is under way on both sides.
      await until('a first record', async () => existsSync(join(out, RECORDS_FILE)) && readFileSync(join(out, RECORDS_FILE), 'utf8').includes('\n'));
      await q.close();
      await own.stop();
      const [c, w] = await Promise.all([coordinator.exit, worker.exit]);
      expect([c.code, w.code]).toEqual([2, 2]);
      expect(coordinator.stderr()).toMatch(/^error: lost the connection to Redis: .* \(--queue redis:\/\/127\.0\.0\.1:\d+\): bring Redis back and run the same command again \(finished points are kept\)\n$/);
      expect(worker.stderr()).toMatch(/^error: lost the connection to Redis: .*\n$/);
      const kept = readFileSync(join(out, RECORDS_FILE), 'utf8');
      expect(kept.endsWith('\n')).toBe(true);
      expect(kept.trimEnd().split('\n').length).toBeGreaterThanOrEqual(1);
    } finally {
      await own.stop();
    }
  });
});

describe.skipIf(redisServerInstalled())('a sweep through BullMQ', () => {
  it.skip('needs redis-server on the PATH (apt-get install redis-server); .ci/run installs it', () => {});
});
