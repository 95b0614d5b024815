import { describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { MeshEngine, type MeshOptions } from '../../../../fabric/mesh/engine.js';
import { nodeStripPool } from '../../../../src/workers/stripPool.js';
import { opCycles, streamArrivalCycles, streamedOpCycles, taskCycles, tileOpContext } from '../../../../fabric/mesh/cost.js';
import { matvecReference } from '../../../../kernels/matvec.js';
import { rmsnorm, sumSquares } from '../../../../kernels/vector.js';
import { broadcastProgram, chainProgram, contendedProgram, matvec2x2Program, piecewiseChainProgram, provider, ringProgram, seededVector } from './programs.js';

const spec = getFabricPreset('mini-4');

// The same exact-cycle checks on the inline engine and on the parallel mesh: two threads, the tiles dealt one by one
// (so that every link between neighbours in a row crosses between threads), a barrier every cycle.
const ENGINES: { name: string; engineOpts: MeshOptions }[] = [
  { name: 'inline', engineOpts: {} },
  { name: 'parallel mesh, 2 threads', engineOpts: { workers: 2, stripPool: nodeStripPool, stripCut: { rows: 1, cols: 1 } } },
];

describe.each(ENGINES)('MeshEngine ($name): 1×4 chain reduction', ({ engineOpts }) => {
  it('sums the four vectors and takes the cycles the cost functions and hop latencies predict', async () => {
    const n = 16;
    const { program, tensors } = chainProgram(n);
    const engine = await MeshEngine.create(spec, program, provider(tensors), engineOpts);
    const r = await engine.step({ token: 0, position: 0 });
    const sum = r.outputs.get('sum')!;
    for (let i = 0; i < n; i++) {
      const want = Math.fround(Math.fround(Math.fround(tensors.v1.data[i] + tensors.v0.data[i]) + tensors.v2.data[i]) + tensors.v3.data[i]);
      expect(sum[i]).toBe(want);
    }
    // First principles: every stage waits taskStart, runs its add (not the head), issues the send at that cycle, and the
    // last of n wavelets lands one hop away streamArrivalCycles later; the tail adds and outputs.
    const add = opCycles(spec, program.tiles[1].tasks[0].ops[0], tileOpContext(program.tiles[1], 0));
    const out = opCycles(spec, program.tiles[3].tasks[0].ops[1], tileOpContext(program.tiles[3], 0));
    const stream = streamArrivalCycles(spec, 1, n);
    expect(stream).toBe(2 * spec.rampLatencyCycles + spec.hopLatencyCycles + n - 1);
    const t1 = spec.taskStartCycles + stream;
    const t2 = t1 + spec.taskStartCycles + add + stream;
    const t3 = t2 + spec.taskStartCycles + add + stream;
    expect(r.cycles).toBe(t3 + spec.taskStartCycles + add + out);
    // The head tile stalls while more than queueDepth wavelets wait in its send queue: its CE is free again when the
    // (n - Q)th wavelet has entered the ramp, n - Q - 1 cycles after the send's issue cycle ended.
    const s = engine.stats();
    expect(s.tileStalledCycles[0]).toBe(n - spec.queueDepthWavelets - 1);
    expect(s.waveletsMoved).toBe(3 * n);
    expect(s.waveletHops).toBe(3 * n);
    expect(s.tasksRun).toBe(4);
    expect(s.cycles).toBe(r.cycles);
    expect(s.tileBusyCycles[0] + s.tileStalledCycles[0] + s.tileIdleCycles[0]).toBe(r.cycles);
    expect(s.taskLabelBusyCycles.get('link')).toBe(3 * (spec.taskStartCycles + add) + 2 + out);
    // A second step gives the same numbers again, starting where the first ended.
    const r2 = await engine.step({ token: 0, position: 1 });
    expect(r2.cycles).toBe(r.cycles);
    expect([...r2.outputs.get('sum')!]).toEqual([...sum]);
    expect(engine.stats().cycles).toBe(2 * r.cycles);
    await engine.close();
  });
});

describe.each(ENGINES)('MeshEngine ($name): piecewise receive', ({ engineOpts }) => {
  it('adds as the wavelets land: the same sums, each level sooner by its add less one element', async () => {
    const n = 64;
    const run = async (streamed: boolean) => {
      const { program, tensors } = piecewiseChainProgram(n, streamed);
      const engine = await MeshEngine.create(spec, program, provider(tensors), engineOpts);
      const r = await engine.step({ token: 0, position: 0 });
      await engine.close();
      return { cycles: r.cycles, sum: [...r.outputs.get('sum')!], program };
    };
    const whole = await run(false);
    const piecewise = await run(true);
    expect(piecewise.sum).toEqual(whole.sum);
    // Each tile's own partial is ready long before its input's first wavelet lands, and the n − 1 cycles of arrival
    // cover the add, so each of the three levels streams its add down to its setup and one element.
    const t = piecewise.program.tiles[1];
    const add = opCycles(spec, t.tasks[2].ops[0], tileOpContext(t, 0));
    expect(add).toBeLessThan(n - 1);
    expect(whole.cycles - piecewise.cycles).toBe(3 * (add - streamedOpCycles(spec, add, Infinity)));
    expect(streamedOpCycles(spec, add, Infinity)).toBe(spec.costs.opSetupCycles + 1);
  });
});

describe('MeshEngine: broadcast along a row', () => {
  it('delivers the same vector to every tile, one hop later per tile', async () => {
    const n = 12;
    const { program, tensors } = broadcastProgram(n);
    const engine = await MeshEngine.create(spec, program, provider(tensors), { trace: true });
    const r = await engine.step({ token: 0, position: 0 });
    for (let i = 1; i < 4; i++) {
      expect([...r.outputs.get(`copy${i}`)!]).toEqual([...tensors.v.data]);
      expect([...(engine.readBuffer(i, 0, 'in') as Float32Array)]).toEqual([...tensors.v.data]);
    }
    const starts = engine.traceLog().filter((e) => e.x > 0).map((e) => [e.x, e.startCycle]);
    expect(starts).toEqual([1, 2, 3].map((i) => [i, spec.taskStartCycles + streamArrivalCycles(spec, i, n)]));
    const s = engine.stats();
    expect(s.waveletHops).toBe(3 * n);
    expect(s.linkWavelets[1 * 5 + 0]).toBe(n); // tile 1 ramp out
    expect(s.linkWavelets[2 * 5 + 2]).toBe(n); // tile 2 east
    expect(s.linkWavelets[3 * 5 + 2]).toBe(0);
    await engine.close();
  });
});

describe('MeshEngine: matvec split over 2×2 tiles', () => {
  it('equals matvecReference and the predicted cycle count', async () => {
    const b = 6;
    const { program, tensors } = matvec2x2Program(b);
    const engine = await MeshEngine.create(spec, program, provider(tensors));
    const r = await engine.step({ token: 0, position: 0 });
    const want = new Float32Array(2 * b);
    matvecReference({ dtype: 'f32', rows: 2 * b, cols: 2 * b, data: tensors.W.data }, tensors.x.data, want);
    const got = [...r.outputs.get('y0')!, ...r.outputs.get('y1')!];
    for (let i = 0; i < 2 * b; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    // Right tile: taskStart + matvec + send issue starts the stream one hop west; left tile's reduce task starts when
    // the last partial lands, then add + output.
    const right = program.tiles.find((t) => t.x === 1 && t.y === 0)!;
    const left = program.tiles.find((t) => t.x === 0 && t.y === 0)!;
    const mv = opCycles(spec, right.tasks[0].ops[0], tileOpContext(right, 0));
    const sendAt = spec.taskStartCycles + mv;
    const reduceStart = sendAt + streamArrivalCycles(spec, 1, b);
    expect(reduceStart).toBeGreaterThan(taskCycles(spec, left.tasks[0], tileOpContext(left, 0)));
    expect(r.cycles).toBe(reduceStart + taskCycles(spec, left.tasks[1], tileOpContext(left, 0)));
    expect(engine.stats().fmacOps).toBe(4 * b * b + 2 * b);
    await engine.close();
  });
});

describe.each(ENGINES)('MeshEngine ($name): back-pressure', ({ engineOpts }) => {
  it('a receiver shared by two streams takes one wavelet per cycle and stalls both senders', async () => {
    const n = 64;
    const alone = contendedProgram(n, 1);
    const e1 = await MeshEngine.create(spec, alone.program, provider(alone.tensors), engineOpts);
    const r1 = await e1.step({ token: 0, position: 0 });
    const both = contendedProgram(n, 2);
    const e2 = await MeshEngine.create(spec, both.program, provider(both.tensors), engineOpts);
    const r2 = await e2.step({ token: 0, position: 0 });
    expect([...r2.outputs.get('a')!]).toEqual([...both.tensors.a.data]);
    expect([...(e2.readBuffer(1, 0, 'b') as Float32Array)]).toEqual([...both.tensors.b.data]);
    // The receiver's ramp delivers one wavelet per cycle from the first landing on: n (alone) or 2n (shared) cycles.
    const first = spec.taskStartCycles + streamArrivalCycles(spec, 1, 1);
    const tail = spec.taskStartCycles + opCycles(spec, alone.program.tiles[1].tasks[1].ops[0], tileOpContext(alone.program.tiles[1], 0));
    expect(r1.cycles).toBe(first + n - 1 + spec.taskStartCycles + tail);
    // Shared: the streams alternate, so one recv completes a cycle before the other; the CE runs the two (empty) recv
    // tasks back to back, then the join.
    expect(r2.cycles).toBe(first + 2 * n - 2 + 2 * spec.taskStartCycles + tail);
    // Alone, the sender stalls only for its queue depth; shared, it is held back by credits for about n/2 more cycles.
    const s1 = e1.stats().tileStalledCycles[0];
    const s2 = e2.stats().tileStalledCycles[0];
    expect(s1).toBe(n - spec.queueDepthWavelets - 1);
    expect(s2).toBeGreaterThan(s1 + n / 2 - spec.queueDepthWavelets * 3);
    expect(e2.stats().tileStalledCycles[2]).toBeGreaterThan(s1 + n / 2 - spec.queueDepthWavelets * 3);
    await e1.close();
    await e2.close();
  });
});

// These programs used to pass the load-time checks and fail mid-run; the static check of streams and triggers
// (fabric/isa/staticCheck.ts) now refuses them before anything runs.
describe('MeshEngine: deadlocks are refused at load', () => {
  it('a cyclic colour route is a load-time error naming the loop', async () => {
    for (const depth of [64, 2]) {
      await expect(MeshEngine.create(spec, ringProgram(depth), provider({}))).rejects.toThrow(/^colour 0 sent by tile \(\d,\d\) comes back to tile \(\d,\d\) from the same port: its route is a loop/);
    }
  });

  it('more wavelets than a recv trigger counts is a load-time error', async () => {
    const { program, tensors } = chainProgram(8);
    (program.tiles[1].tasks[0].trigger as { count: number }).count = 4;
    await expect(MeshEngine.create(spec, program, provider(tensors))).rejects.toThrow(/^8 wavelets arrive on colour 0 every step, but the trigger of task 0 counts 4: the rest stay stuck in the router \(a deadlock\)/);
  });
});

describe('MeshEngine: embed, topk and dispatch (data-dependent sends)', () => {
  it('embeds the host token on the tile whose rows hold it and dispatches to the top-2 experts only', async () => {
    const { program: mk, tile, route, task, sl, f32 } = await import('./programs.js');
    const n = 4;
    const table = Float32Array.from({ length: 8 * n }, (_, i) => i / 10);
    const logits = Float32Array.from([0.1, 2.0, -1.0, 1.5]);
    const tensors = { table: { data: table, cols: n }, logits: { data: logits, cols: 4 } };
    const half = (x: number, rowBase: number) =>
      tile(x, 0, {
        buffers: [
          { name: 'tok', dtype: 'i32', length: 1, init: { kind: 'zeros' }, role: 'activation' },
          { name: 'table', dtype: 'f32', length: 4 * n, init: { kind: 'weights', tensor: 'table', rows: [rowBase, rowBase + 4], cols: [0, n] }, role: 'weights' },
        ],
        routes: [x === 0 ? route(0, 'ramp', 'E') : route(1, 'ramp', 'W')],
        tasks: [task(0, { on: 'start' }, [{ op: 'embed', table: 'table', rowBase, rows: 4, cols: n, token: sl('tok', 1), colours: [x === 0 ? 0 : 1], sliceCols: n }])],
      });
    // (1,0) receives the row from whichever half holds the token, gates it, and dispatches to experts on row 1.
    const router = tile(1, 0, {
      buffers: [f32('x', n), f32('logits', 4, { kind: 'vector', tensor: 'logits', range: [0, 4] }), { name: 'idx', dtype: 'i32', length: 2, init: { kind: 'zeros' }, role: 'scratch' }, f32('wts', 2)],
      routes: [route(0, 'W', 'ramp'), route(1, 'E', 'ramp'), route(2, 'ramp', 'S'), route(3, 'ramp', 'S'), route(4, 'ramp', 'S'), route(5, 'ramp', 'S')],
      tasks: [
        task(0, { on: 'recv', colour: 0, count: n, into: sl('x', n) }, []),
        task(1, { on: 'recv', colour: 1, count: n, into: sl('x', n) }, []),
        task(2, { on: 'after', tasks: [0, 1], count: 1 }, [
          { op: 'topk', logits: sl('logits', 4), k: 2, renormalize: true, indices: sl('idx', 2), weights: sl('wts', 2) },
          { op: 'dispatch', indices: sl('idx', 2), colours: [2, 3, 4, 5], src: sl('x', n) },
          { op: 'output', name: 'weights', src: sl('wts', 2) },
        ]),
      ],
    });
    // Experts: (1,1) takes colours 2..5 from N and fans them out: expert e sits at (e, 1) ... keep all four on row 1.
    const experts = [0, 1, 2, 3].map((e) => {
      const colour = 2 + e;
      return { e, colour };
    });
    const row1 = [0, 1, 2, 3].map((x) => {
      const routes = [];
      const tasks = [];
      const buffers = [];
      for (const { e, colour } of experts) {
        // Path: (1,0) S -> (1,1), then west to x=0 or east to x=2,3.
        if (x === 1) {
          const to: ('ramp' | 'E' | 'W')[] = e === 1 ? ['ramp'] : e === 0 ? ['W'] : ['E'];
          routes.push(route(colour, 'N', ...to));
        } else if (e === x) routes.push(route(colour, x === 0 ? 'E' : 'W', 'ramp'));
        else if (x === 2 && e === 3) routes.push(route(colour, 'W', 'E'));
        if (e === x) {
          buffers.push(f32('in', n));
          tasks.push(task(0, { on: 'recv', colour, count: n, into: sl('in', n) }, [{ op: 'output', name: `expert${e}`, src: sl('in', n) }]));
        }
      }
      return tile(x, 1, { buffers, routes, tasks });
    });
    const prog = mk(4, 2, [half(0, 0), router, half(2, 4), ...row1], 'weights', {
      hostInputs: [
        { x: 0, y: 0, buf: 'tok', value: 'token' },
        { x: 2, y: 0, buf: 'tok', value: 'token' },
      ],
    });
    prog.tiles[2].routes = [route(1, 'ramp', 'W')];
    const engine = await MeshEngine.create(spec, prog, provider(tensors));
    for (const token of [2, 6]) {
      const r = await engine.step({ token, position: 0 });
      const row = [...table.subarray(token * n, token * n + n)];
      expect([...r.outputs.keys()].sort()).toEqual(['expert1', 'expert3', 'weights']);
      expect([...r.outputs.get('expert1')!]).toEqual(row);
      expect([...r.outputs.get('expert3')!]).toEqual(row);
      const w = r.outputs.get('weights')!;
      const e1 = Math.exp(2.0);
      const e3 = Math.exp(1.5);
      expect(w[0]).toBeCloseTo(e1 / (e1 + e3), 6);
    }
    await engine.close();
  });
});

describe('MeshEngine: an embedding row in slices', () => {
  it('sends each slice of the row on its own colour to its own tile', async () => {
    const { program: mk, tile, route, task, sl, f32 } = await import('./programs.js');
    // 5 columns in slices of 3: columns 0..2 go west on colour 0, columns 3..4 east on colour 1.
    const n = 5;
    const table = Float32Array.from({ length: 4 * n }, (_, i) => i / 10);
    const embedder = tile(1, 0, {
      buffers: [
        { name: 'tok', dtype: 'i32', length: 1, init: { kind: 'zeros' }, role: 'activation' },
        { name: 'table', dtype: 'f32', length: 4 * n, init: { kind: 'weights', tensor: 'table', rows: [0, 4], cols: [0, n] }, role: 'weights' },
      ],
      routes: [route(0, 'ramp', 'W'), route(1, 'ramp', 'E')],
      tasks: [task(0, { on: 'start' }, [{ op: 'embed', table: 'table', rowBase: 0, rows: 4, cols: n, token: sl('tok', 1), colours: [0, 1], sliceCols: 3 }])],
    });
    const receiver = (x: number, colour: number, length: number) =>
      tile(x, 0, {
        buffers: [f32('in', length)],
        routes: [route(colour, x === 0 ? 'E' : 'W', 'ramp')],
        tasks: [task(0, { on: 'recv', colour, count: length, into: sl('in', length) }, [{ op: 'output', name: `part${colour}`, src: sl('in', length) }])],
      });
    const prog = mk(3, 1, [receiver(0, 0, 3), embedder, receiver(2, 1, 2)], 'part0', { hostInputs: [{ x: 1, y: 0, buf: 'tok', value: 'token' }] });
    const engine = await MeshEngine.create(spec, prog, provider({ table: { data: table, cols: n } }));
    for (const token of [1, 3]) {
      const r = await engine.step({ token, position: 0 });
      expect([...r.outputs.get('part0')!]).toEqual([...table.subarray(token * n, token * n + 3)]);
      expect([...r.outputs.get('part1')!]).toEqual([...table.subarray(token * n + 3, token * n + n)]);
    }
    expect(engine.stats().waveletsMoved).toBe(2 * n);
    await engine.close();
  });
});

describe('MeshEngine: RMSNorm split into sumsq and normScale', () => {
  it('sums the slices’ squares, scales each slice, and matches rmsnorm', async () => {
    const { program: mk, tile, task, sl, f32 } = await import('./programs.js');
    const n = 12;
    const h = n / 2;
    const x = seededVector(n, 21).map((v) => v * 3);
    const w = seededVector(n, 22);
    const vec = (name: string, tensor: string) => f32(name, n, { kind: 'vector', tensor, range: [0, n] }, 'weights');
    const only = tile(0, 0, {
      buffers: [vec('x', 'x'), vec('w', 'w'), f32('ss', 2), f32('sum', 1), f32('whole', 1), f32('split', n), f32('one', n), f32('ref', n)],
      tasks: [
        task(0, { on: 'start' }, [
          // Two halves, as on two tiles: each its own part, the parts added, each half scaled with count n.
          { op: 'sumsq', x: sl('x', h), out: sl('ss', 1) },
          { op: 'sumsq', x: sl('x', h, h), out: sl('ss', 1, 1) },
          { op: 'add', a: sl('ss', 1), b: sl('ss', 1, 1), out: sl('sum', 1) },
          { op: 'normScale', x: sl('x', h), sumsq: sl('sum', 1), count: n, weight: sl('w', h), out: sl('split', h), eps: 1e-5 },
          { op: 'normScale', x: sl('x', h, h), sumsq: sl('sum', 1), count: n, weight: sl('w', h, h), out: sl('split', h, h), eps: 1e-5 },
          // The whole vector in one slice.
          { op: 'sumsq', x: sl('x', n), out: sl('whole', 1) },
          { op: 'normScale', x: sl('x', n), sumsq: sl('whole', 1), count: n, weight: sl('w', n), out: sl('one', n), eps: 1e-5 },
          { op: 'rmsnorm', x: sl('x', n), weight: sl('w', n), out: sl('ref', n), eps: 1e-5 },
          { op: 'output', name: 'split', src: sl('split', n) },
          { op: 'output', name: 'one', src: sl('one', n) },
          { op: 'output', name: 'ref', src: sl('ref', n) },
          { op: 'output', name: 'whole', src: sl('whole', 1) },
        ]),
      ],
    });
    const engine = await MeshEngine.create(spec, mk(1, 1, [only], 'ref'), provider({ x: { data: x, cols: n }, w: { data: w, cols: n } }));
    const r = await engine.step({ token: 0, position: 0 });
    const ref = r.outputs.get('ref')!;
    expect([...ref]).toEqual([...rmsnorm(x, w, 1e-5)]);
    expect(r.outputs.get('whole')![0]).toBe(Math.fround(sumSquares(x)));
    // The sums travel as f32 (and the halves' are added in f32): within 1e-6 relative of rmsnorm's double sum.
    for (const name of ['split', 'one']) {
      const got = r.outputs.get(name)!;
      for (let i = 0; i < n; i++) expect(Math.abs(got[i] - ref[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.abs(ref[i]));
    }
    await engine.close();
  });
});

describe('MeshEngine: remap bypass latency and bad options', () => {
  it('extra link latency on one link delays the chain by exactly that much', async () => {
    const n = 8;
    const { program, tensors } = chainProgram(n);
    const plain = await MeshEngine.create(spec, program, provider(tensors));
    const base = (await plain.step({ token: 0, position: 0 })).cycles;
    const extra = new Uint16Array(4 * 1 * 5);
    extra[1 * 5 + 2] = 3; // tile (1,0), the link leaving east (port 2)
    const slow = await MeshEngine.create(spec, program, provider(tensors), { linkExtraLatencyCycles: extra });
    expect((await slow.step({ token: 0, position: 0 })).cycles).toBe(base + 3);
    await expect(MeshEngine.create(spec, program, provider(tensors), { linkExtraLatencyCycles: new Uint16Array(3) })).rejects.toThrow(
      'linkExtraLatencyCycles has 3 entries, the 4x1 mesh needs 20 (mesh options): give 5 entries (ramp, N, E, S, W) per tile',
    );
    await expect(MeshEngine.create(spec, program, provider(tensors), { workers: -1 })).rejects.toThrow('workers must be a whole number ≥ 0, got -1 (mesh options): give 0 (inline) or more');
    await expect(MeshEngine.create(spec, program, provider(tensors), { workers: 2, stripPool: nodeStripPool, stripCut: { rows: 0, cols: 1 } })).rejects.toThrow(
      'stripCut 0x1 is not a block of whole tiles (mesh options): give rows and cols as whole numbers ≥ 1',
    );
    await expect(MeshEngine.create(spec, program, provider(tensors), { workers: 65, stripPool: nodeStripPool })).rejects.toThrow('65 threads for the parallel mesh (mesh options): give at most 64');
    await expect(MeshEngine.create(spec, program, () => new Uint8Array(3))).rejects.toThrow('weights for buffer "own" are 3 bytes, the buffer needs 32 (tile (0,0) vector v0): return 8 f32 elements as raw bytes');
    await expect(plain.step({ token: 0, position: 8 })).rejects.toThrow('position 8 is outside the KV cache (step): use 0 ≤ position < maxSeq (8)');
    expect(() => plain.readBuffer(3, 3, 'own')).toThrow('tile (3,3) has no program (readBuffer): name a tile of the program');
    expect(() => plain.readBuffer(0, 0, 'x')).toThrow('tile (0,0) has no buffer "x" (readBuffer): use one of own');
    await plain.close();
    await slow.close();
  });
});
