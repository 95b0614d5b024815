// Load-time checks of an ISA program against a fabric spec and a fault map. Every failure is an InputError that names
// the tile as (x,y) and the field, so a compiler bug or a hand-edited program is caught before anything runs.
import { InputError, inputErrorFromZod } from '../errors.js';
import type { FabricSpec } from '../spec/schema.js';
import type { FaultMap } from '../faults/faultMap.js';
import { OPPOSITE_PORT, PORT_DX, PORT_DY, portIndex } from '../geometry.js';
import { programSchema } from './schema.js';
import { staticCheck } from './staticCheck.js';
import { mxfp4Bytes } from '../../kernels/mxfp4.js';
import { bufferBytes, tileSramBytes } from './sram.js';
import { ISA_VERSION, type KvWindow, type BufferDecl, type BufferDtype, type Op, type Program, type Slice, type Task, type TileProgram } from './types.js';

/** Parses and validates a program read from JSON (`source` is named in every message). */
export function loadProgram(json: unknown, spec: FabricSpec, faults: FaultMap | null = null, source = 'program'): Program {
  if (json && typeof json === 'object' && !Array.isArray(json) && 'isaVersion' in json) {
    const v = (json as { isaVersion: unknown }).isaVersion;
    if (v !== ISA_VERSION) {
      throw new InputError(`program is ISA version ${JSON.stringify(v)}, this engine runs version ${ISA_VERSION}`, `${source}: isaVersion`, `recompile the model with this version of wafer`);
    }
  }
  const r = programSchema.safeParse(json);
  if (!r.success) throw inputErrorFromZod(r.error, source, undefined, json);
  const program = r.data as Program;
  validateProgram(spec, program, faults, source);
  return program;
}

/** Per-dtype element kinds the ops accept. */
const FLOAT32: readonly BufferDtype[] = ['f32'];
const INT32: readonly BufferDtype[] = ['i32'];
const WORD: readonly BufferDtype[] = ['f32', 'i32'];

/**
 * Semantic checks (the program is structurally valid already, e.g. from the compiler):
 * - isaVersion; the program's mesh fits the spec's (and the fault map's);
 * - each tile inside the mesh, listed once, on a live router; a tile with buffers or tasks on a usable core;
 * - SRAM: the sum of buffer footprints (sram.ts) ≤ spec.sramBytesPerTile, the overflow named in bytes;
 * - colours: ids < spec.colours (so at most spec.colours distinct per tile);
 * - routes: one entry per (colour, from); targets distinct, not back out of `from`; every mesh hop on a live link to
 *   a live router that continues the colour from the opposite port; delivery to the ramp only where a recv trigger
 *   on that colour waits;
 * - tasks: unique ids; one recv trigger per colour; `after` names tasks of the tile; every slice and buffer
 *   reference in range with the dtype and shape its op needs; every colour a task sends on leaves the ramp by a route;
 * - host inputs name an i32 buffer; tokenOutput and logitOutputs name `output` ops;
 * - then the static check of streams and triggers (staticCheck.ts): every receive gets exactly the wavelets it counts,
 *   every trigger can fire, routes and task dependencies have no cycle — so a program that passes runs to completion.
 */
