// The report's data and charts from a real compile and mesh run of toy-dense on a faulty mini-32: per-tile busy
// cycles equal to the engine's own statistics, roles classified, the wafer map, heatmap and SRAM histogram drawn
// from them, and the data file validated on the way back in (every message asserted).
import { ASSUMPTIONS, assumptionValue } from '../../../../fabric/spec/assumptions.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tileSramBytes } from '../../../../fabric/isa/sram.js';
import { prepareCompile, type CompileJob } from '../../../../src/wafer/compileJob.js';
import { runWithTileStats, type TileStats } from '../../../../src/study/meshStats.js';
import { buildReportData, classifyRole, parseNocSweep, parseReportData, type ReportData } from '../../../../src/study/reportData.js';
import { defaultRouteColour, lighten, roleFill, waferMapSvg } from '../../../../src/report/waferMap.js';
import { sramFillBins, sramHistogramSvg } from '../../../../src/report/sramHistogram.js';
import { nocChartSvg } from '../../../../src/report/nocChart.js';
import { heatColour } from '../../../../src/report/svg.js';
import { reportHtml } from '../../../../src/report/html.js';
import type { MeshRunResult } from '../../../../src/wafer/runJob.js';
import type { TileTag, TileUnit } from '../../../../compiler/wafer/plan.js';

let job: CompileJob;
let run: MeshRunResult;
let stats: TileStats;
let data: ReportData;
const prompt = [1, 2, 3];

beforeAll(async () => {
  job = prepareCompile({ model: 'toy-dense', fabric: 'mini-32', dtype: 'bf16', maxSeq: '16', faultDensity: '0.02', seed: '3' }, false);
  ({ run, stats } = await runWithTileStats(job, prompt, 3, { workers: 0 }));
  data = buildReportData({ job, run: { result: run, stats, prompt }, faults: null, compare: null, marks: [], noc: null });
});

describe('classifyRole', () => {
  const tag = (unit: TileUnit, layer: number | null, expert: number | 'shared' | null = null): TileTag => ({ unit, layer, expert, index: [0] });
  it.each([
    [tag('down', 3), 'down', 3],
    [tag('gate-up', 0), 'gate-up', 0],
    [tag('qkv', 12), 'qkv', 12],
    [tag('kv', 1), 'attention-kv', 1],
    [tag('kv-chunk', 1), 'attention-kv', 1],
    [tag('o', 1), 'o', 1],
    [tag('attn-hub', 2), 'hub', 2],
    [tag('mlp-hub', 2), 'hub', 2],
    [tag('final-hub', null), 'hub', null],
    [tag('expert-hub', 0, 5), 'expert', 0],
    [tag('gate-up', 0, 5), 'expert', 0],
    [tag('reserved-expert', 4, 1), 'expert', 4],
    [tag('embedding', null), 'embedding', null],
    [tag('lm-head', null), 'lm-head', null],
    [tag('relay', null), 'relay', null],
    [tag('stage-out', null), 'other', null],
    [null, 'other', null],
  ])('%o -> %s, layer %s', (t, group, layer) => {
    expect(classifyRole(t)).toEqual({ group, layer });
  });

  it('gives every tile of the compiled program the group of its tag, relays included', () => {
    const tags = job.result.tileTags!;
    expect(tags).toHaveLength(job.result.program.tiles.length);
    const relays = job.result.program.tiles.filter((t) => t.tasks.length === 0 && t.buffers.length === 0).length;
    expect(data.tiles.filter((t) => t.group === 'relay')).toHaveLength(relays);
    expect(data.tiles.filter((t) => t.group === 'other')).toHaveLength(0);
  });
});

