// src/commands/index.ts loads command modules on demand: one named command alone, or all of them.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, registerAll } from '../../../../src/commands/index.js';

const names = (c: Command) => c.commands.map((s) => s.name());

describe('registerAll', () => {
  it('registers only the named command, or every command (in help order) for no name or an unknown one', async () => {
    const one = new Command('wafer');
    await registerAll(one, 'gpu');
    expect(names(one)).toEqual(['gpu']);
    for (const only of [undefined, 'complie', 'help']) {
      const all = new Command('wafer');
      await registerAll(all, only);
      expect(names(all)).toEqual(COMMAND_NAMES);
    }
    expect(COMMAND_NAMES).toEqual(['demo', 'model', 'generate', 'compile', 'faults', 'run', 'gpu', 'calibrate', 'compare', 'project', 'speculate', 'diffuse', 'decode', 'agent', 'noc', 'bench', 'report', 'sweep', 'lab']);
  });
});
