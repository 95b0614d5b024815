// Bad input to the decoding commands: one `error: <what> (<where>): <fix>` line on stderr, nothing on stdout, exit 2,
// before any projection or lowering runs. A few through the real CLI; the rest through the same parsers in-process.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../fabric/errors.js';
import { parseAgentTask, parseDecodeOptions, parseToolLatency } from '../../../../src/decode/options.js';
import { wafer } from '../cli/spawnWafer.js';

const BASE = ['--model', 'llama-3.1-8b', '--fabrics', 'wse3,h100'];

describe('decoding commands refuse bad input with one line and exit 2', () => {
  it.each([
    [['speculate', ...BASE, '--k', '0'], '--k'],
    [['speculate', ...BASE, '--acceptance', '1'], '--acceptance'],
    [['speculate', '--model', 'llama-3.1-70b', '--draft', 'qwen3-4b'], '--draft'],
    [['diffuse', ...BASE, '--block', '0'], '--block'],
    [['agent', ...BASE, '--tool-latency', 'normal:1,2'], '--tool-latency'],
    [['speculate', '--model', 'toy-dense', '--fabrics', 'mini-64', '--mesh', '--tokens', '70'], '--max-seq'],
  ])('wafer %j', async (args, where) => {
    const r = await wafer(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: .+ \\(${where}\\): .+`));
  });
});

const OPTS = { model: 'llama-3.1-8b', fabrics: 'wse3,h100', dtype: 'bf16' };
const TASK = { calls: '20', toolLatency: '0.5', promptTokens: '2000', outputTokens: '300', toolTokens: '500', seed: '1', prefixCache: true, overhead: '0.05' };

describe('the parsers name the option at fault', () => {
  it.each([
    [() => parseDecodeOptions({ ...OPTS, acceptance: '-0.2' }), '--acceptance'],
    [() => parseDecodeOptions({ ...OPTS, acceptance: '0.9,x' }), '--acceptance'],
    [() => parseDecodeOptions({ ...OPTS, acceptance: '0.9,1.2' }), '--acceptance'],
    [() => parseDecodeOptions({ ...OPTS, k: '65' }), '--k'],
    [() => parseDecodeOptions({ ...OPTS, steps: '0' }), '--steps'],
    [() => parseDecodeOptions({ ...OPTS, fabrics: 'wse3,nosuch' }), '--fabrics'],
    [() => parseDecodeOptions({ ...OPTS, fabrics: 'wse3,wse3' }), '--fabrics'],
    [() => parseDecodeOptions({ ...OPTS, draft: 'llama-3.1-8b', draftFraction: '0.1' }), '--draft'],
    [() => parseDecodeOptions({ ...OPTS, draftFraction: '0' }), '--draft-fraction'],
    [() => parseDecodeOptions({ ...OPTS, dtype: 'fp8' }), '--dtype'],
    [() => parseToolLatency('uniform:2,1'), '--tool-latency'],
    [() => parseToolLatency('exp:0'), '--tool-latency'],
    [() => parseToolLatency('-1'), '--tool-latency'],
    [() => parseToolLatency('lognormal:1'), '--tool-latency'],
    [() => parseToolLatency('uniform:1,2:3'), '--tool-latency'],
    [() => parseAgentTask({ ...TASK, calls: '0' }), '--calls'],
    [() => parseAgentTask({ ...TASK, overhead: '-1' }), '--overhead'],
  ])('%#', (f, where) => {
    try {
      f();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).where).toBe(where);
    }
  });
});
