// Seeded fault generators, on their own random stream (random.ts, stream "faults").
//
// Density D = defects per tile. Each defect lands on one tile and becomes, by the split below, a dead tile, a dead
// core (router still forwards) or a dead link (one of that tile's links, chosen uniformly).
//
// Split (assumption): 80% dead tiles, 15% dead cores, 5% dead links. Reasoning: a tile is ~half SRAM, half logic
// (docs/hardware.md#wafer-chip, HC34 core ~38,000 µm²); the unit of redundancy is the whole tile (docs/hardware.md#defects-and-redundancy: a defective core is
// bypassed), so most defects retire a tile; a defect confined to the compute engine or its SRAM leaves the router
// usable (dead core); the links and router wiring are a small share of the area (dead link). Configurable.
//
// uniform:   exactly round(D × tiles) defect sites, distinct tiles drawn uniformly (partial Fisher–Yates).
// clustered: Stapper's negative-binomial yield model. The mesh is cut into square regions of `regionSide` tiles;
//            each region r draws a local defect density λ_r ~ Gamma(shape α, scale D/α) (mean D, variance D²/α), and
//            each tile of the region is a defect site with probability min(1, λ_r). The defect count of a region of
//            A tiles is then (≈) Poisson(A·λ_r) mixed over the gamma = negative binomial, and the probability that a
//            region is defect-free is Stapper's yield Y = (1 + A·D/α)^(−α). Small α = strong clustering (defects
//            pile up in a few regions, more regions are clean); α → ∞ tends to the uniform (Poisson) case.
import { InputError, OptionError } from '../errors.js';
import { neighbour } from '../geometry.js';
import { FaultMap } from './faultMap.js';
import { Mulberry32, streamSeed } from './random.js';

export interface FaultSplit {
  /** Fraction of defects that kill only the core (router forwards). */
  coreFraction: number;
  /** Fraction of defects that kill one link. The rest kill the whole tile. */
  linkFraction: number;
}

export const DEFAULT_FAULT_SPLIT: Readonly<FaultSplit> = Object.freeze({ coreFraction: 0.15, linkFraction: 0.05 });

export interface FaultGenOptions {
  width: number;
  height: number;
  /** Defects per tile, in [0, 1]. */
  density: number;
  seed: number;
  /** Negative-binomial clustering parameter α > 0; absent = uniform. */
  clusterAlpha?: number;
  /** Side of a clustering region in tiles (default 4). */
  regionSide?: number;
  split?: FaultSplit;
}

function validate(o: FaultGenOptions): void {
  if (!Number.isFinite(o.density) || o.density < 0 || o.density > 1) {
    throw new OptionError('density', `fault density ${o.density} is out of range`, 'give a fraction of tiles in [0, 1], e.g. 0.03');
  }
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new OptionError('seed', `seed ${o.seed} is not a non-negative integer`, 'give a whole number ≥ 0');
  if (o.clusterAlpha !== undefined && (!Number.isFinite(o.clusterAlpha) || o.clusterAlpha <= 0)) {
    throw new OptionError('clusterAlpha', `clustering parameter ${o.clusterAlpha} must be positive`, 'give α > 0 (small α = strong clustering, e.g. 0.5; large α ≈ uniform)');
  }
  if (o.regionSide !== undefined && (!Number.isInteger(o.regionSide) || o.regionSide < 1)) {
    throw new InputError(`region side ${o.regionSide} must be a positive integer`, 'regionSide', 'give at least 1 tile');
  }
  const s = o.split ?? DEFAULT_FAULT_SPLIT;
  if (!(s.coreFraction >= 0 && s.linkFraction >= 0 && s.coreFraction + s.linkFraction <= 1)) {
    throw new InputError(`fault split core ${s.coreFraction} + link ${s.linkFraction} is not a partition`, 'split', 'give non-negative fractions summing to at most 1');
  }
}

/** Defect sites (tile indices, in draw order) for the chosen model. */
function defectSites(o: FaultGenOptions, rng: Mulberry32): number[] {
  const tiles = o.width * o.height;
  if (o.clusterAlpha === undefined) {
    const k = Math.round(o.density * tiles);
    const order = new Int32Array(tiles);
    for (let i = 0; i < tiles; i++) order[i] = i;
    const sites: number[] = [];
    for (let n = 0; n < k; n++) {
      const j = n + rng.int(tiles - n);
      const t = order[n];
      order[n] = order[j];
      order[j] = t;
      sites.push(order[n]);
    }
    return sites;
  }
  const side = o.regionSide ?? 4;
  const alpha = o.clusterAlpha;
  const sites: number[] = [];
  for (let ry = 0; ry < o.height; ry += side) {
    for (let rx = 0; rx < o.width; rx += side) {
      const lambda = o.density === 0 ? 0 : Math.min(1, rng.gamma(alpha, o.density / alpha));
      for (let y = ry; y < Math.min(ry + side, o.height); y++) {
        for (let x = rx; x < Math.min(rx + side, o.width); x++) {
          if (rng.next() < lambda) sites.push(y * o.width + x);
        }
      }
    }
  }
  return sites;
}

/** A seeded fault map: uniform at `density`, or clustered when `clusterAlpha` is given. Same options → same map. */
export function generateFaults(o: FaultGenOptions): FaultMap {
  validate(o);
  const rng = new Mulberry32(streamSeed(o.seed, o.clusterAlpha === undefined ? 'faults/uniform' : 'faults/clustered'));
  const split = o.split ?? DEFAULT_FAULT_SPLIT;
  const map = new FaultMap(o.width, o.height);
  for (const i of defectSites(o, rng)) {
    const u = rng.next();
    if (u < split.linkFraction) {
      // One of the tile's existing links, not already dead; a tile with none left loses its core instead.
      const live: number[] = [];
      for (let p = 1; p <= 4; p++) if (neighbour(i, p, o.width, o.height) >= 0 && map.linkDead[i * 5 + p] === 0) live.push(p);
      if (live.length > 0) {
        map.killLink(i, live[rng.int(live.length)]);
        continue;
      }
      if (map.tileDead[i] === 0) map.coreDead[i] = 1;
    } else if (u < split.linkFraction + split.coreFraction) {
      if (map.tileDead[i] === 0) map.coreDead[i] = 1;
    } else {
      map.tileDead[i] = 1;
      map.coreDead[i] = 0;
    }
  }
  return map;
}

/** Stapper's negative-binomial yield: probability that an area of `areaTiles` has no defect at density D, clustering α. */
export function stapperYield(areaTiles: number, density: number, alpha: number): number {
  return Math.pow(1 + (areaTiles * density) / alpha, -alpha);
}