export function validateProgram(spec: FabricSpec, program: Program, faults: FaultMap | null = null, source = 'program'): void {
  if (program.isaVersion !== ISA_VERSION) {
    throw new InputError(`program is ISA version ${String(program.isaVersion)}, this engine runs version ${ISA_VERSION}`, `${source}: isaVersion`, 'recompile the model with this version of wafer');
  }
  const W = program.widthTiles;
  const H = program.heightTiles;
  if (W > spec.widthTiles || H > spec.heightTiles) {
    throw new InputError(`program mesh ${W}x${H} is larger than fabric "${spec.name}" (${spec.widthTiles}x${spec.heightTiles})`, `${source}: widthTiles/heightTiles`, `compile for ${spec.name} or pick a larger fabric`);
  }
  if (faults && (faults.width < W || faults.height < H)) {
    throw new InputError(`fault map is ${faults.width}x${faults.height}, smaller than the program mesh ${W}x${H}`, `${source}: faults`, `give a fault map of at least ${W}x${H}`);
  }
  const fw = faults ? faults.width : W;
  const byPos = new Map<number, number>();
  program.tiles.forEach((tile, k) => {
    const where = `${source}: tiles[${k}] (${tile.x},${tile.y})`;
    if (tile.x >= W || tile.y >= H) throw new InputError(`tile (${tile.x},${tile.y}) is outside the ${W}x${H} mesh`, where, `use 0 ≤ x < ${W} and 0 ≤ y < ${H}`);
    const idx = tile.y * W + tile.x;
    const before = byPos.get(idx);
    if (before !== undefined) throw new InputError(`tile (${tile.x},${tile.y}) has two programs (also tiles[${before}])`, where, 'merge them into one tile program');
    byPos.set(idx, k);
    if (faults) {
      const fi = tile.y * fw + tile.x;
      if (!faults.isRouterAlive(fi)) throw new InputError(`tile (${tile.x},${tile.y}) is dead (router and core)`, where, 'place nothing on a dead tile and route around it');
      if ((tile.buffers.length > 0 || tile.tasks.length > 0) && !faults.isTileUsable(fi)) {
        throw new InputError(`tile (${tile.x},${tile.y}) has a dead core but the program puts buffers or tasks there`, where, 'place work on usable tiles only (its router may still forward)');
      }
    }
  });
  const tileAt = (x: number, y: number): TileProgram | undefined => {
    const k = byPos.get(y * W + x);
    return k === undefined ? undefined : program.tiles[k];
  };

  const outputs = new Set<string>();
  program.tiles.forEach((tile, k) => {
    validateTile(spec, program, tile, `${source}: tiles[${k}] (${tile.x},${tile.y})`, tileAt, faults, fw, outputs);
  });

  program.hostInputs.forEach((h, k) => {
    const where = `${source}: hostInputs[${k}]`;
    const tile = h.x < W && h.y < H ? tileAt(h.x, h.y) : undefined;
    if (!tile) throw new InputError(`host input names tile (${h.x},${h.y}), which has no program`, where, 'name a tile of the program');
    const b = tile.buffers.find((d) => d.name === h.buf);
    if (!b) throw new InputError(`host input names buffer "${h.buf}", which tile (${h.x},${h.y}) does not declare`, where, 'declare the buffer on that tile');
    if (b.dtype !== 'i32') throw new InputError(`host input buffer "${h.buf}" is ${b.dtype}, a token id needs i32`, where, 'declare it as i32');
  });
  if (!outputs.has(program.tokenOutput)) {
    throw new InputError(`tokenOutput "${program.tokenOutput}" is not the name of any output op`, `${source}: tokenOutput`, 'name an output op of the program');
  }
  program.logitOutputs.forEach((l, k) => {
    if (!outputs.has(l.name)) throw new InputError(`logit output "${l.name}" is not the name of any output op`, `${source}: logitOutputs[${k}]`, 'name an output op of the program');
  });
  // Streams and triggers as a whole: every receive matched, every trigger able to fire, no cycle (staticCheck.ts).
  staticCheck(program, source);
}

