// compare's data: fabric arguments, the fewest GPUs holding a model, rows from each source checked against that source
// called directly, the time split, the model and batch sweeps, rooflines and SRAM edges.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateGpu } from '../../../../compiler/gpu/estimate.js';
import { getPreset, listPresets } from '../../../../compiler/model/presets.js';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { estimateStep } from '../../../../compiler/wafer/estimate.js';
import { InputError } from '../../../../fabric/errors.js';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { compareFabrics, fewestGpus, resolveFabricArg, type CompareOptions } from '../../../../src/study/compare.js';
import { toSplit } from '../../../../src/study/waferEstimate.js';
import { projectWafer, PROJECTION_METHOD } from '../../../../compiler/project/index.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-compare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function opts(model: string, fabrics: string[], extra: Partial<CompareOptions> = {}): CompareOptions {
  return { model: getPreset(model), fabrics: fabrics.map((f) => resolveFabricArg(f)), batches: [1], dtype: 'bf16', promptLength: 512, contextLength: 512, sweepModels: false, ...extra };
}

describe('resolveFabricArg', () => {
  it('tells GPU presets, wafer presets and spec files of each kind apart', () => {
    expect(resolveFabricArg('h100')).toMatchObject({ kind: 'gpu', name: 'h100' });
    expect(resolveFabricArg(' mini-64 ')).toMatchObject({ kind: 'wafer', name: 'mini-64' });
    const gpuFile = join(root, 'fast.json');
    writeFileSync(gpuFile, JSON.stringify({ extends: 'h100', name: 'h100-fast', hbmBytesPerSecond: 6.7e12 }));
    const g = resolveFabricArg(gpuFile);
    expect(g.kind === 'gpu' && g.gpu.hbmBytesPerSecond).toBe(6.7e12);
    expect(g.name).toBe('h100-fast');
    const waferFile = join(root, 'mesh.json');
    writeFileSync(waferFile, JSON.stringify({ ...getFabricPreset('mini-8'), name: 'my-mesh' }));
    expect(resolveFabricArg(waferFile)).toMatchObject({ kind: 'wafer', name: 'my-mesh' });
  });

  it('names the option and the presets for an unknown fabric', () => {
    expect(() => resolveFabricArg('tpu')).toThrow(InputError);
    expect(() => resolveFabricArg('tpu')).toThrow(/^unknown fabric "tpu" \(--fabrics\): use GPU presets \(a100, h100, h200, b200.*\), wafer presets \(wse2, wse3, mini-4, .*\) or spec \.json files, comma-separated$/);
    expect(() => resolveFabricArg(join(root, 'missing.json'))).toThrow(`file not found (--fabrics ${join(root, 'missing.json')}): check the path`);
  });
});

describe('fewestGpus', () => {
  it('finds the smallest tensor-parallel group that holds the model, as estimateGpu decides', () => {
    const cfg = getPreset('llama-3.1-70b');
    const h100 = getGpuPreset('h100');
    const o = opts('llama-3.1-70b', ['h100']);
    const fit = fewestGpus(cfg, h100, o, 1)!;
    expect(fit.gpus).toBe(2);
    expect(() => estimateGpu(cfg, h100, { gpus: 1, dtype: 'bf16' })).toThrow(InputError);
    expect(fit.report.decodeTokensPerSecond).toBe(estimateGpu(cfg, h100, { gpus: 2, batch: 1, dtype: 'bf16', promptLength: 512, contextLength: 512 }).decodeTokensPerSecond);
    expect(fewestGpus(cfg, h100, o, 1, 3)!.gpus).toBe(4);
    expect(fewestGpus(getPreset('toy-moe'), h100, o, 1)!.gpus).toBe(1);
  });
});