describe('per-tile data from the mesh run', () => {
  it('keeps the engine statistics per tile, over the cycles of every step', () => {
    expect(stats.totalCycles).toBe(run.stepCycles.reduce((s, c) => s + c, 0));
    const busyTiles = data.tiles.filter((t) => (t.busyCycles ?? 0) > 0).length;
    expect(busyTiles / run.tilesUsed).toBeCloseTo(run.utilisation.busyTileFraction, 12);
    const W = job.result.program.widthTiles;
    job.result.program.tiles.forEach((t, i) => {
      expect(data.tiles[i].busyCycles).toBe(stats.tileBusyCycles[t.y * W + t.x]);
      expect(data.tiles[i].sramBytes).toBe(tileSramBytes(t));
    });
  });

  it('lists the dead tiles and cores of the route-around fault map (only relays cross a dead core) and the run summary', () => {
    expect(data.deadTiles.length + data.deadCores.length).toBe(job.result.report.deadTiles);
    expect(data.deadTiles.length).toBeGreaterThan(0);
    expect(data.deadCores.length).toBeGreaterThan(0);
    const at = new Map(data.tiles.map((t) => [`${t.x},${t.y}`, t.group]));
    for (const [x, y] of data.deadTiles) expect(at.get(`${x},${y}`)).toBeUndefined();
    for (const [x, y] of data.deadCores) expect([undefined, 'relay']).toContain(at.get(`${x},${y}`));
    expect(data.run).toMatchObject({ prompt, tokens: run.tokens, steps: 5, totalCycles: stats.totalCycles, matchesReference: true });
    expect(data.busySource).toBe('mesh run');
  });

  it('with remap, the defects are hidden (none on the logical map); without a run there is no busy data', () => {
    const remapped = prepareCompile({ model: 'toy-dense', fabric: 'mini-32', dtype: 'bf16', maxSeq: '16', faultDensity: '0.02', seed: '3', repair: 'remap' }, false);
    const d = buildReportData({ job: remapped, run: null, faults: null, compare: null, marks: [], noc: null });
    expect(d.deadTiles).toEqual([]);
    expect(d.deadCores).toEqual([]);
    expect(d.hiddenDefects).toBe(remapped.result.report.remap!.hiddenDefects);
    expect(d.hiddenDefects).toBeGreaterThan(0);
    expect(d.busySource).toBe('none');
    expect(d.tiles.every((t) => t.busyCycles === null)).toBe(true);
    const html = reportHtml(d);
    expect(html).toContain(`${d.hiddenDefects} defects hidden by remap`);
    expect(html).toContain('none (the model has no weights to run): the heatmap is empty');
    // Every assumption of the cost model is listed, at the value the run's fabric holds.
    for (const a of ASSUMPTIONS) expect(html).toContain(`assumed: ${a.name}</td><td>${assumptionValue(remapped.spec, a)} `);
  });

  it('round-trips through JSON and the strict schema', () => {
    expect(parseReportData(JSON.parse(JSON.stringify(data)), 'run.json')).toEqual(data);
  });
});

describe('parseReportData rejects what it cannot draw', () => {
  const json = () => JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  it('a JSON file of another kind', () => {
    expect(() => parseReportData({ pattern: 'uniform' }, 'x.json')).toThrow('not a wafer report data file (no "kind": "wafer-report-data") (x.json): write one with `wafer report --model … --fabric … --json > run.json` and pass that file');
  });
  it('a `wafer run --json` document', () => {
    expect(() => parseReportData({ tokens: [1], stepCycles: [5] }, 'r.json')).toThrow('this is `wafer run --json` output, which has no per-tile data (r.json): write the report data with `wafer report --model … --fabric … --json > run.json` (same options as run) and pass that file');
  });
  it('another version', () => {
    expect(() => parseReportData({ ...json(), version: 1 }, 'r.json')).toThrow('report data version 1 is not supported (this build reads version 2) (r.json): regenerate it with this build: wafer report … --json');
  });
  it('unknown keys, wrong types, tiles off the mesh', () => {
    expect(() => parseReportData({ ...json(), extra: 1 }, 'r.json')).toThrow('unknown key "extra" (r.json: (root)): remove it or check its spelling');
    const j = json();
    (j.tiles as { group: string }[])[0].group = 'gpu';
    expect(() => parseReportData(j, 'r.json')).toThrow(/^unsupported value \(r\.json: tiles\.0\.group\): use one of "hub", "qkv"/);
    const k = json();
    (k.tiles as { x: number }[])[0].x = 32;
    expect(() => parseReportData(k, 'r.json')).toThrow('tile (32,0) lies outside the 32×32 mesh (r.json: tiles): regenerate the file with wafer report … --json');
  });
  it('a NoC file that is not a sweep', () => {
    expect(() => parseNocSweep({ pattern: 'uniform', width: 8, height: 8, bisectionBoundRate: 0.5 }, 'noc.json')).toThrow('not a NoC sweep (no "sweep" list) (noc.json): write one with `wafer noc … --sweep --json > noc.json` and pass that file');
    expect(() => parseNocSweep({ width: 8, height: 8, bisectionBoundRate: 0.5, sweep: [] }, 'noc.json')).toThrow('missing required field (noc.json: pattern): add "pattern"');
    expect(() => parseNocSweep({ pattern: 'uniform', width: 8, height: 8, bisectionBoundRate: 0.5, sweep: [] }, 'noc.json')).toThrow(/^Too small: expected array to have >=1 items \(noc\.json: sweep\)/);
  });
});

