// The page computes what the command line computes: the compile job of "Run it here" is the one `wafer run` builds
// from the command line the page prints for it (same program, byte for byte), and the wafer overrides change only
// the fields they name.
import { describe, expect, it } from 'vitest';
import { meshJob, studyWafer } from '../../../lab/compute.js';
import { DEFAULT_STATE, runCommandLine, type LabState } from '../../../lab/state.js';
import { prepareCompile, type CompileCliOptions } from '../../../src/wafer/compileJob.js';
import { getFabricPreset } from '../../../fabric/spec/index.js';

/** The compile options of a `npx wafer run …` line, as commander would give them to prepareCompile. */
function optionsOf(commandLine: string): CompileCliOptions {
  const words = commandLine.split(' ').slice(2);
  const o: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const flag = words[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (words[i + 1] === undefined || words[i + 1].startsWith('--')) continue;
    o[flag] = words[++i];
  }
  return o as unknown as CompileCliOptions;
}

describe('the page\'s run is wafer run\'s', () => {
  it.each<[string, Partial<LabState>]>([
    ['the default run', {}],
    ['toy-moe, remap, clustered, bf16', { runModel: 'toy-moe', mesh: 'mini-32', repair: 'remap', clusterAlpha: 2, density: 0.05, seed: 11, runDtype: 'bf16', tokens: 7 }],
    ['no defects, int8', { density: 0, runDtype: 'int8' }],
  ])('%s: the same program as the printed command line compiles', (_, change) => {
    const s = { ...DEFAULT_STATE, ...change };
    const page = meshJob(s, null);
    const cli = prepareCompile(optionsOf(runCommandLine(s)), true);
    expect(JSON.stringify(page.result.program)).toBe(JSON.stringify(cli.result.program));
    expect(page.estimate).toEqual(cli.estimate);
  });
});

describe('wafer overrides', () => {
  it('change only the fields they name; 0 keeps the preset', () => {
    const base = getFabricPreset('mini-64');
    expect(studyWafer({ ...DEFAULT_STATE, wafer: 'mini-64' })).toBe(base);
    const w = studyWafer({ ...DEFAULT_STATE, wafer: 'mini-64', sramKiB: 96, simdF16: 16, gridW: 80 });
    expect(w).toEqual({ ...base, name: 'mini-64*', sramBytesPerTile: 96 * 1024, widthTiles: 80, simdWidth: { ...base.simdWidth, f16: 16 } });
  });
});
