// SRAM accounting for ISA programs: the byte sizes the load-time check uses, exported so the compiler budgets with
// exactly the same numbers (docs/design.md#two-levels-of-truth: never two formulas that can drift).
import type { BufferDecl, BufferDtype, TileProgram } from './types.js';

/** Bytes per element of a buffer dtype. */
export function dtypeBytes(dtype: BufferDtype): number {
  switch (dtype) {
    case 'f32':
    case 'i32':
      return 4;
    case 'bf16':
    case 'f16':
      return 2;
    case 'int8':
      return 1;
  }
}

/** A buffer's SRAM footprint: length × dtype size, rounded up to 4 bytes (SRAM words are 32-bit). */
export function bufferBytes(decl: Pick<BufferDecl, 'dtype' | 'length'>): number {
  return Math.ceil((decl.length * dtypeBytes(decl.dtype)) / 4) * 4;
}

/**
 * A tile's SRAM use in bytes: the sum of its buffers' footprints. Router input queues are router hardware, not SRAM,
 * in this model (an assumption: the SDK's queues are "small" hardware FIFOs, docs/hardware.md#tasks-and-queues), so nothing else is counted.
 */
export function tileSramBytes(tile: Pick<TileProgram, 'buffers'>): number {
  let sum = 0;
  for (const b of tile.buffers) sum += bufferBytes(b);
  return sum;
}

/** SRAM use by role (weights, activation, kv-cache, scratch), for reports. */
export function tileSramBytesByRole(tile: Pick<TileProgram, 'buffers'>): Record<BufferDecl['role'], number> {
  const out: Record<BufferDecl['role'], number> = { weights: 0, activation: 0, 'kv-cache': 0, scratch: 0 };
  for (const b of tile.buffers) out[b.role] += bufferBytes(b);
  return out;
}