describe('charts', () => {
  it('the wafer map: one cell per tile, dead tiles marked, the routes of one colour drawn link by link', () => {
    const colour = defaultRouteColour(data)!;
    const svg = waferMapSvg(data, { mode: 'roles', routeColour: colour });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect [^>]*class="tile /g)).toHaveLength(data.tiles.length);
    expect(svg.match(/<g class="dead">/g)).toHaveLength(data.deadTiles.length);
    expect(svg.match(/<g class="dead-core">/g)).toHaveLength(data.deadCores.length);
    let links = 0;
    let sources = 0;
    for (const t of data.tiles)
      for (const [c, from, to] of t.routes)
        if (c === colour) {
          links += to.filter((p) => p !== 'ramp').length;
          if (from === 'ramp') sources++;
        }
    expect(links).toBeGreaterThan(0);
    expect(svg.match(/class="route-link"/g)).toHaveLength(links);
    expect(svg.match(/class="route-source"/g)).toHaveLength(sources);
    const lm = data.tiles.find((t) => t.group === 'lm-head')!;
    expect(svg).toContain(`fill="${roleFill(lm)}" class="tile role-lm-head"`);
  });

  it('the default route colour is the least-used one carrying ≥ 2% of link hops', () => {
    const hops = new Map<number, number>();
    for (const t of data.tiles) for (const [c, , to] of t.routes) hops.set(c, (hops.get(c) ?? 0) + to.filter((p) => p !== 'ramp').length);
    const total = [...hops.values()].reduce((a, b) => a + b, 0);
    const chosen = defaultRouteColour(data)!;
    expect(hops.get(chosen)!).toBeGreaterThanOrEqual(0.02 * total);
    for (const [c, n] of hops) if (n >= 0.02 * total && c !== chosen) expect(n).toBeGreaterThanOrEqual(hops.get(chosen)!);
  });

  it('the heatmap colours by busy share and the roles alternate shade by layer', () => {
    const svg = waferMapSvg(data, { mode: 'busy' });
    expect(svg).toContain('id="wafer-heatmap"');
    const busiest = Math.max(...data.tiles.map((t) => t.busyCycles!));
    expect(svg).toContain(`${((100 * busiest) / data.run!.totalCycles).toFixed(1)}%`);
    expect(lighten('#000000', 0.5)).toBe('#808080');
    expect(roleFill({ group: 'down', layer: 1 })).toBe(lighten(roleFill({ group: 'down', layer: 0 }), 0.4));
  });

  it('a mesh wider than 320 tiles is drawn in blocks: the commonest role, the mean busy share', () => {
    const tile = (x: number, y: number, group: 'down' | 'qkv', busyCycles: number) => ({ x, y, role: group === 'down' ? 'L0.mlp.down[0,0]' : 'L0.attn.qkv0[0,0]', group, layer: 0, sramBytes: 1024, busyCycles, routes: [] });
    const big: ReportData = {
      ...data,
      widthTiles: 755,
      heightTiles: 1170,
      deadTiles: [[754, 1169]],
      deadCores: [],
      tiles: [tile(0, 0, 'down', 10), tile(1, 0, 'down', 30), tile(2, 0, 'qkv', 50), tile(9, 9, 'qkv', 0)],
      run: { ...data.run!, totalCycles: 100 },
    };
    // 1170 rows / 320 → blocks of 4×4 tiles; 293 block rows → 2 px per block.
    const svg = waferMapSvg(big, { mode: 'roles' });
    expect(svg).toContain('4×4 tiles per cell');
    expect(svg.match(/class="tile /g)).toHaveLength(2);
    expect(svg).toContain('<rect x="0" y="0" width="2" height="2" fill="#e31a1c" class="tile role-down"/>');
    expect(svg).toContain('<rect x="4" y="4" width="2" height="2" fill="#1f78b4" class="tile role-qkv"/>');
    expect(svg).toContain('<rect x="376" y="584" width="2" height="2" fill="#222222"/>');
    const heat = waferMapSvg(big, { mode: 'busy' });
    // Block (0,0) averages 10%, 30%, 50% = 30% of cycles; the scale runs to the busiest tile (50%).
    expect(heat).toContain(`fill="${heatColour(0.3 / 0.5)}" class="tile role-down"`);
  });

  it('the SRAM histogram counts every placed tile once', () => {
    const bins = sramFillBins(data);
    expect(bins).toHaveLength(20);
    expect(bins.reduce((s, n) => s + n, 0)).toBe(job.result.report.tilesUsed);
    expect(sramHistogramSvg(data).match(/class="bar"/g)).toHaveLength(20);
  });

  it('the NoC curve marks saturated loads hollow', () => {
    const noc = parseNocSweep(JSON.parse(readFileSync('test/unit/src/report/fixtures/noc-sweep.json', 'utf8')), 'noc');
    const svg = nocChartSvg(noc);
    expect(svg.match(/class="saturated"/g)?.length ?? 0).toBe(noc.sweep.filter((p) => p.saturated && p.meanLatencyCycles !== null).length);
    expect(svg.match(/class="(point|saturated)"/g)).toHaveLength(noc.sweep.filter((p) => p.meanLatencyCycles !== null).length);
    expect(svg).toContain('bisection bound 0.5');
  });

  it('the HTML has no script, no external reference, and every section', () => {
    const html = reportHtml(data);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link |@import|url\(http|src="http/i);
    for (const id of ['wafer-map', 'wafer-heatmap', 'sram-histogram']) expect(html).toContain(`id="${id}"`);
    expect(html).not.toContain('id="memory-wall"');
  });
});
