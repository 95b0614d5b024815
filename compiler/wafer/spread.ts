// The spread search: shrink the per-tile buffer budget (smaller blocks, more tiles) until the model takes about a
// target number of tiles. `wafer compile --spread` and the projection's `spread` both search this way.

/** Smallest per-tile buffer budget the spread search tries (blocks below this are all overhead). */
export const MIN_SPREAD_BUDGET_BYTES = 4096;

export interface SpreadSearch<T> {
  /** A feasible budget (its tiles within the target) and what it built. */
  hi: number;
  hiTiles: number;
  built: T;
  /** An infeasible budget, or one too small for some matrix (default MIN_SPREAD_BUDGET_BYTES). */
  lo?: number;
  /** The most tiles a build may take. */
  target: number;
  /** Builds tried at most. */
  steps: number;
  /** Keep searching while the best build so far takes this few tiles. */
  more: (hiTiles: number) => boolean;
  /** Aim each try where tiles grow as 1 / budget (inside the bracket); false: bisect. */
  aim: boolean;
  /** The build at a budget and the tiles it takes, or null where the budget is too small for some matrix. */
  build: (budgetBytes: number) => { built: T; tiles: number } | null;
}

/**
 * A search on the tile budget between a feasible one (hi: no more tiles than the target) and an infeasible one (lo),
 * stopping when the bracket is within 256 bytes. Returns the smallest feasible budget found and its build.
 */
export function searchSpread<T>(s: SpreadSearch<T>): { budgetBytes: number; built: T } {
  let { hi, hiTiles, built } = s;
  let lo = s.lo ?? MIN_SPREAD_BUDGET_BYTES;
  for (let it = 0; it < s.steps && s.more(hiTiles) && hi - lo > 256; it++) {
    let budget = Math.floor((lo + hi) / 2);
    if (s.aim) {
      // Tiles grow about as 1 / budget: aim there, but stay inside the bracket.
      budget = Math.floor((hi * hiTiles) / s.target);
      if (budget <= lo || budget >= hi) budget = Math.floor((lo + hi) / 2);
    }
    const next = s.build(budget);
    if (next && next.tiles <= s.target) {
      hi = budget;
      hiTiles = next.tiles;
      built = next.built;
    } else lo = budget;
  }
  return { budgetBytes: hi, built };
}
