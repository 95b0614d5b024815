import { describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { FaultMap } from '../../../../fabric/faults/index.js';
import { InputError } from '../../../../fabric/errors.js';
import { loadProgram, validateProgram } from '../../../../fabric/isa/validate.js';
import { bufferBytes, dtypeBytes, tileSramBytes, tileSramBytesByRole } from '../../../../fabric/isa/sram.js';
import type { Op, Program } from '../../../../fabric/isa/types.js';
import { chainProgram, f32, sl, task } from '../mesh/programs.js';

const spec = getFabricPreset('mini-4');

function base(): Program {
  return structuredClone(chainProgram(8).program);
}

function expectInputError(fn: () => unknown, message: RegExp | string): InputError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  if (typeof message === 'string') expect((err as InputError).message).toBe(message);
  else expect((err as InputError).message).toMatch(message);
  return err as InputError;
}

/** Adds an op to tile 1's task (after its add) and gives the tile the buffers named. */
function withOp(op: Op, extra: ReturnType<typeof f32>[] = []): Program {
  const p = base();
  p.tiles[1].buffers.push(...extra);
  p.tiles[1].tasks[0].ops.splice(1, 0, op);
  return p;
}

const T1 = 'program: tiles[1] (1,0)';
const OP = `${T1}: tasks[0].ops[1]`;

describe('SRAM helpers', () => {
  it('sizes buffers by dtype, rounded up to 4 bytes', () => {
    expect(dtypeBytes('f32')).toBe(4);
    expect(dtypeBytes('bf16')).toBe(2);
    expect(dtypeBytes('int8')).toBe(1);
    expect(bufferBytes({ dtype: 'int8', length: 5 })).toBe(8);
    expect(bufferBytes({ dtype: 'bf16', length: 3 })).toBe(8);
    expect(bufferBytes({ dtype: 'f32', length: 3 })).toBe(12);
    const t = { buffers: [f32('a', 10), { ...f32('b', 3), dtype: 'int8' as const, role: 'weights' as const }] };
    expect(tileSramBytes(t)).toBe(44);
    expect(tileSramBytesByRole(t)).toEqual({ weights: 4, activation: 40, 'kv-cache': 0, scratch: 0 });
  });
});

describe('loadProgram', () => {
  it('accepts a valid program', () => {
    expect(loadProgram(JSON.parse(JSON.stringify(base())), spec).tiles.length).toBe(4);
  });
  it('refuses another ISA version, unknown keys and bad types with the field path', () => {
    expectInputError(() => loadProgram({ ...base(), isaVersion: 1 }, spec, null, 'p.json'), 'program is ISA version 1, this engine runs version 2 (p.json: isaVersion): recompile the model with this version of wafer');
    expectInputError(() => loadProgram({ ...base(), extra: 1 }, spec, null, 'p.json'), 'unknown key "extra" (p.json: (root)): remove it or check its spelling');
    const p = base() as unknown as { tiles: { routes: { to: string[] }[] }[] };
    p.tiles[0].routes[0].to = ['X'];
    expectInputError(() => loadProgram(p, spec, null, 'p.json'), /^unsupported value \(p\.json: tiles\.0\.routes\.0\.to\.0\): use one of "ramp", "N", "E", "S", "W"$/);
    const q = base() as unknown as { tiles: { tasks: { ops: Record<string, unknown>[] }[] }[] };
    q.tiles[1].tasks[0].ops[0].bogus = true;
    expectInputError(() => loadProgram(q, spec, null, 'p.json'), 'unknown key "bogus" (p.json: tiles.1.tasks.0.ops.0): remove it or check its spelling');
  });
});