function validateTile(
  spec: FabricSpec,
  program: Program,
  tile: TileProgram,
  where: string,
  tileAt: (x: number, y: number) => TileProgram | undefined,
  faults: FaultMap | null,
  fw: number,
  outputs: Set<string>,
): void {
  const W = program.widthTiles;
  const H = program.heightTiles;
  // Buffers and SRAM.
  const buffers = new Map<string, BufferDecl>();
  tile.buffers.forEach((b, k) => {
    if (buffers.has(b.name)) throw new InputError(`buffer "${b.name}" is declared twice`, `${where}: buffers[${k}]`, 'give each buffer of a tile its own name');
    buffers.set(b.name, b);
  });
  const sram = tileSramBytes(tile);
  if (sram > spec.sramBytesPerTile) {
    const biggest = [...tile.buffers].sort((a, b) => bufferBytes(b) - bufferBytes(a)).slice(0, 3).map((b) => `${b.name} ${bufferBytes(b)} B`).join(', ');
    throw new InputError(
      `tile (${tile.x},${tile.y}) needs ${sram} bytes of SRAM, the tile has ${spec.sramBytesPerTile} (over by ${sram - spec.sramBytesPerTile}; largest: ${biggest})`,
      `${where}: buffers`,
      'split the work over more tiles or use a narrower dtype',
    );
  }

  // Colours.
  // Locations (`at`) are built only for an error: a full wafer's program has ~10^6 routes and ops.
  const colourCheck = (c: number, at: () => string): void => {
    if (c >= spec.colours) throw new InputError(`colour ${c} is out of range`, at(), `use colours 0..${spec.colours - 1} (${spec.name} routes ${spec.colours})`);
  };
  tile.routes.forEach((r, k) => colourCheck(r.colour, () => `${where}: routes[${k}]`));
  const recvColours = new Map<number, number>();
  tile.tasks.forEach((t, k) => {
    if (t.trigger.on === 'recv') {
      colourCheck(t.trigger.colour, () => `${where}: tasks[${k}].trigger`);
      const before = recvColours.get(t.trigger.colour);
      if (before !== undefined) {
        throw new InputError(`two recv triggers on colour ${t.trigger.colour} (tasks ${before} and ${t.id})`, `${where}: tasks[${k}].trigger`, 'use one recv trigger per colour per tile');
      }
      recvColours.set(t.trigger.colour, t.id);
    }
    t.ops.forEach((op, j) => {
      const at = () => `${where}: tasks[${k}].ops[${j}]`;
      if (op.op === 'send') colourCheck(op.colour, at);
      if (op.op === 'dispatch' || op.op === 'embed') op.colours.forEach((c) => colourCheck(c, at));
    });
  });
  // Ids below spec.colours also bound the distinct colours per tile to spec.colours.

  // Routes.
  const routeKeys = new Set<number>();
  const rampOut = new Set<number>(); // colours delivered to this tile's CE
  const rampIn = new Set<number>(); // colours the CE may send on
  tile.routes.forEach((r, k) => {
    const at = () => `${where}: routes[${k}]`;
    const key = r.colour * 5 + portIndex(r.from);
    if (routeKeys.has(key)) throw new InputError(`two routes for colour ${r.colour} arriving from ${r.from}`, at(), 'merge them into one entry with several targets');
    routeKeys.add(key);
    if (r.to.length > 1 && new Set(r.to).size !== r.to.length) throw new InputError(`route lists a target port twice`, at(), 'list each port once');
    if (r.to.includes(r.from)) throw new InputError(`route sends colour ${r.colour} back out of the port it came in (${r.from})`, at(), 'remove that target');
    if (r.from === 'ramp') rampIn.add(r.colour);
    if (r.from !== 'ramp') {
      const p = portIndex(r.from);
      const nx = tile.x + PORT_DX[p];
      const ny = tile.y + PORT_DY[p];
      if (nx < 0 || ny < 0 || nx >= W || ny >= H) throw new InputError(`route expects colour ${r.colour} from ${r.from}, which is the mesh edge`, at(), 'route from a port with a neighbour');
    }
    for (const to of r.to) {
      if (to === 'ramp') {
        rampOut.add(r.colour);
        if (!recvColours.has(r.colour)) {
          throw new InputError(`route delivers colour ${r.colour} to the ramp, but no task of tile (${tile.x},${tile.y}) receives colour ${r.colour}`, at(), 'add a recv trigger on that colour or drop the ramp target');
        }
        continue;
      }
      const p = portIndex(to);
      const nx = tile.x + PORT_DX[p];
      const ny = tile.y + PORT_DY[p];
      if (nx < 0 || ny < 0 || nx >= W || ny >= H) throw new InputError(`route sends colour ${r.colour} ${to} off the edge of the ${W}x${H} mesh`, at(), 'route only toward tiles inside the mesh');
      if (faults && !faults.isLinkAlive(tile.y * fw + tile.x, p)) {
        throw new InputError(`route sends colour ${r.colour} ${to} over a dead link or into a dead router at (${nx},${ny})`, at(), 'route around the fault');
      }
      const next = tileAt(nx, ny);
      const back = ['ramp', 'N', 'E', 'S', 'W'][OPPOSITE_PORT[p]];
      if (!next || !next.routes.some((e) => e.colour === r.colour && e.from === back)) {
        throw new InputError(`route sends colour ${r.colour} ${to} to (${nx},${ny}), which has no route for colour ${r.colour} arriving from ${back}`, at(), `add a route entry at (${nx},${ny}) or drop this target`);
      }
    }
  });
  tile.tasks.forEach((t, k) => {
    if (t.trigger.on === 'recv' && !rampOut.has(t.trigger.colour)) {
      throw new InputError(`task ${t.id} receives colour ${t.trigger.colour}, but no route delivers that colour to this tile's ramp`, `${where}: tasks[${k}].trigger`, 'add a route entry with "ramp" among its targets');
    }
  });

  // Tasks and ops.
  const ids = new Set<number>();
  tile.tasks.forEach((t, k) => {
    if (ids.has(t.id)) throw new InputError(`task id ${t.id} is used twice`, `${where}: tasks[${k}]`, 'give each task of a tile its own id');
    ids.add(t.id);
  });
  const ctx = new OpCtx(buffers, where, program.maxSeq);
  tile.tasks.forEach((t, k) => {
    const tw = () => `${where}: tasks[${k}]`;
    if (t.trigger.on === 'after') {
      const tr = t.trigger;
      for (const id of tr.tasks) {
        if (!ids.has(id)) throw new InputError(`"after" names task ${id}, which tile (${tile.x},${tile.y}) does not have`, `${tw()}.trigger`, 'name tasks of the same tile');
        if (id === t.id) throw new InputError(`task ${t.id} waits for itself`, `${tw()}.trigger`, 'remove it from its own "after" list');
      }
      if (new Set(tr.tasks).size !== tr.tasks.length) throw new InputError(`"after" lists a task twice`, `${tw()}.trigger`, 'list each task once');
      if (tr.count !== undefined && tr.count > tr.tasks.length) {
        throw new InputError(`"after" waits for ${tr.count} of ${tr.tasks.length} tasks`, `${tw()}.trigger`, `use a count of at most ${tr.tasks.length}`);
      }
    }
    if (t.streams !== undefined) {
      const tr = t.trigger;
      const src = tile.tasks.find((x) => x.id === t.streams);
      if (tr.on !== 'after' || tr.count !== undefined || !tr.tasks.includes(t.streams) || src?.trigger.on !== 'recv') {
        throw new InputError(`task ${t.id} streams from task ${t.streams}, which is not a recv task it waits for`, `${tw()}.streams`, 'name a recv task of this tile listed in this task\'s "after" tasks (with no count)');
      }
    }
    if (t.forwards === true) checkForwarding(t, tile.tasks, tw());
    if (t.trigger.on === 'recv') {
      ctx.at(k, -1, '');
      const into = slice(ctx, t.trigger.into, WORD, 'into');
      if (into.length < t.trigger.count) {
        throw new InputError(`recv of ${t.trigger.count} wavelets into a slice of ${into.length}`, `${tw()}.trigger`, 'make the slice at least as long as the count');
      }
    }
    t.ops.forEach((op, j) => {
      ctx.at(k, j, op.op);
      validateOp(ctx, op, rampIn, outputs);
    });
  });
}

