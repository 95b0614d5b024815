// Where this process's own files are. The CLI runs either the TypeScript sources through tsx or the JavaScript that
// scripts/build-node.mjs transpiles them into under dist/node (bin/wafer.mjs takes it while it is newer than every
// source); a worker thread or child process must load the same kind as the process that starts it, and data, the
// package file and the sources themselves are found from the repository root either way.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { TSX_EXEC_ARGV } from './tsxExecArgv.js';

/** Whether this process runs the JavaScript built into dist/node (else the TypeScript sources, through tsx). */
export const BUILT = import.meta.url.endsWith('.js');

function findRoot(from: string): string {
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'src'))) return d;
    if (dirname(d) === d) throw new Error(`wafer: no package.json with src/ above ${from}`);
  }
}

/** The repository root: package.json, data/, and the sources. */
export const REPO_ROOT: string = findRoot(dirname(fileURLToPath(import.meta.url)));

/** Module `path` (from the root, no extension: 'src/workers/meshWorker') as this process runs its modules. */
export function moduleUrl(path: string): URL {
  return pathToFileURL(BUILT ? join(REPO_ROOT, 'dist', 'node', `${path}.js`) : join(REPO_ROOT, `${path}.ts`));
}

/** What a child process or piscina worker needs on its command line to load moduleUrl's modules. */
export const MODULE_EXEC_ARGV: readonly string[] = BUILT ? Object.freeze([]) : TSX_EXEC_ARGV;

/**
 * Runs module `path` in a fresh Node process, `job` as JSON its one argument: the last line it prints, parsed as
 * JSON, or why there is none (the error, signal or exit code, and the last lines of its stderr).
 */
export function runModuleChild<T>(path: string, job: unknown, timeoutMs: number): { value: T; error: null } | { value: null; error: string } {
  const r = spawnSync(process.execPath, [...MODULE_EXEC_ARGV, fileURLToPath(moduleUrl(path)), JSON.stringify(job)], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 });
  if (r.status === 0) return { value: JSON.parse(r.stdout.trim().split('\n').pop()!) as T, error: null };
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
  return { value: null, error: `${why}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}` };
}

/**
 * A worker_threads Worker running module `path` with `workerData` (`entry` added: the module's URL). A plain Worker
 * on a .ts entry fails on Node 20, so the sources start through bootstrap.mjs, which registers tsx in the worker's
 * own thread first (docs/toolchain.md#workers-in-typescript); the built JavaScript starts directly.
 */
export function startModuleWorker(path: string, workerData: Record<string, unknown> = {}, options: Omit<WorkerOptions, 'workerData'> = {}): Worker {
  const entry = moduleUrl(path);
  const data = { ...workerData, entry: entry.href };
  return BUILT ? new Worker(entry, { ...options, workerData: data }) : new Worker(pathToFileURL(join(REPO_ROOT, 'src', 'workers', 'bootstrap.mjs')), { ...options, workerData: data });
}