describe('validateProgram: mesh, tiles and faults', () => {
  it.each<[string, (p: Program) => void, string]>([
    ['version', (p) => ((p as { isaVersion: number }).isaVersion = 3), 'program is ISA version 3, this engine runs version 2 (program: isaVersion): recompile the model with this version of wafer'],
    ['mesh too big', (p) => (p.widthTiles = 5), 'program mesh 5x1 is larger than fabric "mini-4" (4x4) (program: widthTiles/heightTiles): compile for mini-4 or pick a larger fabric'],
    ['tile outside', (p) => (p.tiles[3].y = 1), 'tile (3,1) is outside the 4x1 mesh (program: tiles[3] (3,1)): use 0 ≤ x < 4 and 0 ≤ y < 1'],
    ['tile twice', (p) => (p.tiles[3].x = 2), 'tile (2,0) has two programs (also tiles[2]) (program: tiles[3] (2,0)): merge them into one tile program'],
    ['host tile', (p) => p.hostInputs.push({ x: 3, y: 0, buf: 'tok', value: 'token' }), 'host input names buffer "tok", which tile (3,0) does not declare (program: hostInputs[0]): declare the buffer on that tile'],
    ['host dtype', (p) => p.hostInputs.push({ x: 3, y: 0, buf: 'own', value: 'token' }), 'host input buffer "own" is f32, a token id needs i32 (program: hostInputs[0]): declare it as i32'],
    ['token output', (p) => (p.tokenOutput = 'nope'), 'tokenOutput "nope" is not the name of any output op (program: tokenOutput): name an output op of the program'],
    ['logit output', (p) => p.logitOutputs.push({ name: 'nope', offset: 0 }), 'logit output "nope" is not the name of any output op (program: logitOutputs[0]): name an output op of the program'],
  ])('%s', (_name, mutate, message) => {
    const p = base();
    mutate(p);
    expectInputError(() => validateProgram(spec, p), message);
  });

  it('host input on a tile with no program', () => {
    const p = base();
    p.widthTiles = 4;
    p.heightTiles = 2;
    p.hostInputs.push({ x: 0, y: 1, buf: 'tok', value: 'token' });
    expectInputError(() => validateProgram(spec, p), 'host input names tile (0,1), which has no program (program: hostInputs[0]): name a tile of the program');
  });

  it('faults: dead tiles, dead cores, dead links and a small fault map', () => {
    const p = base();
    const small = FaultMap.empty(2, 1);
    expectInputError(() => validateProgram(spec, p, small), 'fault map is 2x1, smaller than the program mesh 4x1 (program: faults): give a fault map of at least 4x1');
    const dead = FaultMap.fromJson({ width: 4, height: 4, deadTiles: [[2, 0]], deadCores: [], deadLinks: [] }, 'f');
    expectInputError(() => validateProgram(spec, p, dead), 'tile (2,0) is dead (router and core) (program: tiles[2] (2,0)): place nothing on a dead tile and route around it');
    const core = FaultMap.fromJson({ width: 4, height: 4, deadTiles: [], deadCores: [[1, 0]], deadLinks: [] }, 'f');
    expectInputError(() => validateProgram(spec, p, core), 'tile (1,0) has a dead core but the program puts buffers or tasks there (program: tiles[1] (1,0)): place work on usable tiles only (its router may still forward)');
    const link = FaultMap.fromJson({ width: 4, height: 4, deadTiles: [], deadCores: [], deadLinks: [[1, 0, 'E']] }, 'f');
    expectInputError(() => validateProgram(spec, p, link), `route sends colour 1 E over a dead link or into a dead router at (2,0) (${T1}: routes[1]): route around the fault`);
    // A dead core whose router forwards may carry routes.
    const q = base();
    q.widthTiles = 4;
    q.heightTiles = 4;
    expect(() => validateProgram(spec, q, FaultMap.fromJson({ width: 4, height: 4, deadTiles: [], deadCores: [[1, 1]], deadLinks: [] }, 'f'))).not.toThrow();
  });
});

