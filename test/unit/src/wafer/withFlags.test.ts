// The core names the API option a bad value came in (OptionError); the CLI edge reports the flag it came from.
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../../../compiler/model/presets.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { InputError, OptionError } from '../../../../fabric/errors.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { OPTION_FLAGS, withFlags } from '../../../../src/wafer/setup.js';
import { catchInputError } from '../../inputError.js';

describe('withFlags', () => {
  const project = () => projectWafer(getPreset('toy-dense'), getFabricPreset('mini-64'), { context: 2048, kvChunkPositions: 2048 });

  it('reports a core option error by its flag, the rest of the message as it was', () => {
    const core = catchInputError(project);
    expect(core).toBeInstanceOf(OptionError);
    expect((core as OptionError).option).toBe('kvChunkPositions');
    const cli = catchInputError(() => withFlags(OPTION_FLAGS, project));
    expect(cli.where).toBe('--kv-chunk');
    expect([cli.what, cli.fix]).toEqual([core.what, core.fix]);
  });

  it('passes other errors through unchanged', () => {
    const plain = new InputError('bad', 'somewhere', 'fix it');
    expect(catchInputError(() => withFlags(OPTION_FLAGS, () => { throw plain; }))).toBe(plain);
    const unmapped = new OptionError('maxFan', 'bad', 'fix it');
    expect(catchInputError(() => withFlags(OPTION_FLAGS, () => { throw unmapped; }))).toBe(unmapped);
  });

  it('names the options a fix mentions: field names in the core, flags at the edge', () => {
    const e = new OptionError('contextLength', 'too short', (name) => `give ${name('contextLength')} ≥ 8 or a smaller ${name('batch')}`);
    expect(e.message).toBe('too short (contextLength): give contextLength ≥ 8 or a smaller batch');
    const cli = catchInputError(() => withFlags({ contextLength: '--context', batch: '--batch' }, () => { throw e; }));
    expect(cli.message).toBe('too short (--context): give --context ≥ 8 or a smaller --batch');
    const place = new InputError('cut off', 'fault map', (name) => `use ${name('repair')} remap`);
    expect(catchInputError(() => withFlags({ repair: '--repair' }, () => { throw place; })).message).toBe('cut off (fault map): use --repair remap');
  });
});
