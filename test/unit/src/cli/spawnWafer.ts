// Runs the real `wafer` CLI (node bin/wafer.mjs) as a user would, and returns its exit code and both streams. At most
// two run at once: each start costs ~0.5–1 s of CPU on a 2-core machine shared with other test files.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../..', import.meta.url)).replace(/\/$/, '');
const BIN = resolve(REPO, 'bin/wafer.mjs');

export interface WaferResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MAX_RUNNING = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function slot(): Promise<() => void> {
  if (running >= MAX_RUNNING) await new Promise<void>((r) => waiting.push(r));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/** `wafer ...args` in `cwd` (default: the repository), stdin closed, stderr not a terminal. */
export async function wafer(args: string[], opts: { cwd?: string } = {}): Promise<WaferResult> {
  const release = await slot();
  try {
    return await new Promise<WaferResult>((done, fail) => {
      execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO, maxBuffer: 1 << 26, timeout: 120_000 }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return fail(error);
        done({ code: error ? (error.code as number) : 0, stdout, stderr });
      });
    });
  } finally {
    release();
  }
}