describe('validateProgram: SRAM, colours, routes and tasks', () => {
  it.each<[string, (p: Program) => void, string | RegExp]>([
    ['buffer twice', (p) => p.tiles[1].buffers.push(f32('own', 1)), `buffer "own" is declared twice (${T1}: buffers[3]): give each buffer of a tile its own name`],
    [
      'SRAM overflow',
      (p) => p.tiles[1].buffers.push(f32('big', 12 * 1024)),
      `tile (1,0) needs ${12 * 1024 * 4 + 96} bytes of SRAM, the tile has 49152 (over by 96; largest: big 49152 B, own 32 B, in 32 B) (${T1}: buffers): split the work over more tiles or use a narrower dtype`,
    ],
    ['colour range', (p) => (p.tiles[0].routes[0].colour = 24), 'colour 24 is out of range (program: tiles[0] (0,0): routes[0]): use colours 0..23 (mini-4 routes 24)'],
    ['two recv', (p) => p.tiles[1].tasks.push(task(1, { on: 'recv', colour: 0, count: 1, into: sl('in', 1) }, [])), `two recv triggers on colour 0 (tasks 0 and 1) (${T1}: tasks[1].trigger): use one recv trigger per colour per tile`],
    ['route twice', (p) => p.tiles[1].routes.push({ colour: 0, from: 'W', to: ['ramp'] }), `two routes for colour 0 arriving from W (${T1}: routes[2]): merge them into one entry with several targets`],
    ['target twice', (p) => (p.tiles[0].routes[0].to = ['E', 'E']), 'route lists a target port twice (program: tiles[0] (0,0): routes[0]): list each port once'],
    ['u-turn', (p) => (p.tiles[1].routes[0].to = ['ramp', 'W']), `route sends colour 0 back out of the port it came in (W) (${T1}: routes[0]): remove that target`],
    ['from the edge', (p) => p.tiles[0].routes.push({ colour: 3, from: 'W', to: ['E'] }), 'route expects colour 3 from W, which is the mesh edge (program: tiles[0] (0,0): routes[1]): route from a port with a neighbour'],
    ['off the edge', (p) => (p.tiles[0].routes[0].to = ['N']), 'route sends colour 0 N off the edge of the 4x1 mesh (program: tiles[0] (0,0): routes[0]): route only toward tiles inside the mesh'],
    ['ramp without recv', (p) => p.tiles[3].routes.push({ colour: 5, from: 'W', to: ['ramp'] }), 'route delivers colour 5 to the ramp, but no task of tile (3,0) receives colour 5 (program: tiles[3] (3,0): routes[1]): add a recv trigger on that colour or drop the ramp target'],
    ['dangling', (p) => (p.tiles[3].routes[0].colour = 2), 'route sends colour 0 E to (3,0), which has no route for colour 0 arriving from W (program: tiles[2] (2,0): routes[1]): add a route entry at (3,0) or drop this target'],
    ['recv without route', (p) => (p.tiles[1].routes[0].to = ['E']), /^route sends colour 0 E to \(2,0\), which has no route for colour 0 arriving from W/],
    ['task id twice', (p) => p.tiles[1].tasks.push(task(0, { on: 'start' }, [])), `task id 0 is used twice (${T1}: tasks[1]): give each task of a tile its own id`],
    ['after unknown', (p) => p.tiles[1].tasks.push(task(1, { on: 'after', tasks: [7] }, [])), `"after" names task 7, which tile (1,0) does not have (${T1}: tasks[1].trigger): name tasks of the same tile`],
    ['after itself', (p) => p.tiles[1].tasks.push(task(1, { on: 'after', tasks: [1] }, [])), `task 1 waits for itself (${T1}: tasks[1].trigger): remove it from its own "after" list`],
    ['after twice', (p) => p.tiles[1].tasks.push(task(1, { on: 'after', tasks: [0, 0] }, [])), `"after" lists a task twice (${T1}: tasks[1].trigger): list each task once`],
    ['after count', (p) => p.tiles[1].tasks.push(task(1, { on: 'after', tasks: [0], count: 2 }, [])), `"after" waits for 2 of 1 tasks (${T1}: tasks[1].trigger): use a count of at most 1`],
    [
      'streams from a task it does not wait for',
      (p) => p.tiles[1].tasks.push({ ...task(1, { on: 'after', tasks: [0] }, []), streams: 2 }),
      `task 1 streams from task 2, which is not a recv task it waits for (${T1}: tasks[1].streams): name a recv task of this tile listed in this task's "after" tasks (with no count)`,
    ],
    [
      'streams on a recv task',
      (p) => (p.tiles[1].tasks[0].streams = 0),
      `task 0 streams from task 0, which is not a recv task it waits for (${T1}: tasks[0].streams): name a recv task of this tile listed in this task's "after" tasks (with no count)`,
    ],
    ['recv count', (p) => ((p.tiles[1].tasks[0].trigger as { count: number }).count = 9), `recv of 9 wavelets into a slice of 8 (${T1}: tasks[0].trigger): make the slice at least as long as the count`],
  ])('%s', (_name, mutate, message) => {
    const p = base();
    mutate(p);
    expectInputError(() => validateProgram(spec, p), message);
  });

  it('a recv trigger that no route feeds', () => {
    const p = base();
    p.tiles[1].tasks.push(task(1, { on: 'recv', colour: 5, count: 1, into: sl('in', 1) }, []));
    expectInputError(() => validateProgram(spec, p), `task 1 receives colour 5, but no route delivers that colour to this tile's ramp (${T1}: tasks[1].trigger): add a route entry with "ramp" among its targets`);
  });
});

