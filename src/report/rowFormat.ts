// How a comparison row's figures read in a table, for the terminal (`wafer compare`) and the lab page alike; only the
// mark for a missing figure differs (ASCII in a terminal, an en dash on a page).
import type { CompareRow } from '../study/compare.js';

export interface RowFormat {
  num(v: number | null): string;
  pct(f: number): string;
  seconds(s: number | null): string;
  devices(r: CompareRow): string;
}

export function rowFormat(missing: string): RowFormat {
  return {
    num: (v) => (v === null ? missing : v >= 100 ? v.toFixed(0) : v.toPrecision(3)),
    pct: (f) => `${Math.round(100 * f)}%`,
    seconds(s) {
      if (s === null) return missing;
      if (s >= 1) return `${s.toFixed(2)} s`;
      if (s >= 1e-3) return `${(s * 1e3).toFixed(1)} ms`;
      return `${(s * 1e6).toFixed(0)} µs`;
    },
    devices(r) {
      if (r.gpus !== null) return `${r.gpus} GPU${r.gpus > 1 ? 's' : ''}`;
      if (r.wafers !== null) return `${r.wafers} wafer${r.wafers > 1 ? 's' : ''}`;
      return missing;
    },
  };
}
