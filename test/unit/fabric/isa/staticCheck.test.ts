// The static check of streams and triggers (fabric/isa/staticCheck.ts): every program the compiler emits passes it
// (dense and MoE, with and without faults), and hand edits of an emitted program that used to pass validation and
// fail mid-run — a short receive, an overflowing one (a deadlock), a task cycle, a trigger nothing feeds — are
// refused at load with a message naming the tile and the trigger.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { generateFaults } from '../../../../fabric/faults/index.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { validateProgram } from '../../../../fabric/isa/validate.js';
import { staticCheck } from '../../../../fabric/isa/staticCheck.js';
import type { Op, Program, Task } from '../../../../fabric/isa/types.js';
import { catchInputError } from '../../inputError.js';
import { f32, program as mkProgram, route, sl, task, tile } from '../mesh/programs.js';

const spec = getFabricPreset('mini-64');
const emitted = (model: 'toy-dense' | 'toy-moe', density: number): Program => {
  const faults = density > 0 ? generateFaults({ width: spec.widthTiles, height: spec.heightTiles, density, seed: 3 }) : null;
  return compileModel(buildGraph(getPreset(model)), { spec, faults, repair: 'route-around', dtype: 'f32', maxSeq: 16 }).program;
};
const dense = emitted('toy-dense', 0);
const copy = (): Program => structuredClone(dense);

/** The first recv trigger fed only by sends that happen every step (not embed or dispatch). */
function recvTask(p: Program): { k: number; j: number; task: Task & { trigger: { on: 'recv' } } } {
  const s = staticCheck(p).find((x) => x.maybe.length === 0 && x.always > 1)!;
  return { k: s.tile, j: s.task, task: p.tiles[s.tile].tasks[s.task] as Task & { trigger: { on: 'recv' } } };
}

describe('static check of emitted programs', () => {
  it.each([
    ['toy-dense', 0],
    ['toy-dense', 0.03],
    ['toy-moe', 0],
    ['toy-moe', 0.03],
  ] as const)('%s at fault density %s passes', (model, density) => {
    expect(() => validateProgram(spec, emitted(model, density), null)).not.toThrow();
  });
});

describe('hand-edited programs are refused at load', () => {
  it('a recv counting one wavelet more than is sent: a short receive', () => {
    const p = copy();
    const { k, task } = recvTask(p);
    const sent = task.trigger.count;
    task.trigger.count = sent + 1;
    task.trigger.into = { ...task.trigger.into, length: Math.max(task.trigger.into.length, sent + 1) };
    const buf = p.tiles[k].buffers.find((b) => b.name === task.trigger.into.buf)!;
    buf.length = Math.max(buf.length, task.trigger.into.offset + sent + 1);
    expect(catchInputError(() => validateProgram(spec, p, null)).message).toMatch(new RegExp(`^only ${sent} wavelets arrive on colour \\d+ per step, but the trigger of task \\d+ counts ${sent + 1}: a short receive`));
  });

  it('a recv counting one wavelet less than is sent: the rest are stuck (a deadlock)', () => {
    const p = copy();
    const { task } = recvTask(p);
    const sent = task.trigger.count;
    task.trigger.count = sent - 1;
    expect(catchInputError(() => validateProgram(spec, p, null)).message).toMatch(new RegExp(`^${sent} wavelets arrive on colour \\d+ every step, but the trigger of task \\d+ counts ${sent - 1}: the rest stay stuck`));
  });

  it('a send shortened by one element: a short receive at its receiver', () => {
    const p = copy();
    const op = p.tiles.flatMap((t) => t.tasks.flatMap((t2) => t2.ops)).find((o): o is Extract<Op, { op: 'send' }> => o.op === 'send' && o.src.length > 1)!;
    op.src = { ...op.src, length: op.src.length - 1 };
    expect(catchInputError(() => validateProgram(spec, p, null)).message).toMatch(/a short receive|never add up/);
  });

  it('the sends feeding a trigger removed: it can never fire', () => {
    const p = copy();
    const { task } = recvTask(p);
    const colour = task.trigger.colour;
    for (const t of p.tiles) for (const t2 of t.tasks) t2.ops = t2.ops.filter((o) => !(o.op === 'send' && o.colour === colour));
    expect(catchInputError(() => validateProgram(spec, p, null)).message).toMatch(new RegExp(`waits for \\d+ wavelets on colour ${colour}, but no send reaches this tile on it: it never runs|never add up`));
  });

  it('two tiles each waiting for the other to send first: the tasks wait on each other in a cycle', () => {
    // (0,0) sends on colour 0 when it has received colour 1; (1,0) sends colour 1 when it has received colour 0.
    const side = (x: number, inC: number, outC: number) =>
      tile(x, 0, {
        buffers: [f32('in', 4)],
        routes: [route(inC, x === 0 ? 'E' : 'W', 'ramp'), route(outC, 'ramp', x === 0 ? 'E' : 'W')],
        tasks: [task(0, { on: 'recv', colour: inC, count: 4, into: sl('in', 4) }, [{ op: 'send', colour: outC, src: sl('in', 4) }, { op: 'output', name: `o${x}`, src: sl('in', 4) }])],
      });
    const p = mkProgram(2, 1, [side(0, 1, 0), side(1, 0, 1)], 'o0');
    expect(catchInputError(() => validateProgram(getFabricPreset('mini-4'), p, null)).message).toMatch(/^tile \(\d,0\) task 0 waits, through its trigger, on its own output: the tasks wait on each other in a cycle \(a deadlock\)/);
  });
});