/** What an op's checks read; `where` (the op's location, for errors) is built only when read. */
class OpCtx {
  private task = 0;
  private op = -1;
  private opName = '';
  constructor(
    readonly buffers: Map<string, BufferDecl>,
    private readonly tileWhere: string,
    readonly maxSeq: number,
  ) {}
  /** Task k's op j (-1: its recv trigger's slice). */
  at(task: number, op: number, opName: string): void {
    this.task = task;
    this.op = op;
    this.opName = opName;
  }
  get where(): string {
    const tw = `${this.tileWhere}: tasks[${this.task}]`;
    return this.op < 0 ? `${tw}.trigger.into` : `${tw}.ops[${this.op}] (${this.opName})`;
  }
}

function buffer(ctx: OpCtx, name: string, field: string): BufferDecl {
  const b = ctx.buffers.get(name);
  if (!b) throw new InputError(`${field} names buffer "${name}", which the tile does not declare`, ctx.where, 'declare the buffer or fix the name');
  return b;
}

function slice(ctx: OpCtx, s: Slice, dtypes: readonly BufferDtype[], field: string, length?: number): Slice {
  const b = buffer(ctx, s.buf, field);
  if (s.offset + s.length > b.length) {
    throw new InputError(`${field} [${s.offset}, ${s.offset + s.length}) runs past the end of "${s.buf}" (${b.length} elements)`, ctx.where, 'fix the offset or length');
  }
  if (!dtypes.includes(b.dtype)) throw new InputError(`${field} is in "${s.buf}" of dtype ${b.dtype}, this op needs ${dtypes.join(' or ')}`, ctx.where, `use a ${dtypes.join('/')} buffer`);
  if (length !== undefined && s.length !== length) throw new InputError(`${field} has ${s.length} elements, expected ${length}`, ctx.where, `make it ${length} long`);
  return s;
}

