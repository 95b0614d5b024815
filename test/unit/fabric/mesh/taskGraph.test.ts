import { describe, expect, it } from 'vitest';
import { TRIG_AFTER, TRIG_RECV, TRIG_START, flattenTasks } from '../../../../fabric/mesh/taskGraph.js';
import type { Task } from '../../../../fabric/isa/types.js';

const task = (id: number, trigger: Task['trigger']): Task => ({ id, trigger, ops: [] });
const into = { buf: 'x', offset: 0, length: 1 };

describe('flattenTasks', () => {
  it('numbers tasks tile by tile and lists each task\'s dependents, with ids resolved within their tile', () => {
    const g = flattenTasks([
      { tasks: [task(0, { on: 'start' }), task(1, { on: 'recv', colour: 3, count: 1, into })] },
      // Ids out of order: the `after` task names tasks by id, not by position.
      { tasks: [task(7, { on: 'after', tasks: [9, 8], count: 1 }), task(9, { on: 'start' }), task(8, { on: 'recv', colour: 0, count: 1, into })] },
      { tasks: [] },
      { tasks: [task(0, { on: 'start' }), task(1, { on: 'after', tasks: [0] }), task(2, { on: 'after', tasks: [0, 1] })] },
    ]);
    expect([...g.taskBase]).toEqual([0, 2, 5, 5, 8]);
    expect([...g.taskTile]).toEqual([0, 0, 1, 1, 1, 3, 3, 3]);
    expect([...g.taskLocal]).toEqual([0, 1, 0, 1, 2, 0, 1, 2]);
    expect([...g.trigger]).toEqual([TRIG_START, TRIG_RECV, TRIG_AFTER, TRIG_START, TRIG_RECV, TRIG_START, TRIG_AFTER, TRIG_AFTER]);
    expect([...g.afterNeed]).toEqual([0, 0, 1, 0, 0, 0, 1, 2]);
    const dependents = (t: number) => [...g.deps.subarray(g.depStart[t], g.depStart[t + 1])];
    expect(dependents(3)).toEqual([2]);
    expect(dependents(4)).toEqual([2]);
    expect(dependents(5)).toEqual([6, 7]);
    expect(dependents(6)).toEqual([7]);
    expect([0, 1, 2, 7].map(dependents)).toEqual([[], [], [], []]);
  });
});