describe('validateProgram: ops', () => {
  const i32 = (name: string, length: number) => ({ ...f32(name, length), dtype: 'i32' as const });
  const int8 = (name: string, length: number) => ({ ...f32(name, length), dtype: 'int8' as const, role: 'weights' as const });
  it.each<[string, Op, ReturnType<typeof f32>[], string]>([
    ['unknown buffer', { op: 'copy', src: sl('nope', 1), out: sl('in', 1) }, [], `src names buffer "nope", which the tile does not declare (${OP} (copy)): declare the buffer or fix the name`],
    ['slice past end', { op: 'copy', src: sl('own', 4, 6), out: sl('in', 4) }, [], `src [6, 10) runs past the end of "own" (8 elements) (${OP} (copy)): fix the offset or length`],
    ['wrong dtype', { op: 'add', a: sl('t', 2), b: sl('in', 2), out: sl('in', 2) }, [i32('t', 2)], `a is in "t" of dtype i32, this op needs f32 (${OP} (add)): use a f32 buffer`],
    ['wrong length', { op: 'add', a: sl('own', 4), b: sl('in', 3), out: sl('in', 4) }, [], `b has 3 elements, expected 4 (${OP} (add)): make it 4 long`],
    ['matvec weights short', { op: 'matvec', w: 'own', rows: 4, cols: 4, x: sl('in', 4), y: sl('acc', 4), accumulate: false }, [], `w "own" has 8 elements, the op needs 16 (${OP} (matvec)): declare it large enough`],
    ['matvec int8 scales', { op: 'matvec', w: 'q', rows: 2, cols: 4, x: sl('in', 4), y: sl('acc', 2), accumulate: false }, [int8('q', 8)], `int8 weights "q" need a scales buffer (${OP} (matvec)): add "scales" naming an f32 buffer of one scale per row`],
    ['matvec scales on f32', { op: 'matvec', w: 'own', scales: 'in', rows: 2, cols: 4, x: sl('in', 4), y: sl('acc', 2), accumulate: false }, [], `scales given for f32 weights "own" (${OP} (matvec)): drop "scales" (only int8 weights have them)`],
    ['matvec MXFP4 weights short', { op: 'matvec', w: 'q', rows: 2, cols: 40, x: sl('in', 40), y: sl('acc', 2), accumulate: false, format: 'mxfp4', blockOffset: 30 }, [int8('q', 100)], `w "q" has 100 elements, the op needs 102 (${OP} (matvec)): declare it large enough`],
    ['matvec blockOffset without MXFP4', { op: 'matvec', w: 'own', rows: 2, cols: 4, x: sl('in', 4), y: sl('acc', 2), accumulate: false, blockOffset: 3 }, [], `blockOffset given for weights "own" that are not MXFP4 (${OP} (matvec)): drop "blockOffset" or add "format": "mxfp4"`],
    ['matvec weights dtype', { op: 'matvec', w: 't', rows: 1, cols: 1, x: sl('in', 1), y: sl('acc', 1), accumulate: false }, [i32('t', 2)], `w "t" is i32, this op needs f32 or bf16 or f16 or int8 (${OP} (matvec)): use a f32/bf16/f16/int8 buffer`],
    ['send without route', { op: 'send', colour: 7, src: sl('acc', 2) }, [], `sends on colour 7, but no route takes colour 7 from this tile's ramp (${OP} (send)): add a route entry with "from": "ramp" for that colour`],
    ['axpy index', { op: 'axpy', a: sl('own', 2), weight: sl('in', 2), index: 2, out: sl('acc', 2) }, [], `index 2 is outside weight (2 elements) (${OP} (axpy)): use an index below 2`],
    ['rope odd', { op: 'rope', x: sl('acc', 6), numHeads: 2, headDim: 3, theta: 1e4 }, [], `headDim 3 is odd (${OP} (rope)): RoPE needs an even head dimension`],
    ['rope angles length', { op: 'rope', x: sl('acc', 4), numHeads: 2, headDim: 2, theta: 1e4, angles: sl('in', 3) }, [], `angles has 3 elements, expected 2 (${OP} (rope)): make it 2 long`],
    ['ropeAngles odd', { op: 'ropeAngles', out: sl('acc', 3), headDim: 3, theta: 1e4 }, [], `headDim 3 is odd (${OP} (ropeAngles)): RoPE needs an even head dimension`],
    ['ropeAngles out', { op: 'ropeAngles', out: sl('acc', 2), headDim: 4, theta: 1e4 }, [], `out has 2 elements, expected 4 (${OP} (ropeAngles)): make it 4 long`],
    ['attention heads', { op: 'attention', q: sl('acc', 6), kCache: 'own', vCache: 'own', out: sl('in', 6), numHeads: 3, numKvHeads: 2, headDim: 2 }, [], `3 heads do not share 2 KV heads evenly (${OP} (attention)): make numHeads a multiple of numKvHeads`],
    ['attention cache', { op: 'attention', q: sl('acc', 4), kCache: 'own', vCache: 'own', out: sl('in', 4), numHeads: 2, numKvHeads: 1, headDim: 2 }, [], `kCache "own" has 8 elements, the op needs 16 (${OP} (attention)): declare it large enough`],
    ['kvAppend cache', { op: 'kvAppend', k: sl('acc', 2), v: sl('in', 2), kCache: 'own', vCache: 'own', rowLength: 2 }, [], `kCache "own" has 8 elements, the op needs 16 (${OP} (kvAppend)): declare it large enough`],
    ['attention window without stats', { op: 'attention', q: sl('acc', 2), kCache: 'own', vCache: 'own', out: sl('in', 2), numHeads: 1, numKvHeads: 1, headDim: 2, window: { first: 0, positions: 2 } }, [], `attention over a window of the cache without "stats" (${OP} (attention)): give "stats": a chunk tile writes a flash-decoding partial for the combine`],
    ['attention window cache', { op: 'attention', q: sl('acc', 2), kCache: 'own', vCache: 'own', out: sl('in', 2), numHeads: 1, numKvHeads: 1, headDim: 2, stats: sl('in', 2, 2), window: { first: 0, positions: 5 } }, [], `kCache "own" has 8 elements, the op needs 10 (${OP} (attention)): declare it large enough`],
    ['kvAppend window start', { op: 'kvAppend', k: sl('acc', 2), v: sl('in', 2), kCache: 'own', vCache: 'own', rowLength: 2, window: { first: 8, positions: 2 } }, [], `window starts at position 8, past maxSeq 8 (${OP} (kvAppend)): start the window below the program's maxSeq`],
    ['waferLink bytes', { op: 'waferLink', bytes: 0.5 }, [], `waferLink of 0.5 bytes (${OP} (waferLink)): give the bytes that cross the link, a whole number ≥ 1`],
    ['topk k', { op: 'topk', logits: sl('own', 2), k: 3, renormalize: true, indices: sl('t', 3), weights: sl('in', 3) }, [i32('t', 3)], `top-3 of 2 logits (${OP} (topk)): use k ≤ 2`],
    ['topk indices dtype', { op: 'topk', logits: sl('own', 4), k: 2, renormalize: true, indices: sl('in', 2), weights: sl('acc', 2) }, [], `indices is in "in" of dtype f32, this op needs i32 (${OP} (topk)): use a i32 buffer`],
    ['argmax out', { op: 'argmax', x: sl('own', 4), indexBase: 0, out: sl('acc', 3) }, [], `out has 3 elements, expected 2 (${OP} (argmax)): make it 2 long`],
    ['embed scales', { op: 'embed', table: 'q', rowBase: 0, rows: 2, cols: 4, token: sl('t', 1), colours: [1], sliceCols: 4 }, [int8('q', 8), i32('t', 1)], `int8 table "q" needs a scales buffer (${OP} (embed)): add "scales" naming an f32 buffer of one scale per row`],
    ['embed token', { op: 'embed', table: 'own', rowBase: 0, rows: 2, cols: 4, token: sl('in', 1), colours: [1], sliceCols: 4 }, [], `token is in "in" of dtype f32, this op needs i32 (${OP} (embed)): use a i32 buffer`],
    ['embed colours count', { op: 'embed', table: 'own', rowBase: 0, rows: 2, cols: 4, token: sl('t', 1), colours: [1], sliceCols: 3 }, [i32('t', 1)], `1 colours for 2 slices of 3 of the 4 columns (${OP} (embed)): give ceil(cols / sliceCols) = 2 colours`],
    ['embed slice colour', { op: 'embed', table: 'own', rowBase: 0, rows: 2, cols: 4, token: sl('t', 1), colours: [1, 9], sliceCols: 2 }, [i32('t', 1)], `sends on colour 9, but no route takes colour 9 from this tile's ramp (${OP} (embed)): add a route entry with "from": "ramp" for that colour`],
    ['embed colour range', { op: 'embed', table: 'own', rowBase: 0, rows: 2, cols: 4, token: sl('t', 1), colours: [1, 30], sliceCols: 2 }, [i32('t', 1)], `colour 30 is out of range (${OP}): use colours 0..23 (mini-4 routes 24)`],
    ['sumsq out', { op: 'sumsq', x: sl('own', 4), out: sl('t', 1) }, [i32('t', 1)], `out is in "t" of dtype i32, this op needs f32 (${OP} (sumsq)): use a f32 buffer`],
    ['normScale sumsq', { op: 'normScale', x: sl('own', 4), sumsq: sl('in', 0), count: 8, weight: sl('own', 4), out: sl('acc', 4), eps: 1e-5 }, [], `sumsq is empty (${OP} (normScale)): give sumsq at least one element`],
    ['normScale weight', { op: 'normScale', x: sl('own', 4), sumsq: sl('in', 1), count: 8, weight: sl('own', 3), out: sl('acc', 4), eps: 1e-5 }, [], `weight has 3 elements, x has 4 (${OP} (normScale)): make weight at least 4 long`],
    ['normScale out', { op: 'normScale', x: sl('own', 4), sumsq: sl('in', 1), count: 8, weight: sl('own', 4), out: sl('acc', 2), eps: 1e-5 }, [], `out has 2 elements, x has 4 (${OP} (normScale)): make out at least 4 long`],
    ['normScale count', { op: 'normScale', x: sl('own', 4), sumsq: sl('in', 1), count: 3, weight: sl('own', 4), out: sl('acc', 4), eps: 1e-5 }, [], `count 3 is not a positive integer ≥ the 4 elements of x (${OP} (normScale)): give the length of the whole vector x is a slice of (at least 4)`],
    ['dispatch colour', { op: 'dispatch', indices: sl('t', 1), colours: [1, 9], src: sl('own', 2) }, [i32('t', 1)], `sends on colour 9, but no route takes colour 9 from this tile's ramp (${OP} (dispatch)): add a route entry with "from": "ramp" for that colour`],
  ])('%s', (_name, op, extra, message) => {
    expectInputError(() => validateProgram(spec, withOp(op, extra)), message);
  });
});
