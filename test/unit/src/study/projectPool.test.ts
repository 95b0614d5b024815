// Projections in worker threads: the same points as one after another on the main thread, in the jobs' order, and a
// refusal comes back as its message (not an exception) whichever thread ran it.
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compareFabrics, projectionJobs, resolveFabricArg, type CompareOptions } from '../../../../src/study/compare.js';
import { runProjections } from '../../../../src/study/projectPool.js';

describe('runProjections', () => {
  it('gives identical results on 0 and 2 workers, and compareFabrics draws on them unchanged', async () => {
    const o: CompareOptions = { model: getPreset('toy-moe'), fabrics: [resolveFabricArg('wse3')], batches: [1, 4], dtype: 'bf16', promptLength: 8, contextLength: 16, sweepModels: false };
    const jobs = projectionJobs(o);
    expect(jobs.map((j) => j.key)).toEqual(['toy-moe|wse3|1', 'toy-moe|wse3|4']);
    // A job the projection refuses (tiles too small for any block of the model) travels as its message.
    const refused = { ...jobs[0], key: 'refused', spec: { ...jobs[0].spec, sramBytesPerTile: 2048 } };
    const here = await runProjections([...jobs, refused], { workers: 0 });
    const there = await runProjections([...jobs, refused], { workers: 2 });
    expect([...there.keys()]).toEqual([...here.keys()]);
    expect(there).toEqual(here);
    expect(typeof here.get('refused')).toBe('string');
    expect(compareFabrics({ ...o, projections: there })).toEqual(compareFabrics(o));
  }, 120_000);
});
