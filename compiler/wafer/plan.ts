// The logical plan: every tile the model needs, with its buffers and data-triggered tasks, and every stream
// (a source tile sending to one or more destination tiles). Nothing here knows where a tile sits or which colour a
// stream gets: `place`, `route` and `colour` decide that, and `emit` substitutes colours for stream ids.
import type { BufferDecl, BufferDtype, BufferInit, Op, Slice, Task, Trigger } from '../../fabric/isa/types.js';

export interface LogicalTile {
  id: number;
  /** e.g. "L2.mlp.gu[3,1]" — layer, unit, block. */
  role: string;
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
}

export interface StreamDecl {
  id: number;
  /** Source tiles: one for a multicast; several for a converging stream whose sources never send in the same step
   *  (embedding rows), or whose wavelets the receiver does not need in order. */
  src: number[];
  dst: number[];
  /** Wavelets per step when it carries data (for the cost estimate). */
  wavelets: number;
  label: string;
}

export class PlanBuilder {
  readonly tiles: LogicalTile[] = [];
  readonly streams: StreamDecl[] = [];

  tile(role: string, group: string): LogicalTile {
    const t: LogicalTile = { id: this.tiles.length, role, group, buffers: [], tasks: [] };
    this.tiles.push(t);
    return t;
  }

  buffer(t: LogicalTile, name: string, dtype: BufferDtype, length: number, init: BufferInit, role: BufferDecl['role']): string {
    if (t.buffers.some((b) => b.name === name)) throw new Error(`plan: buffer ${name} declared twice on ${t.role}`);
    t.buffers.push({ name, dtype, length, init, role });
    return name;
  }

  stream(src: number[], dst: number[], wavelets: number, label: string): StreamDecl {
    const s: StreamDecl = { id: this.streams.length, src, dst, wavelets, label };
    this.streams.push(s);
    return s;
  }

  task(t: LogicalTile, trigger: Trigger, ops: Op[], label: string): Task {
    const task: Task = { id: t.tasks.length, trigger, ops, label };
    t.tasks.push(task);
    return task;
  }

  /** A task on `t` triggered when `stream` delivers `count` wavelets into `into`. */
  recv(t: LogicalTile, stream: StreamDecl, into: Slice, ops: Op[], label: string): Task {
    return this.task(t, { on: 'recv', colour: stream.id, count: into.length, into }, ops, label);
  }
}

export const slice = (buf: string, offset: number, length: number): Slice => ({ buf, offset, length });
export const zeros: BufferInit = { kind: 'zeros' };
