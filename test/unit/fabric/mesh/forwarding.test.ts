// Forwarding (cut-through) sends (Task.forwards): a chain reduction lowered by reduceUp, run on the engine and on the
// step estimate. The laws are the pipeline's, not the cost formulas: the partial's wavelets are paid once whatever
// the depth, each level adds a latency bounded by the fabric's per-hop and per-task constants whatever the length,
// and the sums are the chain's own, in its order.
import { describe, expect, it } from 'vitest';
import { assignColours } from '../../../../compiler/wafer/colour.js';
import { emitProgram } from '../../../../compiler/wafer/emit.js';
import { estimateStep } from '../../../../compiler/wafer/estimate.js';
import type { Lowered } from '../../../../compiler/wafer/lower.js';
import { placeTiles } from '../../../../compiler/wafer/place.js';
import { modelTag, PlanBuilder, slice } from '../../../../compiler/wafer/plan.js';
import { reduceUp } from '../../../../compiler/wafer/region.js';
import { meshView, routeStreams } from '../../../../compiler/wafer/route.js';
import { validateProgram } from '../../../../fabric/isa/validate.js';
import { opCycles } from '../../../../fabric/mesh/cost.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import type { Task } from '../../../../fabric/isa/types.js';
import { nodeStripPool } from '../../../../src/workers/stripPool.js';
import { piecewiseChainProgram, provider, seededVector, sl, type Tensors } from './programs.js';

const spec = getFabricPreset('mini-32');
const spec4 = getFabricPreset('mini-4');

/** A chain of `tiles` tiles each holding a b-value partial, summed up the chain into tile 0 (output "token", the name a program's step output needs). */
async function runChain(tiles: number, b: number) {
  const p = new PlanBuilder();
  const tensors: Tensors = {};
  const ts = Array.from({ length: tiles }, (_, i) => {
    const t = p.tile(`chain[${i}]`, 'chain', modelTag('down'));
    tensors[`v${i}`] = { data: seededVector(b, 40 + i), cols: b };
    p.buffer(t, 'p', 'f32', b, { kind: 'vector', tensor: `v${i}`, range: [0, b] }, 'activation');
    return t;
  });
  // Each tile's own partial is in SRAM at the start: an op-less start task, after which the tile merges and sends.
  const own = ts.map((t) => p.task(t, { on: 'start' }, [], 'own'));
  const value = slice('p', 0, b);
  const [root] = reduceUp(p, 'chain', ts, own, {
    len: b,
    src: value,
    recvBuffer: (n) => `r${n}`,
    merge: (r) => [{ op: 'add', a: value, b: slice(r, 0, b), out: value }],
    streamLabel: (c, j) => `red${c}>${j}`,
    recvLabel: 'recv',
    mergeLabel: 'add',
  });
  root.ops.push({ op: 'output', name: 'token', src: value });
  const lowered: Lowered = { plan: p, regions: [], tokenTiles: [], logitOutputs: [] };
  const placement = placeTiles(p.tiles, spec.widthTiles, spec.heightTiles, () => true, { fabric: spec.name, dead: 0 });
  const view = meshView(spec.widthTiles, spec.heightTiles, null);
  const colouring = assignColours(p.streams, routeStreams(p.streams, placement.tileOf, view), placement.tileOf, spec.widthTiles * spec.heightTiles, spec.colours, spec.widthTiles);
  if (!colouring.ok) throw new Error('colouring failed');
  const program = emitProgram(spec.name, lowered, placement, colouring.routes, colouring.colourOf, 4);
  validateProgram(spec, program, null, 'chain');
  const hops = colouring.routes.reduce((s, r) => s + r.maxHops, 0);
  const engine = await MeshEngine.create(spec, program, provider(tensors));
  const step = await engine.step({ token: 0, position: 0 });
  await engine.close();
  const estimate = estimateStep(spec, lowered, placement, colouring.routes, { position: 0 }).cycles;
  // The chain's own order: tile j adds what its child passed up to its partial.
  const want = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    let acc = tensors[`v${tiles - 1}`].data[i];
    for (let j = tiles - 2; j >= 0; j--) acc = Math.fround(tensors[`v${j}`].data[i] + acc);
    want[i] = acc;
  }
  return { cycles: step.cycles, sum: step.outputs.get('token')!, want, estimate, hops, forwarding: program.tiles.flatMap((t) => t.tasks).filter((t) => t.forwards).length };
}