/** Rows a KV cache needs: the program's maxSeq, or a chunk tile's window (which must start within maxSeq). */
function cacheRows(ctx: OpCtx, window: KvWindow | undefined): number {
  if (!window) return ctx.maxSeq;
  if (window.first >= ctx.maxSeq) throw new InputError(`window starts at position ${window.first}, past maxSeq ${ctx.maxSeq}`, ctx.where, 'start the window below the program\'s maxSeq');
  return window.positions;
}

/** KV caches are f32 or bf16 (rounded as rows are appended). */
const KV_CACHE: readonly BufferDtype[] = ['f32', 'bf16'];

function sameCacheDtype(ctx: OpCtx, k: BufferDecl, v: BufferDecl): void {
  if (k.dtype !== v.dtype) throw new InputError(`kCache "${k.name}" is ${k.dtype} but vCache "${v.name}" is ${v.dtype}`, ctx.where, 'hold both caches in the same dtype');
}

function needBuffer(ctx: OpCtx, name: string, field: string, dtypes: readonly BufferDtype[], length: number): BufferDecl {
  const b = buffer(ctx, name, field);
  if (!dtypes.includes(b.dtype)) throw new InputError(`${field} "${name}" is ${b.dtype}, this op needs ${dtypes.join(' or ')}`, ctx.where, `use a ${dtypes.join('/')} buffer`);
  if (b.length < length) throw new InputError(`${field} "${name}" has ${b.length} elements, the op needs ${length}`, ctx.where, 'declare it large enough');
  return b;
}

function sendable(ctx: OpCtx, colour: number, rampIn: Set<number>): void {
  if (!rampIn.has(colour)) {
    throw new InputError(`sends on colour ${colour}, but no route takes colour ${colour} from this tile's ramp`, ctx.where, 'add a route entry with "from": "ramp" for that colour');
  }
}

/** A matvec over MXFP4 weights: an int8 buffer of the MXFP4 layout's bytes (kernels/mxfp4.ts), no scales. */
function validateMxfp4Matvec(ctx: OpCtx, op: Extract<Op, { op: 'matvec' }>): void {
  needBuffer(ctx, op.w, 'w', ['int8'], mxfp4Bytes(op.rows, op.cols, op.blockOffset));
  if (op.scales !== undefined) throw new InputError(`scales given for MXFP4 weights "${op.w}"`, ctx.where, 'drop "scales" (MXFP4 blocks hold their own)');
  slice(ctx, op.x, FLOAT32, 'x', op.cols);
  slice(ctx, op.y, FLOAT32, 'y', op.rows);
}

