// Partition: split a weight matrix (rows = outDim, cols = inDim) into blocks that fit a tile beside their buffers.
// Block (i, j) covers rows [i·br, …) and cols [j·bc, …). Tile column i of the region holds block-row i (its partial
// sums reduce over j into y_i); tile row j holds block-column j (it needs input slice x_j).
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { MXFP4_BLOCK, MXFP4_BLOCK_BYTES } from '../../kernels/mxfp4.js';

export type ProgramDtype = 'f32' | 'bf16' | 'int8';

export function dtypeBytes(dtype: ProgramDtype): number {
  return dtype === 'f32' ? 4 : dtype === 'bf16' ? 2 : 1;
}

export interface BlockGrid {
  rows: number;
  cols: number;
  /** Block rows and columns (the last block may be smaller). */
  br: number;
  bc: number;
  /** Number of block rows (output slices, reduce roots) and block columns (input slices). */
  gr: number;
  gc: number;
}

export interface PartitionRequest {
  rows: number;
  cols: number;
  dtype: ProgramDtype;
  /** How many weight matrices of this shape share one tile (gate and up together: 2). */
  matricesPerTile: number;
  /** Bytes a tile may spend on this block and its buffers. */
  budgetBytes: number;
  /** Forced input slice width (aligned with the producer's output slices), or 0 for free. */
  forcedBc: number;
  /** With forcedBc 0: the input slice width must divide this (block columns nest in a producer's slices), or 0 / absent. */
  bcDivides?: number;
  /** Block rows must not cross multiples of this (a head's rows), or 0. */
  rowAlign: number;
  /** Upper bounds on gr and gc (colour budget of a single consumer / producer tile), or Infinity. */
  maxGr: number;
  maxGc: number;
  /** Bits one stored weight takes, scales included, instead of the dtype's (MXFP4 experts: 4.25); absent: the dtype's. */
  weightBits?: number;
  /** Block columns one input stream carries (a tile holds the whole stream's x and uses its part; default 1). */
  inputGroup?: number;
}

/** Bytes one tile of the grid needs: weights (+ int8 scales), input slice, partial sums and one receive buffer per child. */
export function blockTileBytes(br: number, bc: number, dtype: ProgramDtype, matricesPerTile: number, reduceChildren: number): number {
  const round4 = (b: number) => Math.ceil(b / 4) * 4;
  const weights = matricesPerTile * (round4(br * bc * dtypeBytes(dtype)) + (dtype === 'int8' ? 4 * br : 0));
  const partial = 4 * br * matricesPerTile;
  return weights + 4 * bc + partial + reduceChildren * partial;
}

/**
 * Chooses (br, bc): the fewest tiles whose blocks fit the budget, ties broken toward squarer blocks (shorter
 * reductions and broadcasts). Returns null when no block fits (the budget is too small even for one row).
 */
export function partitionMatrix(req: PartitionRequest): BlockGrid | null {
  let best: { grid: BlockGrid; tiles: number; skew: number } | null = null;
  for (const grid of partitionCandidates(req)) {
    const tiles = grid.gr * grid.gc;
    const skew = Math.abs(Math.log(grid.br / grid.bc));
    if (!best || tiles < best.tiles || (tiles === best.tiles && skew < best.skew)) best = { grid, tiles, skew };
  }
  return best?.grid ?? null;
}

/** Every block shape that fits the request, one per candidate input slice width (see partitionMatrix). */
export function partitionCandidates(req: PartitionRequest): BlockGrid[] {
  const { rows, cols } = req;
  const out: BlockGrid[] = [];
  const bcCandidates: number[] = [];
  if (req.forcedBc > 0) bcCandidates.push(req.forcedBc);
  else if (req.bcDivides) {
    for (let m = 1; m <= Math.min(req.bcDivides, 256); m++) if (req.bcDivides % m === 0) bcCandidates.push(req.bcDivides / m);
  } else for (let gc = 1; gc <= Math.min(cols, 256); gc++) bcCandidates.push(Math.ceil(cols / gc));
  for (const bc of new Set(bcCandidates)) {
    const gc = Math.ceil(cols / bc);
    if (gc > req.maxGc) continue;
    // Largest br whose tile fits beside a receive buffer per reduce child (a tree root has ⌈log2 gc⌉); then align it.
    const children = gc > 1 ? Math.ceil(Math.log2(gc)) : 0;
    const weightRowBytes = req.weightBits !== undefined ? packedRowBytes(bc, req.weightBits) : bc * dtypeBytes(req.dtype) + (req.dtype === 'int8' ? 4 : 0);
    const perRow = req.matricesPerTile * (weightRowBytes + 4 * (1 + children));
    let br = Math.floor((req.budgetBytes - 4 * bc * (req.inputGroup ?? 1) - 64) / perRow);
    br = Math.min(br, rows);
    if (req.rowAlign > 0) {
      if (br >= req.rowAlign) br = req.rowAlign;
      else while (req.rowAlign % br !== 0) br--;
    }
    if (br < 1) continue;
    const gr = Math.ceil(rows / br);
    if (gr > req.maxGr) continue;
    out.push({ rows, cols, br, bc, gr, gc });
  }
  return out;
}

/**
 * Bytes a packed (MXFP4) block row of `bc` weights takes on its tile: `bits` per weight, or the MXFP4 layout's whole
 * blocks of 32 where more — a row whose columns start inside a block of its tensor (bc not a multiple of 32) is held
 * after zeros (the matvec's blockOffset) and can cut two blocks (kernels/mxfp4.ts).
 */
export function packedRowBytes(bc: number, bits: number): number {
  const blocks = bc % MXFP4_BLOCK === 0 ? bc / MXFP4_BLOCK : Math.ceil(bc / MXFP4_BLOCK) + 1;
  return Math.max(Math.ceil((bc * bits) / 8), blocks * MXFP4_BLOCK_BYTES);
}

/** Usable SRAM per tile for program buffers (the rest is kept for router queues and task state: assumption). */
export function tileBudgetBytes(spec: FabricSpec): number {
  return spec.sramBytesPerTile - 2048;
}
