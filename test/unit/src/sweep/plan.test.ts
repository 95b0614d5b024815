// The sweep file: strict parsing (every message names its path), expansion into points (the product of the axes,
// every default filled in), and keys (a hash of the inputs: stable, and different for different work).
import { describe, expect, it } from 'vitest';
import { catchInputError } from '../../inputError.js';
import { canonicalJson, expandPoints, pointCount } from '../../../../src/sweep/points.js';
import { planSweep, pointKey } from '../../../../src/sweep/plan.js';
import { DEFAULT_OUTPUTS, OUTPUTS } from '../../../../src/sweep/runPoint.js';
import { parseSweepText, type SweepFile } from '../../../../src/sweep/schema.js';

const file = (studies: unknown[], extra: Record<string, unknown> = {}): string => JSON.stringify({ name: 'test', studies, ...extra });
const parse = (studies: unknown[], extra?: Record<string, unknown>): SweepFile => parseSweepText(file(studies, extra), 's.json');
const plan = (studies: unknown[], max?: number) => planSweep(parse(studies), 's.json', max);

describe('parseSweepText', () => {
  it('reads YAML and JSON into the same sweep', () => {
    const yaml = 'name: test\nstudies:\n  - run: gpu\n    axes: { model: [toy-moe], gpu: [h100], gpus: [1, 2] }\n';
    const json = file([{ run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'], gpus: [1, 2] } }]);
    expect(parseSweepText(yaml, 's.yaml')).toEqual(parseSweepText(json, 's.json'));
  });

  it.each([
    ['s.json: studies.0.axes.gpus.0', [{ run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'], gpus: [0] } }], /too small/i],
    ['s.json: studies.0.axes.faultDensity.1', [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], faultDensity: [0.1, 1.5] } }], /too big/i],
    ['s.json: studies.0.axes', [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], sram: [1] } }], /unknown key "sram"/],
    ['s.json: studies.0.axes.model', [{ run: 'mesh', axes: { fabric: ['mini-64'] } }], /missing required field/],
    ['s.json: studies.0.run', [{ run: 'simulate', axes: {} }], /./],
    ['s.json: studies.0.axes.grid.0', [{ run: 'noc', axes: { fabric: ['mini-16'], grid: ['8 by 8'], rate: [0.1] } }], /WxH/],
    ['s.json: studies.0.axes.seed.count', [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], seed: { from: 0, count: 0 } } }], /too small/i],
    ['s.json: studies', [], /too small/i],
  ])('rejects a bad file, naming %s', (where, studies, what) => {
    const e = catchInputError(() => parse(studies as unknown[]));
    expect(e.where).toBe(where);
    expect(e.message).toMatch(what);
  });

  it('malformed YAML and JSON are one error naming the file', () => {
    expect(catchInputError(() => parseSweepText('name: [a', 'x.yaml')).message).toMatch(/^malformed YAML: .* \(x\.yaml\): fix the YAML syntax$/);
    expect(catchInputError(() => parseSweepText('{"name":', 'x.json')).message).toMatch(/^malformed JSON: .*\(x\.json\): fix the JSON syntax$/);
  });
});

