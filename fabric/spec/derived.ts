// Figures derived from a fabric spec — computed, never typed in. Aggregates are over the logical program rectangle
// (the tiles software can use); `physical*` adds the spare rows/columns.
import type { FabricSpec } from './schema.js';

export interface FabricDerived {
  /** Tiles in the logical program rectangle (width × height). */
  tiles: number;
  /** Tiles on the physical grid including spares ((width + spareColumns) × (height + spareRows)). */
  physicalTiles: number;
  /** Dense FMAC peak per dtype: tiles × SIMD width × 2 FLOP × clock. */
  peakFlopsPerSecond: { f16: number; f32: number; int8: number };
  /** SRAM capacity of the rectangle. */
  sramBytes: number;
  /** (reads + writes per cycle) × access width × clock, one tile. */
  sramBytesPerSecondPerTile: number;
  /** Aggregate over the rectangle. */
  sramBytesPerSecond: number;
  /** Aggregate over the physical grid (spares have SRAM too). */
  physicalSramBytesPerSecond: number;
  /** One link, one direction: wavelet bits × clock. */
  linkBitsPerSecond: number;
  /** Distinct mesh links between neighbours in the rectangle ((w-1)·h + w·(h-1)). */
  meshLinks: number;
  /** Every distinct mesh link, both directions. */
  meshLinkBitsPerSecond: number;
  /**
   * The vendor's way of counting fabric bandwidth (docs/hardware.md#consistency-checks derived check): every tile's 4 mesh ports, in and out,
   * = tiles × 4 × 2 × link bits/s. It counts each physical link twice (once at each end), so it is ≈ 2× meshLinkBitsPerSecond.
   */
  fabricBitsPerSecond: number;
  /** Links crossing the cut that halves the rectangle across its longer side (min(w, h) links), both directions. */
  bisectionBitsPerSecond: number;
}

export function deriveFabric(spec: FabricSpec): FabricDerived {
  const w = spec.widthTiles;
  const h = spec.heightTiles;
  const tiles = w * h;
  const physicalTiles = (w + spec.spareColumns) * (h + spec.spareRows);
  const flops = (simd: number): number => tiles * simd * 2 * spec.clockHz;
  const sramBytesPerSecondPerTile = (spec.sramReadsPerCycle + spec.sramWritesPerCycle) * spec.sramAccessBytes * spec.clockHz;
  const linkBitsPerSecond = spec.waveletBits * spec.clockHz;
  const meshLinks = (w - 1) * h + w * (h - 1);
  return {
    tiles,
    physicalTiles,
    peakFlopsPerSecond: { f16: flops(spec.simdWidth.f16), f32: flops(spec.simdWidth.f32), int8: flops(spec.simdWidth.int8) },
    sramBytes: tiles * spec.sramBytesPerTile,
    sramBytesPerSecondPerTile,
    sramBytesPerSecond: tiles * sramBytesPerSecondPerTile,
    physicalSramBytesPerSecond: physicalTiles * sramBytesPerSecondPerTile,
    linkBitsPerSecond,
    meshLinks,
    meshLinkBitsPerSecond: meshLinks * 2 * linkBitsPerSecond,
    fabricBitsPerSecond: tiles * 4 * 2 * linkBitsPerSecond,
    bisectionBitsPerSecond: Math.min(w, h) * 2 * linkBitsPerSecond,
  };
}
