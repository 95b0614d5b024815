// The results directory and the embedded run: records appended as points finish, a partial last line (a process
// killed mid-write) cut off on the next open, a run stopped half-way resumed without redoing or losing a point, and
// the pool's records the same as the points computed here on the main thread.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { catchInputError } from '../../inputError.js';
import { runEmbedded } from '../../../../src/sweep/embedded.js';
import { createPointPool } from '../../../../src/sweep/pool.js';
import { planSweep } from '../../../../src/sweep/plan.js';
import { runPoint, type SweepRecord } from '../../../../src/sweep/runPoint.js';
import { parseSweepText } from '../../../../src/sweep/schema.js';
import { RECORDS_FILE, ResultStore, readRecords } from '../../../../src/sweep/store.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-sweep-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GPU = { name: 'store-test', studies: [{ run: 'gpu', axes: { model: ['toy-moe', 'toy-dense'], gpu: ['h100'], gpus: [1, 2], batch: [1, 8] } }] };
const plan = planSweep(parseSweepText(JSON.stringify(GPU), 's.json'), 's.json');
const record = (i: number): SweepRecord => ({ key: plan.points[i].key, kind: 'gpu', params: plan.points[i].params, outputs: { gpus: i }, error: null });

describe('ResultStore', () => {
  it('appends one line per record, skips a key it holds, and reopens with what was written', () => {
    const dir = join(root, 'a');
    const s = ResultStore.open(dir, plan);
    expect([s.add(record(0)), s.add(record(1)), s.add(record(0))]).toEqual([true, true, false]);
    s.close();
    expect(readFileSync(join(dir, RECORDS_FILE), 'utf8').split('\n')).toHaveLength(3);
    const again = ResultStore.open(dir, plan);
    expect([again.size, again.has(plan.points[1].key), again.has(plan.points[2].key)]).toEqual([2, true, false]);
    again.close();
    expect(readRecords(dir)).toEqual([record(0), record(1)]);
  });

  it('cuts the partial line a killed process left, and keeps every complete one', () => {
    const dir = join(root, 'b');
    const s = ResultStore.open(dir, plan);
    s.add(record(0));
    s.close();
    appendFileSync(join(dir, RECORDS_FILE), JSON.stringify(record(1)).slice(0, 40));
    const again = ResultStore.open(dir, plan);
    expect(again.size).toBe(1);
    again.add(record(2));
    again.close();
    expect(readRecords(dir)).toEqual([record(0), record(2)]);
  });

  it('refuses a directory of another sweep, a damaged line, and a file where the directory goes', () => {
    const dir = join(root, 'c');
    ResultStore.open(dir, plan).close();
    const other = planSweep(parseSweepText(JSON.stringify({ ...GPU, name: 'other' }), 'o.json'), 'o.json');
    expect(catchInputError(() => ResultStore.open(dir, other)).message).toBe(`${dir} holds the results of sweep "store-test", not "other" (--out): give another directory (results of one sweep per directory)`);
    writeFileSync(join(dir, RECORDS_FILE), `${JSON.stringify(record(0))}\n{oops\n${JSON.stringify(record(1))}\n`);
    expect(catchInputError(() => ResultStore.open(dir, plan)).message).toMatch(/^line 2 is not a record \(.*records\.jsonl\): /);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'sweep.json'), '{"mine": true}');
    expect(catchInputError(() => ResultStore.open(foreign, plan)).message).toMatch(/sweep\.json is not the record of a wafer sweep \(--out\): give a directory of its own/);
    expect(readFileSync(join(foreign, 'sweep.json'), 'utf8')).toBe('{"mine": true}');
    expect(catchInputError(() => ResultStore.open(join(root, 'no', 'such'), plan)).message).toMatch(/^the directory .*no does not exist \(--out .*such\): create it first/);
    const file = join(root, 'afile');
    writeFileSync(file, 'x');
    expect(catchInputError(() => ResultStore.open(file, plan)).message).toBe(`${file} is a file (--out): give a directory for the results`);
  });
});

describe('runEmbedded', () => {
  it('stopped after two points and run again: every point once, none redone, the records the main thread computes', async () => {
    const dir = join(root, 'run');
    const stop = new AbortController();
    // One pool for both runs (a pool's start is most of this test's time); each run stops using it when it ends.
    const pool = createPointPool(1);
    const first = ResultStore.open(dir, plan);
    const s1 = await runEmbedded(plan, first, 1, { signal: stop.signal, onProgress: (done) => done >= 2 && stop.abort() }, pool);
    first.close();
    expect(s1.interrupted).toBe(true);
    expect(s1.computed).toBeGreaterThanOrEqual(2);
    expect(s1.computed).toBeLessThan(plan.points.length);

    const second = ResultStore.open(dir, plan);
    const s2 = await runEmbedded(plan, second, 1, {}, pool);
    second.close();
    await pool.close();
    expect([s2.already, s2.computed, s2.failed, s2.interrupted]).toEqual([s1.computed, plan.points.length - s1.computed, [], false]);
    const records = readRecords(dir);
    expect(records.map((r) => r.key).sort()).toEqual(plan.points.map((p) => p.key).sort());
    const here = await Promise.all(plan.points.map((p) => runPoint(p, p.key)));
    expect(new Map(records.map((r) => [r.key, r]))).toEqual(new Map(here.map((r) => [r.key, r])));
  });
});
