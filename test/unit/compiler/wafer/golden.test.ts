// Golden summaries of the toy programs: any change to partition, placement, routing, colouring or the schedule
// shows up here as a diff to review (update with `npx vitest run -u` when the change is intended).
import { describe, expect, it } from 'vitest';
import { prepareCompile } from '../../../../src/wafer/compileJob.js';
import { compileSummary } from '../../../../src/commands/compile.js';

describe('golden compile summaries', () => {
  it.each([
    ['toy-dense', 'f32', ''],
    ['toy-moe', 'bf16', ''],
    ['toy-moe', 'bf16', '0.03'],
  ])('%s %s on mini-64, faults %s', async (model, dtype, faultDensity) => {
    const job = prepareCompile({ model, fabric: 'mini-64', dtype, maxSeq: '32', context: '8', ...(faultDensity ? { faultDensity, seed: '5' } : {}) }, false);
    const s = compileSummary(job);
    const golden = { ...s, groups: s.groups.length, regions: s.regions.slice(0, 12) };
    await expect(JSON.stringify(golden, null, 2) + '\n').toMatchFileSnapshot(`../../../golden/${model}.${dtype}.mini-64${faultDensity ? `.faults-${faultDensity}` : ''}.json`);
  });
});
