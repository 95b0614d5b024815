// Resource guards: every command estimates the memory and the simulated work it is about to commit to and refuses,
// before allocating, when either is over the limit — one line naming the estimate, the limit and the flag that
// raises it. Long runs also stop at a wall-clock budget (--max-seconds). The limits are global options of `wafer`
// (src/cli.ts) parsed once here; the estimates come from the layers that know the sizes (fabric/mesh/noc.ts, …).
import { InputError } from '../../fabric/errors.js';
import { parseNumberOption } from './parse.js';

export interface ResourceLimits {
  /** Estimated peak memory a command may commit to, in bytes (--max-memory-mb). */
  readonly memoryBytes: number;
  /** Elementary simulation steps a command may commit to (--max-work): router-cycles for `noc`, tile-task-steps for `run`, … */
  readonly work: number;
  /** Wall-clock budget of a long run in seconds (--max-seconds); Infinity: none. */
  readonly seconds: number;
}

/**
 * Defaults: 4096 MB — under the 7 GB of a CI runner; 10^8 work units — at most a few minutes of simulation at the
 * 0.3–3 µs per router-cycle measured (saturated traffic is the slow end), and several times what the documented
 * examples commit to (a 16x16 noc run: 1.5·10^7 router-cycles as an upper bound; 32x32: 6·10^7).
 */
export const DEFAULT_LIMITS: ResourceLimits = Object.freeze({ memoryBytes: 4096 * 2 ** 20, work: 1e8, seconds: Infinity });

/** The global limit options as commander gives them (strings, or undefined for the defaults). */
export interface LimitOptions {
  maxMemoryMb?: string;
  maxWork?: string;
  maxSeconds?: string;
}

/** Parses --max-memory-mb, --max-work and --max-seconds (each bounded, so a limit is itself never unbounded). */
export function parseLimits(o: LimitOptions): ResourceLimits {
  return Object.freeze({
    memoryBytes: o.maxMemoryMb === undefined ? DEFAULT_LIMITS.memoryBytes : parseNumberOption(o.maxMemoryMb, '--max-memory-mb', 1, 1 << 30) * 2 ** 20,
    work: o.maxWork === undefined ? DEFAULT_LIMITS.work : parseNumberOption(o.maxWork, '--max-work', 1, 1e15),
    seconds: o.maxSeconds === undefined ? DEFAULT_LIMITS.seconds : parseNumberOption(o.maxSeconds, '--max-seconds', 0.001, 1e7),
  });
}

function megabytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${Math.ceil(bytes / 2 ** 20)} MB`;
}

/** Refuses `bytes` of estimated memory over the limit: `<what> needs an estimated X, over the Y limit (--max-memory-mb): <fix>`. */
export function guardMemory(limits: ResourceLimits, bytes: number, what: string, shrink: string): void {
  if (!(bytes <= limits.memoryBytes)) {
    const need = Number.isFinite(bytes) ? Math.ceil(bytes / 2 ** 20) : Infinity;
    throw new InputError(
      `${what} needs an estimated ${Number.isFinite(bytes) ? megabytes(bytes) : 'unbounded memory'}, over the ${megabytes(limits.memoryBytes)} limit`,
      '--max-memory-mb',
      Number.isFinite(need) && need <= 1 << 30 ? `${shrink}, or raise --max-memory-mb to ${need} if the machine has it` : shrink,
    );
  }
}

/** Refuses `units` of estimated work over the limit, naming the unit (e.g. "router-cycles"). */
export function guardWork(limits: ResourceLimits, units: number, unit: string, what: string, shrink: string): void {
  if (!(units <= limits.work)) {
    const fmt = (n: number) => (Number.isFinite(n) ? n.toExponential(2) : 'unbounded');
    throw new InputError(
      `${what} commits to ${fmt(units)} ${unit}, over the limit of ${fmt(limits.work)}`,
      '--max-work',
      units <= 1e15 ? `${shrink}, or raise --max-work to ${fmt(Math.ceil(units))}` : shrink,
    );
  }
}

/** A check for long loops: throws an InputError once `limits.seconds` have passed since the call. */
export function deadline(limits: ResourceLimits, now: () => number = () => performance.now()): () => void {
  if (!Number.isFinite(limits.seconds)) return () => {};
  const end = now() + limits.seconds * 1000;
  return () => {
    if (now() > end) throw new InputError(`stopped after the ${limits.seconds} s budget`, '--max-seconds', 'raise --max-seconds, or ask for less work');
  };
}