describe('compareFabrics', () => {
  it('gives GPU rows from the GPU emulator and small-mesh rows from the schedule estimate', () => {
    const c = compareFabrics(opts('toy-moe', ['mini-64', 'h100'], { batches: [1, 8] }));
    expect(c.rows.map((r) => [r.fabric, r.batch])).toEqual([
      ['mini-64', 1],
      ['mini-64', 8],
      ['h100', 1],
      ['h100', 8],
    ]);
    const [mesh, mesh8, gpu1, gpu8] = c.rows;
    // The mesh row: the same compile and estimate, done here by hand at the context cap of 64.
    const spec = getFabricPreset('mini-64');
    const r = compileModel(buildGraph(getPreset('toy-moe')), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 64 });
    const cycles = estimateStep(spec, r.lowered, r.placement, r.routes, { position: 63 }).cycles;
    expect(mesh).toMatchObject({ kind: 'wafer', wafers: 1, gpus: null, tilesUsed: r.report.tilesUsed, contextLength: 64, timeToFirstTokenSeconds: null });
    expect(mesh.decodeTokensPerSecond).toBe(spec.clockHz / cycles);
    expect(mesh.aggregateTokensPerSecond).toBe(mesh.decodeTokensPerSecond);
    expect(mesh8).toMatchObject({ decodeTokensPerSecond: null, aggregateTokensPerSecond: null, tokenTimeSplit: null, note: 'the mesh program decodes one sequence per step: batch 1 only' });
    const h100 = getGpuPreset('h100');
    for (const [row, batch] of [
      [gpu1, 1],
      [gpu8, 8],
    ] as const) {
      const g = estimateGpu(getPreset('toy-moe'), h100, { gpus: 1, batch, dtype: 'bf16', promptLength: 512, contextLength: 512 });
      expect(row).toMatchObject({ kind: 'gpu', gpus: 1, wafers: null, decodeTokensPerSecond: g.decodeTokensPerSecond, aggregateTokensPerSecond: g.aggregateTokensPerSecond, timeToFirstTokenSeconds: g.timeToFirstTokenSeconds });
      expect(row.tokenTimeSplit).toEqual(toSplit({ compute: g.boundBy.compute, memory: g.boundBy.memory, communication: g.boundBy.communication, other: g.boundBy.launch }));
    }
    for (const row of [mesh, gpu1, gpu8]) {
      const s = row.tokenTimeSplit!;
      expect(s.compute + s.memory + s.communication + s.other).toBeCloseTo(1, 12);
      for (const v of Object.values(s)) expect(v).toBeGreaterThanOrEqual(0);
    }
    // bf16 on a WSE-3 tile: 8 FMACs and 16 SRAM bytes per cycle balance exactly, so the SRAM stream is never the wall.
    expect(mesh.tokenTimeSplit!.memory).toBeLessThan(0.05);
    expect(mesh.tokenTimeSplit!.compute).toBeGreaterThan(0.9);
    expect(c.sramEdges).toEqual([{ fabric: 'mini-64', sramBytes: 4096 * 49152, bytesPerParam: 2, params: (4096 * 49152) / 2 }]);
    expect(c.hbmRooflines).toEqual([{ fabric: 'h100', hbmBytesPerSecond: 3.35e12, usableHbmBytes: 80e9 * 0.9, bytesPerParam: 2, fixedGpus: null }]);
    expect(c.notes).toEqual([expect.stringMatching(/^small-mesh time split: what-if on the schedule estimate/)]);
  });

  it('sweeps the model presets: the mesh takes what fits its SRAM, GPUs the fewest that hold each model', () => {
    const ticks: [number, number][] = [];
    const c = compareFabrics(opts('toy-moe', ['mini-64', 'h100'], { sweepModels: true, onProgress: (d, t) => ticks.push([d, t]) }));
    // Progress: the table's 2 points, every preset per fabric, the batch sweeps (9 batches each), one tick each.
    // (the mesh's batch sweep stops at batch 2 and jumps to its end).
    const presets = listPresets().length;
    const total = 2 + 2 * presets + 2 * 9;
    expect(ticks.map(([d]) => d)).toEqual([...Array.from({ length: 2 + 2 * presets + 2 }, (_, i) => i + 1), total - 9, ...Array.from({ length: 9 }, (_, i) => total - 8 + i)]);
    expect(ticks.every(([, t]) => t === total)).toBe(true);
    expect(c.sweeps).toBe(true);
    const [mesh, gpu] = c.modelSweep;
    expect(mesh.points.map((p) => p.model)).toEqual(['toy-dense', 'toy-moe']);
    expect(mesh.unavailable.find((u) => u.model === 'gpt2-small-dense')!.reason).toBe("weights 0.25 GB exceed the mesh's 0.20 GB of SRAM");
    expect(mesh.points.find((p) => p.model === 'toy-moe')!.decodeTokensPerSecond).toBe(c.rows[0].decodeTokensPerSecond);
    expect(gpu.unavailable).toEqual([]);
    expect(gpu.points).toHaveLength(listPresets().length);
    expect(gpu.points.find((p) => p.model === 'llama-3.1-70b')!.devices).toBe(2);
    expect(gpu.points.find((p) => p.model === 'kimi-k2')!.devices).toBe(32);
    // Batch panel: the mesh gives batch 1 only; the GPU runs to 256 with aggregate = batch × per user.
    const [mb, gb] = c.batchSweep;
    expect(mb.points.map((p) => p.batch)).toEqual([1]);
    expect(gb.points.map((p) => p.batch)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
    for (const p of gb.points) expect(p.aggregateTokensPerSecond).toBeCloseTo(p.batch * p.decodeTokensPerSecond, 6);
  });

  it('with --gpus fixed, the GPU sweep leaves out models that do not fit that many', () => {
    const c = compareFabrics(opts('llama-3.1-8b', ['h100'], { gpus: 1, sweepModels: true }));
    expect(c.rows[0].gpus).toBe(1);
    expect(c.hbmRooflines[0].fixedGpus).toBe(1);
    const s = c.modelSweep[0];
    expect(s.points.every((p) => p.devices === 1)).toBe(true);
    expect(s.unavailable.find((u) => u.model === 'llama-3.1-70b')!.reason).toBe('does not fit 1 × h100');
  });

  it('gives full-wafer rows from the projection, its breakdown as the split', () => {
    const c = compareFabrics(opts('toy-moe', ['wse3'], { batches: [1, 4] }));
    for (const row of c.rows) {
      const p = projectWafer(getPreset('toy-moe'), getFabricPreset('wse3'), { batch: row.batch, promptLength: 512, context: 513, dtype: 'bf16' });
      expect(row).toMatchObject({ kind: 'wafer', wafers: p.wafers, tilesUsed: p.tilesPerWafer.reduce((a, b) => a + b, 0), decodeTokensPerSecond: p.decodeTokensPerSecond, aggregateTokensPerSecond: p.aggregateTokensPerSecond, timeToFirstTokenSeconds: p.timeToFirstTokenSeconds });
      const b = p.breakdown;
      expect(row.tokenTimeSplit).toEqual(toSplit({ compute: b.compute, memory: b.sram, communication: b.communication + b.interWafer, other: b.bubbles }));
      expect(row.method).toBe(`projection (compiler/project): ${PROJECTION_METHOD}`);
    }
    expect(c.sramEdges[0].params).toBe((755 * 1170 * 49152) / 2);
    // Without sweeps the chart's series are the table's points.
    expect(c.sweeps).toBe(false);
    expect(c.modelSweep).toEqual([{ fabric: 'wse3', kind: 'wafer', points: [{ model: 'toy-moe', totalParams: c.totalParams, activeParams: c.activeParams, decodeTokensPerSecond: c.rows[0].decodeTokensPerSecond, devices: 1, setting: c.rows[0].setting }], unavailable: [] }]);
    // Each row says what produced it: the projection at the context it was timed at (the prompt plus one).
    const p1 = projectWafer(getPreset('toy-moe'), getFabricPreset('wse3'), { batch: 1, promptLength: 512, context: 513, dtype: 'bf16' });
    expect(c.rows[0].setting).toEqual({ source: 'projection', batch: 1, promptLength: 512, contextLength: p1.context, dtype: 'bf16', spread: 0, balanced: Object.values(p1.stageBudgets).some((f) => f < 1), hubSlices: p1.hubSlices, faults: null });
    expect(c.batchSweep[0].points.map((p) => [p.batch, p.aggregateTokensPerSecond])).toEqual(c.rows.map((r) => [r.batch, r.aggregateTokensPerSecond]));
  });

  it('lists a model the projection refuses as unavailable, with its reason', () => {
    // A full-size mesh (not a small one) of tiles too small for any block of the model.
    const tiny = { kind: 'wafer' as const, name: 'tiny-tiles', spec: { ...getFabricPreset('wse3'), name: 'tiny-tiles', sramBytesPerTile: 2048 } };
    const c = compareFabrics({ ...opts('toy-moe', []), fabrics: [tiny] });
    expect(c.rows[0]).toMatchObject({ fabric: 'tiny-tiles', decodeTokensPerSecond: null, tokenTimeSplit: null });
    expect(c.rows[0].note).toMatch(/cannot be split into blocks that fit a tile/);
    expect(c.modelSweep[0].unavailable).toEqual([{ model: 'toy-moe', reason: c.rows[0].note }]);
  });

  it('refuses an empty fabric list and a GPU count the model does not fit', () => {
    expect(() => compareFabrics(opts('toy-moe', []))).toThrow('no fabrics given (--fabrics): give a comma-separated list, e.g. wse3,h100,b200');
    expect(() => compareFabrics(opts('llama-3.1-70b', ['h100'], { gpus: 1 }))).toThrow(/^llama-3.1-70b needs 141.\d GB per GPU over 1 × h100/);
  });
});
