// The sweep's progress line on stderr: points done of the total, the rate since this run started, and the time
// left at that rate. Like every bar of wafer it draws only on a terminal, never with --json or --quiet, and only once
// the work has taken 2 s.
import type { GlobalOptions } from '../io/output.js';

export interface SweepProgress {
  /** `done` of `total` points are recorded; `fresh` of them were computed by this run (the rate counts only those). */
  update(done: number, total: number, fresh: number): void;
  end(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The text of the line: "[####......] 120/400 points, 3.2/s, 1m27s left". */
export function progressLine(done: number, total: number, fresh: number, elapsedSeconds: number, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const rate = elapsedSeconds > 0 ? fresh / elapsedSeconds : 0;
  const left = rate > 0 ? formatDuration((total - done) / rate) : '?';
  return `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}] ${done}/${total} points, ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)}/s, ${left} left`;
}

export function sweepProgress(g: GlobalOptions, opts: { stream?: { write(s: string): unknown; isTTY?: boolean }; now?: () => number; afterMs?: number } = {}): SweepProgress {
  const stream = opts.stream ?? process.stderr;
  if (g.json || g.quiet || stream.isTTY !== true) return { update() {}, end() {} };
  const now = opts.now ?? (() => performance.now());
  const afterMs = opts.afterMs ?? 2000;
  const start = now();
  let drawn = false;
  return {
    update(done, total, fresh) {
      const ms = now() - start;
      if (!drawn && ms < afterMs) return;
      drawn = true;
      stream.write(`\r\x1b[2Ksweep ${progressLine(done, total, fresh, ms / 1000)}`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