describe('forwarding sends: a chain reduction', () => {
  it('pays the partial once and a bounded latency per level, with the chain order sums; the estimate agrees', async () => {
    const runs = new Map<string, Awaited<ReturnType<typeof runChain>>>();
    for (const tiles of [4, 8]) {
      for (const b of [64, 256]) {
        const r = await runChain(tiles, b);
        runs.set(`${tiles}/${b}`, r);
        expect([...r.sum]).toEqual([...r.want]);
        // Every tile but the leaf and the root forwards; the placement puts neighbours in the chain one hop apart.
        expect(r.forwarding).toBe(tiles - 2);
        expect(r.hops).toBe(tiles - 1);
        // The estimate starts a send's wavelets when its issue cycle ends, the engine in it: a cycle per send apart.
        expect(r.estimate).toBeGreaterThanOrEqual(r.cycles);
        expect(r.estimate - r.cycles).toBeLessThanOrEqual(tiles - 1);
      }
    }
    const at = (tiles: number, b: number) => runs.get(`${tiles}/${b}`)!.cycles;
    // The wavelets are paid once: 192 more per partial cost 192 more cycles at any depth (store and forward: per
    // level), beside what the root's output of the longer sum costs.
    const out = (b: number) => opCycles(spec, { op: 'output', name: 'token', src: slice('p', 0, b) }, { position: 0, dtypeOf: () => 'f32' });
    for (const tiles of [4, 8]) expect(Math.abs(at(tiles, 256) - at(tiles, 64) - 192 - (out(256) - out(64)))).toBeLessThanOrEqual(2);
    // Each level adds the same latency whatever the partial's length, at least a hop and the two ramps, and at most
    // those plus one task's start, one op's setup and element, a send's issue and the cycle a wavelet waits to be added.
    const level = (b: number) => (at(8, b) - at(4, b)) / 4;
    expect(Math.abs(level(256) - level(64))).toBeLessThanOrEqual(0.5);
    const floor = spec.hopLatencyCycles + 2 * spec.rampLatencyCycles;
    const ceiling = floor + spec.taskStartCycles + spec.costs.opSetupCycles + 1 + spec.costs.sendIssueCycles + 1;
    expect(level(64)).toBeGreaterThanOrEqual(floor);
    expect(level(64)).toBeLessThanOrEqual(ceiling);
    // Far below store and forward, which pays every level's whole partial.
    expect(at(8, 256)).toBeLessThanOrEqual(256 + 7 * ceiling + out(256) + ceiling);
    expect(at(8, 256)).toBeLessThan(7 * 256);
  });
});

describe('forwarding sends: the hand-written 1×4 chain', () => {
  const n = 64;
  const forwarded = () => {
    const { program, tensors } = piecewiseChainProgram(n, true);
    // Tiles 1 and 2 send their sums on; tile 3 outputs.
    for (const t of program.tiles.slice(1, 3)) t.tasks[2].forwards = true;
    return { program, tensors };
  };

  it.each([
    ['inline', {}],
    ['parallel mesh, 2 threads', { workers: 2, stripPool: nodeStripPool, stripCut: { rows: 1, cols: 1 } }],
  ] as const)('%s: the same sums, and the two middle levels no longer pay the partial', async (_name, opts) => {
    const run = async (p: ReturnType<typeof forwarded>) => {
      const engine = await MeshEngine.create(spec4, p.program, provider(p.tensors), opts);
      const r = await engine.step({ token: 0, position: 0 });
      await engine.close();
      return { cycles: r.cycles, sum: [...r.outputs.get('sum')!] };
    };
    const piecewise = await run(piecewiseChainProgram(n, true));
    const cut = await run(forwarded());
    expect(cut.sum).toEqual(piecewise.sum);
    // Store and forward pays the n wavelets at each of the three links; forwarding pays them once, so it saves at
    // least (n − 1) per forwarding tile less that tile's level latency (at most the bound of the chain test above).
    const level = spec4.hopLatencyCycles + 2 * spec4.rampLatencyCycles + spec4.taskStartCycles + spec4.costs.opSetupCycles + 1 + spec4.costs.sendIssueCycles + 1;
    expect(piecewise.cycles - cut.cycles).toBeGreaterThanOrEqual(2 * (n - 1 - level));
    expect(piecewise.cycles - cut.cycles).toBeLessThanOrEqual(2 * n);
  });

  it('refuses a forwarding task that is not a merge of its stream followed by sends no longer than it', () => {
    const bad = (edit: (t: Task) => void, message: string) => {
      const { program } = forwarded();
      edit(program.tiles[1].tasks[2]);
      expect(() => validateProgram(spec4, program, null, 'test')).toThrow(message);
    };
    bad((t) => delete t.streams, 'forwards but streams from no recv task');
    bad((t) => t.ops.push({ op: 'copy', src: sl('acc', n), out: sl('own', n) }), 'is not a send of at most 64 wavelets');
    bad((t) => t.ops.reverse(), 'has no streamed op before a send');
    bad((t) => t.ops.unshift({ op: 'copy', src: sl('own', n), out: sl('acc', n) }), 'does not read the received buffer');
  });
});
