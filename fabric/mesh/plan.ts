// The arena layout of a program: every tile's buffers at fixed byte offsets in one shared memory (so worker threads
// compute on the same bytes), and each task's slice of the per-step staging area, where send, dispatch, embed and
// output ops leave their 32-bit payloads for the network (functional values; the timing model moves references).
import { dtypeBytes } from '../isa/sram.js';
import type { BufferDtype, Op, Program } from '../isa/types.js';

/** Buffers start on 16-byte boundaries (SIMD loads); tiles on 64. */
const BUFFER_ALIGN = 16;
const TILE_ALIGN = 64;

export interface BufLoc {
  /** Byte offset in the arena. */
  byte: number;
  dtype: BufferDtype;
  length: number;
}

export interface ArenaLayout {
  /** Bytes from the arena's start to the end of the last buffer. */
  bytes: number;
  /** Where the arena starts in its memory (buffer offsets below are absolute, base included). */
  base: number;
  /** Per program tile (index into program.tiles): buffer name -> location. */
  buffers: Map<string, BufLoc>[];
  /** Per program tile, per task (program order): staging words the task writes, and each op's offset in it (-1: none). */
  stageWords: number[][];
  stageOffsets: number[][][];
}

/** Staging words an op writes: send/output: its payload; dispatch: k indices then the payload; embed: a flag then a row
 *  (its slices are runs of that row). Compute ops (sumsq, normScale, ...) stage nothing. */
export function opStageWords(op: Op): number {
  switch (op.op) {
    case 'send':
      return op.src.length;
    case 'output':
      return op.src.length;
    case 'dispatch':
      return op.indices.length + op.src.length;
    case 'embed':
      return 1 + op.cols;
    default:
      return 0;
  }
}

/** Lays the program's buffers out from byte `base` of a memory (base a multiple of 64). */
export function layoutArena(program: Program, base = 0): ArenaLayout {
  let cursor = 0;
  const buffers: Map<string, BufLoc>[] = [];
  const stageWords: number[][] = [];
  const stageOffsets: number[][][] = [];
  for (const tile of program.tiles) {
    cursor = Math.ceil(cursor / TILE_ALIGN) * TILE_ALIGN;
    const m = new Map<string, BufLoc>();
    for (const b of tile.buffers) {
      cursor = Math.ceil(cursor / BUFFER_ALIGN) * BUFFER_ALIGN;
      m.set(b.name, { byte: base + cursor, dtype: b.dtype, length: b.length });
      cursor += b.length * dtypeBytes(b.dtype);
    }
    buffers.push(m);
    const words: number[] = [];
    const offs: number[][] = [];
    for (const task of tile.tasks) {
      let w = 0;
      const o: number[] = [];
      for (const op of task.ops) {
        const n = opStageWords(op);
        o.push(n > 0 ? w : -1);
        w += n;
      }
      words.push(w);
      offs.push(o);
    }
    stageWords.push(words);
    stageOffsets.push(offs);
  }
  return { bytes: Math.max(TILE_ALIGN, Math.ceil(cursor / TILE_ALIGN) * TILE_ALIGN), base, buffers, stageWords, stageOffsets };
}
