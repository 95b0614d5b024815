// The results directory of a sweep: sweep.json (what the sweep is) and records.jsonl, one record per finished point,
// appended the moment it finishes. A line is written whole with one write() call, so a process killed at any moment
// leaves at most one partial last line, which the next open cuts off; every complete line is a finished point, and
// a point whose key is already there is never computed or written again.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../fabric/errors.js';
import { assertParentFolder, writeFileAtomic } from '../io/atomicWrite.js';
import type { SweepRecord } from './runPoint.js';
import type { SweepPlan } from './plan.js';

export const RECORDS_FILE = 'records.jsonl';
export const SWEEP_FILE = 'sweep.json';

/** Records of a results directory, in the order they were written (duplicates are never written). */
export function readRecords(dir: string, option = 'results'): SweepRecord[] {
  const path = join(dir, RECORDS_FILE);
  if (!existsSync(path)) throw new InputError(`no ${RECORDS_FILE} in ${dir}`, option, 'give the directory a `wafer sweep run --out` wrote');
  return parseRecords(readFileSync(path, 'utf8'), path).records;
}

/** The complete lines of a records file; `cut` is the byte length of what they span (a partial last line is not). */
function parseRecords(text: string, where: string): { records: SweepRecord[]; cut: number } {
  const end = text.lastIndexOf('\n') + 1;
  const records: SweepRecord[] = [];
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    let r: SweepRecord;
    try {
      r = JSON.parse(line) as SweepRecord;
    } catch {
      throw new InputError(`line ${i + 1} is not a record`, where, 'restore the file from a copy, or remove that line (its point is then computed again)');
    }
    if (typeof r?.key !== 'string') throw new InputError(`line ${i + 1} has no key`, where, 'remove that line (its point is then computed again)');
    records.push(r);
  });
  return { records, cut: Buffer.byteLength(text.slice(0, end)) };
}

export interface SweepMeta {
  name: string;
  source: string;
  points: number;
}

/** An open results directory: what is done, and an append-only writer for what finishes next. */
export class ResultStore {
  private readonly done = new Map<string, SweepRecord>();
  private fd: number | null;

  private constructor(
    readonly dir: string,
    records: SweepRecord[],
    fd: number,
  ) {
    for (const r of records) this.done.set(r.key, r);
    this.fd = fd;
  }

  /**
   * Opens (or creates) `dir` for `plan`. A directory of another sweep (another name) is refused, so no one's results
   * are mixed; the same sweep resumes, whatever points its file now lists.
   */
  static open(dir: string, plan: SweepPlan, option = '--out'): ResultStore {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InputError(`${dir} is a file`, option, 'give a directory for the results');
    // The results directory itself is made here; its parent must exist (wafer does not create directories above it).
    if (!existsSync(dir)) {
      assertParentFolder(dir, option);
      mkdirSync(dir);
    }
    const metaPath = join(dir, SWEEP_FILE);
    if (existsSync(metaPath)) {
      let old: Partial<SweepMeta> | null = null;
      try {
        old = JSON.parse(readFileSync(metaPath, 'utf8')) as Partial<SweepMeta>;
      } catch {
        // not ours: refused below
      }
      if (typeof old?.name !== 'string' || typeof old.points !== 'number') throw new InputError(`${metaPath} is not the record of a wafer sweep`, option, 'give a directory of its own for the results (nothing there is overwritten)');
      if (old.name !== plan.file.name) throw new InputError(`${dir} holds the results of sweep "${old.name}", not "${plan.file.name}"`, option, 'give another directory (results of one sweep per directory)');
    }
    const path = join(dir, RECORDS_FILE);
    const { records, cut } = existsSync(path) ? parseRecords(readFileSync(path, 'utf8'), path) : { records: [], cut: 0 };
    const meta: SweepMeta & { file: unknown } = { name: plan.file.name, source: plan.source, points: plan.points.length, file: plan.file };
    writeFileAtomic(metaPath, JSON.stringify(meta, null, 2) + '\n', { option });
    if (existsSync(path) && statSync(path).size > cut) truncateSync(path, cut); // the partial line of a killed run
    return new ResultStore(dir, records, openSync(path, 'a'));
  }

  has(key: string): boolean {
    return this.done.has(key);
  }

  get size(): number {
    return this.done.size;
  }

  /** Appends `r` unless its key is already recorded; true when it was written. */
  add(r: SweepRecord): boolean {
    if (this.done.has(r.key)) return false;
    if (this.fd === null) throw new Error('sweep: the result store is closed');
    writeSync(this.fd, JSON.stringify(r) + '\n');
    this.done.set(r.key, r);
    return true;
  }

  records(): SweepRecord[] {
    return [...this.done.values()];
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
