// The logical plan: every tile the model needs, with its buffers and data-triggered tasks, and every stream
// (a source tile sending to one or more destination tiles). Nothing here knows where a tile sits or which colour a
// stream gets: `place`, `route` and `colour` decide that, and `emit` substitutes colours for stream ids.
import type { BufferDecl, BufferDtype, BufferInit, Op, Slice, Task, Trigger } from '../../fabric/isa/types.js';

/**
 * What a logical tile does: the hub slices of a half-layer (attention, MLP, an expert's own, the final norm's), a
 * block of a matvec region (q/k/v, O, router, gate+up, down, LM head), a KV head's attention tile or one of its chunk
 * tiles, a block of embedding rows, a pipeline stage's stub, or the reserved span of an expert that is not lowered; in
 * a program, also a router that only forwards (emit adds it, the plan never has one).
 */
export type TileUnit = 'embedding' | 'stage-in' | 'stage-out' | 'attn-hub' | 'mlp-hub' | 'expert-hub' | 'final-hub' | 'qkv' | 'kv' | 'qk-head' | 'kv-chunk' | 'o' | 'router' | 'gate-up' | 'down' | 'lm-head' | 'reserved-expert' | 'relay';

/** A logical tile's place in the model, as data: code reads this, never the role string (which is for people). */
export interface TileTag {
  unit: TileUnit;
  /** Decoder layer; null for the embedding, the final norm and LM head, and stage stubs. */
  layer: number | null;
  /** Routed expert of an MoE layer, 'shared' for a shared expert; null elsewhere. */
  expert: number | 'shared' | null;
  /**
   * Position within the unit: [block row, block column] of a region block; [slice] of a hub or stage stub; [KV head]
   * of an attention tile; [KV head, chunk] of a chunk tile; [KV head, head] of a q/k head tile (head = group: the k
   * head); [first, last] rows-block of embedding tiles.
   */
  index: readonly number[];
}

/** The tag of a tile outside any layer. */
export const modelTag = (unit: TileUnit, index: readonly number[] = []): TileTag => ({ unit, layer: null, expert: null, index });

/**
 * How a stream moves data, for the estimate's attribution of serialisation: partial sums up a reduction tree, x fanned
 * out to a region's block column or q to a head's chunk tiles, a hub slice's part of x to a chosen expert, or any
 * other transfer (gathers, residuals, totals multicast back, stage and embedding rows).
 */
export type StreamKind = 'reduce' | 'broadcast' | 'dispatch' | 'transfer';

export interface LogicalTile {
  id: number;
  /** e.g. "L2.mlp.gu[3,1]" — for people only: code reads `tag`. */
  role: string;
  tag: TileTag;
  /** Placement group: tiles of one group are laid out together, groups in dataflow order. */
  group: string;
  buffers: BufferDecl[];
  /** Ops and triggers carry STREAM ids in their colour fields until emit. */
  tasks: Task[];
  /**
   * Mesh tiles it occupies in the placement scan (default 1): the projection reserves the tiles of an expert it does
   * not lower, or of a tile whose buffers overflow one tile's SRAM, this way.
   */
  span?: number;
  /**
   * The row of its scan column it asks for (0 … BAND_ROWS − 1, place.ts): tiles that ask place at those rows of the
   * column they land in, the others fill the rest in scan order. Hub slice j (and the stub standing for the next
   * stage's) asks for row j where a hub has at most BAND_ROWS slices, so that every hub's slice j sits in one row of
   * the band whichever way the scan runs there and whichever column the hub starts in: what passes from a hub's slices
   * to the next hub's runs along rows of its own, and the slices' streams leave on different rows.
   */
  row?: number;
}

export interface StreamDecl {
  id: number;
  /** Source tiles: one for a multicast; several for a converging stream whose sources never send in the same step
   *  (embedding rows), or whose wavelets the receiver does not need in order. */
  src: number[];
  dst: number[];
  /** Wavelets per step when it carries data (for the cost estimate). */
  wavelets: number;
  kind: StreamKind;
  /** For people only (errors, traces): code reads `kind`. */
  label: string;
}

export class PlanBuilder {
  readonly tiles: LogicalTile[] = [];
  readonly streams: StreamDecl[] = [];

  tile(role: string, group: string, tag: TileTag): LogicalTile {
    const t: LogicalTile = { id: this.tiles.length, role: flat(role), tag, group, buffers: [], tasks: [] };
    this.tiles.push(t);
    return t;
  }

  buffer(t: LogicalTile, name: string, dtype: BufferDtype, length: number, init: BufferInit, role: BufferDecl['role']): string {
    const buffers = t.buffers;
    for (let i = 0; i < buffers.length; i++) if (buffers[i].name === name) throw new Error(`plan: buffer ${name} declared twice on ${t.role}`);
    buffers.push({ name, dtype, length, init, role });
    return name;
  }

  stream(src: number[], dst: number[], wavelets: number, kind: StreamKind, label: string): StreamDecl {
    const s: StreamDecl = { id: this.streams.length, src, dst, wavelets, kind, label: flat(label) };
    this.streams.push(s);
    return s;
  }

  task(t: LogicalTile, trigger: Trigger, ops: Op[], label: string): Task {
    const task: Task = { id: t.tasks.length, trigger, ops, label: flat(label) };
    t.tasks.push(task);
    return task;
  }

  /**
   * A task on `t` after tasks `after` whose ops take what `got` receives as it lands (Task.streams) and, where
   * `forwards`, pass it on as they do (Task.forwards). Made with those fields rather than given them later, which would
   * give each such task a property array of its own besides.
   */
  merge(t: LogicalTile, after: number[], got: Task, ops: Op[], label: string, forwards: boolean): Task {
    const id = t.tasks.length;
    const trigger: Trigger = { on: 'after', tasks: after };
    const task: Task = forwards ? { id, trigger, ops, label: flat(label), streams: got.id, forwards } : { id, trigger, ops, label: flat(label), streams: got.id };
    t.tasks.push(task);
    return task;
  }

  /** A task on `t` triggered when `stream` delivers `count` wavelets into `into`. */
  recv(t: LogicalTile, stream: StreamDecl, into: Slice, ops: Op[], label: string): Task {
    return this.task(t, { on: 'recv', colour: stream.id, count: into.length, into }, ops, label);
  }
}

/**
 * `s` as one flat string. A template literal builds a label as a tree of cons strings (`lm_head.red12.3>2` is five of
 * them); reading a character has V8 flatten it in place, after which the GC drops the tree. A wafer's plan holds
 * ~10^5 roles and labels.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

/** Slices are values: the lowering shares one object among ops and tiles where they are equal (none is written to). */
export const slice = (buf: string, offset: number, length: number): Slice => ({ buf, offset, length });
export const zeros: BufferInit = { kind: 'zeros' };