function validateOp(ctx: OpCtx, op: Op, rampIn: Set<number>, outputs: Set<string>): void {
  switch (op.op) {
    case 'matvec': {
      if (op.format === 'mxfp4') return validateMxfp4Matvec(ctx, op);
      if (op.blockOffset !== undefined) throw new InputError(`blockOffset given for weights "${op.w}" that are not MXFP4`, ctx.where, 'drop "blockOffset" or add "format": "mxfp4"');
      const w = needBuffer(ctx, op.w, 'w', ['f32', 'bf16', 'f16', 'int8'], op.rows * op.cols);
      if (w.dtype === 'int8') {
        if (op.scales === undefined) throw new InputError(`int8 weights "${op.w}" need a scales buffer`, ctx.where, 'add "scales" naming an f32 buffer of one scale per row');
        needBuffer(ctx, op.scales, 'scales', FLOAT32, op.rows);
      } else if (op.scales !== undefined) {
        throw new InputError(`scales given for ${w.dtype} weights "${op.w}"`, ctx.where, 'drop "scales" (only int8 weights have them)');
      }
      slice(ctx, op.x, FLOAT32, 'x', op.cols);
      slice(ctx, op.y, FLOAT32, 'y', op.rows);
      return;
    }
    case 'send':
      slice(ctx, op.src, WORD, 'src');
      sendable(ctx, op.colour, rampIn);
      return;
    case 'add':
      slice(ctx, op.a, FLOAT32, 'a');
      slice(ctx, op.b, FLOAT32, 'b', op.a.length);
      slice(ctx, op.out, FLOAT32, 'out', op.a.length);
      return;
    case 'copy':
      slice(ctx, op.src, WORD, 'src');
      slice(ctx, op.out, WORD, 'out', op.src.length);
      return;
    case 'axpy':
      slice(ctx, op.a, FLOAT32, 'a');
      slice(ctx, op.out, FLOAT32, 'out', op.a.length);
      slice(ctx, op.weight, FLOAT32, 'weight');
      if (op.index >= op.weight.length) throw new InputError(`index ${op.index} is outside weight (${op.weight.length} elements)`, ctx.where, `use an index below ${op.weight.length}`);
      return;
    case 'rmsnorm':
      slice(ctx, op.x, FLOAT32, 'x');
      slice(ctx, op.weight, FLOAT32, 'weight', op.x.length);
      slice(ctx, op.out, FLOAT32, 'out', op.x.length);
      return;
    case 'sumsq':
      slice(ctx, op.x, FLOAT32, 'x');
      if (slice(ctx, op.out, FLOAT32, 'out').length < 1) throw new InputError(`out is empty`, ctx.where, 'give out at least one element');
      return;
    case 'normScale':
      slice(ctx, op.x, FLOAT32, 'x');
      if (slice(ctx, op.sumsq, FLOAT32, 'sumsq').length < 1) throw new InputError(`sumsq is empty`, ctx.where, 'give sumsq at least one element');
      if (slice(ctx, op.weight, FLOAT32, 'weight').length < op.x.length) throw new InputError(`weight has ${op.weight.length} elements, x has ${op.x.length}`, ctx.where, `make weight at least ${op.x.length} long`);
      if (slice(ctx, op.out, FLOAT32, 'out').length < op.x.length) throw new InputError(`out has ${op.out.length} elements, x has ${op.x.length}`, ctx.where, `make out at least ${op.x.length} long`);
      if (!Number.isInteger(op.count) || op.count < Math.max(1, op.x.length)) {
        throw new InputError(`count ${op.count} is not a positive integer ≥ the ${op.x.length} elements of x`, ctx.where, `give the length of the whole vector x is a slice of (at least ${op.x.length})`);
      }
      return;
    case 'rope':
      if (op.headDim % 2 !== 0) throw new InputError(`headDim ${op.headDim} is odd`, ctx.where, 'RoPE needs an even head dimension');
      slice(ctx, op.x, FLOAT32, 'x', op.numHeads * op.headDim);
      if (op.angles) slice(ctx, op.angles, FLOAT32, 'angles', op.headDim);
      return;
    case 'ropeAngles':
      if (op.headDim % 2 !== 0) throw new InputError(`headDim ${op.headDim} is odd`, ctx.where, 'RoPE needs an even head dimension');
      slice(ctx, op.out, FLOAT32, 'out', op.headDim);
      return;
    case 'kvAppend': {
      slice(ctx, op.k, FLOAT32, 'k', op.rowLength);
      slice(ctx, op.v, FLOAT32, 'v', op.rowLength);
      const rows = cacheRows(ctx, op.window);
      sameCacheDtype(ctx, needBuffer(ctx, op.kCache, 'kCache', KV_CACHE, rows * op.rowLength), needBuffer(ctx, op.vCache, 'vCache', KV_CACHE, rows * op.rowLength));
      return;
    }
    case 'attention': {
      if (op.numHeads % op.numKvHeads !== 0) throw new InputError(`${op.numHeads} heads do not share ${op.numKvHeads} KV heads evenly`, ctx.where, 'make numHeads a multiple of numKvHeads');
      slice(ctx, op.q, FLOAT32, 'q', op.numHeads * op.headDim);
      slice(ctx, op.out, FLOAT32, 'out', op.numHeads * op.headDim);
      const row = op.numKvHeads * op.headDim;
      const rows = cacheRows(ctx, op.window);
      sameCacheDtype(ctx, needBuffer(ctx, op.kCache, 'kCache', KV_CACHE, rows * row), needBuffer(ctx, op.vCache, 'vCache', KV_CACHE, rows * row));
      if (op.stats) slice(ctx, op.stats, FLOAT32, 'stats', 2 * op.numHeads);
      if (op.window && !op.stats) throw new InputError('attention over a window of the cache without "stats"', ctx.where, 'give "stats": a chunk tile writes a flash-decoding partial for the combine');
      return;
    }
    case 'attnMerge':
      slice(ctx, op.stats, FLOAT32, 'stats', 2 * op.numHeads);
      slice(ctx, op.other, FLOAT32, 'other', 2 * op.numHeads);
      slice(ctx, op.factors, FLOAT32, 'factors', 2 * op.numHeads);
      return;
    case 'attnMergeRows':
      if (op.first + op.out.length > op.numHeads * op.headDim) throw new InputError(`rows [${op.first}, ${op.first + op.out.length}) run past ${op.numHeads} heads of ${op.headDim}`, ctx.where, 'keep first + the slice length within numHeads × headDim');
      slice(ctx, op.out, FLOAT32, 'out');
      slice(ctx, op.other, FLOAT32, 'other', op.out.length);
      slice(ctx, op.factors, FLOAT32, 'factors', 2 * op.numHeads);
      return;
    case 'attnFinish':
      slice(ctx, op.stats, FLOAT32, 'stats', 2 * op.numHeads);
      slice(ctx, op.rows, FLOAT32, 'rows', op.numHeads * op.headDim);
      slice(ctx, op.out, FLOAT32, 'out', op.numHeads * op.headDim);
      return;
    case 'swiglu':
      slice(ctx, op.gate, FLOAT32, 'gate');
      slice(ctx, op.up, FLOAT32, 'up', op.gate.length);
      slice(ctx, op.out, FLOAT32, 'out', op.gate.length);
      return;
    case 'topk':
      slice(ctx, op.logits, FLOAT32, 'logits');
      if (op.k > op.logits.length) throw new InputError(`top-${op.k} of ${op.logits.length} logits`, ctx.where, `use k ≤ ${op.logits.length}`);
      slice(ctx, op.indices, INT32, 'indices', op.k);
      slice(ctx, op.weights, FLOAT32, 'weights', op.k);
      if (op.denseWeights) slice(ctx, op.denseWeights, FLOAT32, 'denseWeights', op.logits.length);
      return;
    case 'dispatch':
      slice(ctx, op.indices, INT32, 'indices');
      slice(ctx, op.src, WORD, 'src');
      // -1: a reserved expert (no colour; the run stops if the router picks it).
      for (const c of op.colours) if (c !== -1) sendable(ctx, c, rampIn);
      return;
    case 'argmax':
      slice(ctx, op.x, FLOAT32, 'x');
      slice(ctx, op.out, FLOAT32, 'out', 2);
      return;
    case 'argmaxMerge':
      slice(ctx, op.a, FLOAT32, 'a', 2);
      slice(ctx, op.b, FLOAT32, 'b', 2);
      slice(ctx, op.out, FLOAT32, 'out', 2);
      return;
    case 'embed': {
      const t = needBuffer(ctx, op.table, 'table', ['f32', 'bf16', 'f16', 'int8'], op.rows * op.cols);
      if (t.dtype === 'int8') {
        if (op.scales === undefined) throw new InputError(`int8 table "${op.table}" needs a scales buffer`, ctx.where, 'add "scales" naming an f32 buffer of one scale per row');
        needBuffer(ctx, op.scales, 'scales', FLOAT32, op.rows);
      } else if (op.scales !== undefined) {
        throw new InputError(`scales given for ${t.dtype} table "${op.table}"`, ctx.where, 'drop "scales" (only int8 tables have them)');
      }
      slice(ctx, op.token, INT32, 'token', 1);
      if (!Number.isInteger(op.sliceCols) || op.sliceCols < 1) throw new InputError(`sliceCols ${op.sliceCols} is not a positive integer`, ctx.where, `use 1 ≤ sliceCols ≤ ${op.cols}`);
      const slices = Math.ceil(op.cols / op.sliceCols);
      if (op.colours.length !== slices) {
        throw new InputError(`${op.colours.length} colours for ${slices} slices of ${op.sliceCols} of the ${op.cols} columns`, ctx.where, `give ceil(cols / sliceCols) = ${slices} colours`);
      }
      for (const c of op.colours) sendable(ctx, c, rampIn);
      return;
    }
    case 'output':
      slice(ctx, op.src, WORD, 'src');
      outputs.add(op.name);
      return;
    case 'waferLink':
      if (!Number.isInteger(op.bytes) || op.bytes < 1) throw new InputError(`waferLink of ${op.bytes} bytes`, ctx.where, 'give the bytes that cross the link, a whole number ≥ 1');
      return;
  }
}