describe('planSweep', () => {
  it.each([
    ['s.json: studies.0.axes.model.1', [{ run: 'project', axes: { model: ['toy-moe', 'no-such-model'], fabric: ['mini-64'] } }], /unknown model preset "no-such-model"/],
    ['s.json: studies.0.axes.model.0', [{ run: 'mesh', axes: { model: ['llama-3.1-8b'], fabric: ['mini-64'] } }], /unknown runnable model preset/],
    ['s.json: studies.0.axes.gpu.0', [{ run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h999'] } }], /unknown GPU preset "h999"/],
    ['s.json: studies.0.axes.fabric.0', [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['wse9'] } }], /unknown fabric preset/],
    ['s.json: studies.0.axes.grid.1', [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], grid: ['32x32', '65x10'] } }], /not within mini-64's 64x64/],
    ['s.json: studies.0.outputs.1', [{ run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'] }, outputs: ['decodeTokensPerSecond', 'tilesUsed'] }], /unknown output "tilesUsed"/],
    ['s.json: studies.0.axes.sramBytesPerTile.1 (on mini-64): sramBytesPerTile', [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], sramBytesPerTile: [65536, 1e12] } }], /too big/i],
  ])('refuses what names nothing real, at %s', (where, studies, what) => {
    const e = catchInputError(() => plan(studies));
    expect(e.where).toBe(where);
    expect(e.message).toMatch(what);
  });

  it('bounds the points before building them, and names the flag that raises the bound', () => {
    const big = [{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], faultDensity: [0, 0.01, 0.02], seed: { count: 10_000 } } }];
    const e = catchInputError(() => plan(big, 20_000));
    expect(e.message).toMatch(/^the sweep has 30,000 points, more than 20,000 \(s\.json\): .*--max-points 30000$/);
  });

  it('expands the product of the axes, the last axis fastest, every default filled in', () => {
    const p = plan([{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], repair: ['remap', 'route-around'], faultDensity: [0, 0.05], seed: { from: 3, count: 3 } } }]);
    expect(p.points).toHaveLength(2 * 2 * 3);
    expect(p.points.map((x) => [x.params.repair, x.params.faultDensity, x.params.seed]).slice(0, 7)).toEqual([
      ['remap', 0, 3],
      ['remap', 0, 4],
      ['remap', 0, 5],
      ['remap', 0.05, 3],
      ['remap', 0.05, 4],
      ['remap', 0.05, 5],
      ['route-around', 0, 3],
    ]);
    expect(p.points[0].params).toMatchObject({ dtype: 'bf16', batch: 1, wafers: 'auto', clustered: null, sramBytesPerTile: null });
    expect(p.points[0].outputs).toEqual(DEFAULT_OUTPUTS.project);
    for (const kind of ['project', 'mesh', 'gpu', 'noc'] as const) for (const o of DEFAULT_OUTPUTS[kind]) expect(Object.keys(OUTPUTS[kind])).toContain(o);
  });

  it('counts what it expands, over several studies', () => {
    const f = parse([
      { run: 'gpu', axes: { model: ['toy-moe', 'toy-dense'], gpu: ['h100', 'h200'], gpus: [1, 2, 4] } },
      { run: 'noc', axes: { fabric: ['mini-16'], grid: ['8x8'], rate: [0.1, 0.2], seed: [1, 2, 3, 4, 5] } },
    ]);
    expect(pointCount(f)).toBe(12 + 10);
    expect(expandPoints(f, () => [])).toHaveLength(22);
  });

  it('keys: the same for the same work however the file is written, different for different work', () => {
    const a = plan([{ run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'], gpus: [1, 2] } }]);
    const reordered = planSweep(parseSweepText('{"studies":[{"axes":{"gpus":[1,2],"gpu":["h100"],"model":["toy-moe"]},"run":"gpu"}],"name":"other"}', 'x.json'), 'x.json');
    expect(reordered.points.map((p) => p.key)).toEqual(a.points.map((p) => p.key));
    const keys = a.points.map((p) => p.key);
    expect(new Set(keys).size).toBe(2);
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{16}$/);
    // The outputs kept are part of the work: another list is another point.
    expect(pointKey({ ...a.points[0], outputs: ['gpus'] })).not.toBe(a.points[0].key);
  });

  it('one point named by two studies is one point', () => {
    const s = { run: 'gpu', axes: { model: ['toy-moe'], gpu: ['h100'], gpus: [1, 2] } };
    expect(plan([s, { ...s, axes: { ...s.axes, gpus: [2, 4] } }]).points.map((p) => p.params.gpus)).toEqual([1, 2, 4]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined, so equal values print equal', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe('{"a":{"d":[1,{"e":3,"f":2}]},"b":1}');
    expect(JSON.parse(canonicalJson({ z: [3, 2], y: null }))).toEqual({ z: [3, 2], y: null });
  });
});