/**
 * A forwarding task (Task.forwards): it streams from a recv task that no other forwarding task of the tile streams
 * from; its ops are the streamed ones (each reads the received buffer) then one or more sends, each no longer than the
 * stream, so send wavelet i can wait for stream wavelet i (with no send it forwards nothing, and is not refused).
 */
function checkForwarding(t: Task, tasks: readonly Task[], where: string): void {
  const src = t.streams === undefined ? undefined : tasks.find((x) => x.id === t.streams);
  if (!src || src.trigger.on !== 'recv') throw new InputError(`task ${t.id} forwards but streams from no recv task`, `${where}.forwards`, 'give it "streams" naming the recv task it forwards from');
  if (tasks.some((x) => x !== t && x.forwards === true && x.streams === t.streams)) {
    throw new InputError(`two forwarding tasks stream from task ${t.streams}`, `${where}.forwards`, 'let one task forward each receive');
  }
  const { into, count } = src.trigger;
  const first = t.ops.findIndex((op) => op.op === 'send');
  // With no send it forwards nothing (a piecewise receive that holds its compute engine): left to the other checks.
  if (first < 0) return;
  if (first === 0) throw new InputError(`forwarding task ${t.id} has no streamed op before a send`, `${where}.forwards`, 'merge the received values, then send');
  for (let j = 0; j < t.ops.length; j++) {
    const op = t.ops[j];
    if (j < first && !Object.values(op).some((v) => typeof v === 'object' && v !== null && (v as Slice).buf === into.buf)) {
      throw new InputError(`op ${j} (${op.op}) of forwarding task ${t.id} does not read the received buffer "${into.buf}"`, `${where}.ops[${j}]`, 'put only merges of the received values before the sends');
    }
    if (j >= first && (op.op !== 'send' || op.src.length > count)) {
      throw new InputError(`op ${j} (${op.op}) of forwarding task ${t.id} is not a send of at most ${count} wavelets`, `${where}.ops[${j}]`, 'end a forwarding task with sends no longer than its stream');
    }
  }
}
