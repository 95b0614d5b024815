import { describe, expect, it } from 'vitest';
import { assumedGpuSpec, getGpuPreset, gpuSpecSchema, listGpuPresets, parseGpuSpec } from '../../../../fabric/gpu/spec.js';
import { catchInputError as inputError } from '../../inputError.js';

describe('GPU presets', () => {
  it('has a100, h100, h200, b200, each valid and frozen', () => {
    expect(listGpuPresets().map((g) => g.name)).toEqual(['a100', 'h100', 'h200', 'b200']);
    for (const g of listGpuPresets()) {
      expect(gpuSpecSchema.safeParse(g).success).toBe(true);
      expect(Object.isFrozen(g)).toBe(true);
      expect(Object.isFrozen(g.flopsPerSecond)).toBe(true);
      expect(Object.isFrozen(g.achievable)).toBe(true);
    }
  });

  it('carries the docs/hardware.md#gpus figures, dense not sparse', () => {
    const h100 = getGpuPreset('h100');
    expect(h100.hbmBytesPerSecond).toBe(3.35e12);
    expect(h100.hbmBytes).toBe(80e9);
    expect(h100.smCount).toBe(132);
    expect(h100.l2Bytes).toBe(50e6);
    expect(h100.flopsPerSecond.bf16).toBeCloseTo(989.4e12, -6); // 1978.9 sparse / 2
    expect(h100.flopsPerSecond.fp8).toBeCloseTo(1978.9e12, -6);
    expect(h100.flopsPerSecond.fp4).toBeNull();
    expect(h100.nvlinkBytesPerSecond).toBe(900e9);
    const a100 = getGpuPreset('a100');
    expect(a100.hbmBytesPerSecond).toBe(2039e9);
    expect(a100.flopsPerSecond.bf16).toBe(312e12);
    expect(a100.flopsPerSecond.fp8).toBeNull();
    const h200 = getGpuPreset('h200');
    expect(h200.hbmBytes).toBe(141e9);
    expect(h200.hbmBytesPerSecond).toBe(4.8e12);
    const b200 = getGpuPreset('b200');
    expect(b200.hbmBytes).toBe(180e9);
    expect(b200.hbmBytesPerSecond).toBe(8e12);
    expect(b200.flopsPerSecond.fp4).toBe(9000e12);
    expect(b200.nvlinkBytesPerSecond).toBe(1.8e12);
  });

  it('a100 and h100 hold values fitted to measured runs; h200 and b200 inherit h100\'s, scaled by datasheet figures', () => {
    for (const name of ['a100', 'h100']) {
      const p = getGpuPreset(name).calibration.provenance;
      expect(p.source).toBe('fitted');
      expect(p.command).toMatch(/^npx wafer calibrate gpu/);
      expect(p.rows).toBeGreaterThan(200);
    }
    const h100 = getGpuPreset('h100');
    for (const name of ['h200', 'b200']) {
      const g = getGpuPreset(name);
      expect(g.calibration.provenance).toMatchObject({ source: 'inherited', rows: 0 });
      expect(g.calibration.provenance.note).toMatch(/h100's fitted efficiencies/);
      expect(g.achievable).toEqual(h100.achievable);
      expect(g.calibration.stepOverheadSeconds).toBe(h100.calibration.stepOverheadSeconds);
      // The same start-up time per kernel: half-bandwidth size ÷ bandwidth is H100's.
      expect(g.calibration.hbmHalfBytes / g.hbmBytesPerSecond).toBeCloseTo(h100.calibration.hbmHalfBytes / h100.hbmBytesPerSecond, 15);
    }
    // Every calibrated efficiency is physical, every latency non-negative (the schema holds them to it).
    for (const g of listGpuPresets()) {
      for (const v of [g.achievable.hbmFraction, g.achievable.flopsFraction, g.calibration.kvHbmFraction, g.calibration.narrow.fp8.hbmFraction]) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });

  it('the assumed (unfitted) spec is the fit\'s starting point', () => {
    const a = assumedGpuSpec('h100');
    expect(a.calibration.provenance.source).toBe('assumed');
    expect(a.achievable.hbmFraction).toBe(0.92); // docs/hardware.md#achievable-hbm-bandwidth, Azure on GB200: the assumption before the fit
    expect(a.hbmBytesPerSecond).toBe(getGpuPreset('h100').hbmBytesPerSecond);
  });

  it('looks names up case-insensitively and rejects unknown ones', () => {
    expect(getGpuPreset('H100').name).toBe('h100');
    const e = inputError(() => getGpuPreset('v100'));
    expect(e.message).toBe('unknown GPU preset "v100" (gpu): use one of a100, h100, h200, b200, or a GPU spec JSON file');
  });
});

describe('parseGpuSpec', () => {
  const full = (): Record<string, unknown> => JSON.parse(JSON.stringify(getGpuPreset('h100'))) as Record<string, unknown>;

  it('accepts a complete spec and freezes it', () => {
    const s = parseGpuSpec({ ...full(), name: 'mine' }, 'mine.json');
    expect(s.name).toBe('mine');
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('extends a preset with overrides, nested objects merged field by field', () => {
    const s = parseGpuSpec({ extends: 'h100', hbmBytesPerSecond: 6.7e12, achievable: { hbmFraction: 0.8 } }, 'fast.json');
    expect(s.name).toBe('h100-custom');
    expect(s.hbmBytesPerSecond).toBe(6.7e12);
    expect(s.achievable.hbmFraction).toBe(0.8);
    expect(s.achievable.flopsFraction).toBe(getGpuPreset('h100').achievable.flopsFraction);
    expect(s.flopsPerSecond.bf16).toBe(getGpuPreset('h100').flopsPerSecond.bf16);
    expect(getGpuPreset('h100').hbmBytesPerSecond).toBe(3.35e12);
  });

  it('rejects unknown keys with their path', () => {
    expect(inputError(() => parseGpuSpec({ ...full(), hbmGB: 80 }, 'g.json')).message).toBe('unknown key "hbmGB" (g.json: (root)): remove it or check its spelling');
    expect(inputError(() => parseGpuSpec({ extends: 'h100', achievable: { hbm: 0.9 } }, 'g.json')).message).toBe(
      'unknown key "hbm" (g.json: achievable): remove it or check its spelling',
    );
  });

  it('rejects zero and negative sizes and rates', () => {
    expect(inputError(() => parseGpuSpec({ extends: 'h100', hbmBytes: 0 }, 'g.json')).message).toBe('Too small: expected number to be >0 (g.json: hbmBytes): make it >0');
    expect(inputError(() => parseGpuSpec({ extends: 'h100', hbmBytesPerSecond: -1 }, 'g.json')).message).toBe(
      'Too small: expected number to be >0 (g.json: hbmBytesPerSecond): make it >0',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', smCount: 1.5 }, 'g.json')).message).toBe('expected an integer, got 1.5 (g.json: smCount): give a whole number');
    expect(inputError(() => parseGpuSpec({ extends: 'h100', flopsPerSecond: { bf16: 0 } }, 'g.json')).message).toBe(
      'Too small: expected number to be >0 (g.json: flopsPerSecond.bf16): make it >0',
    );
  });

  it('bounds every size, rate and count of a spec file from above', () => {
    expect(inputError(() => parseGpuSpec({ extends: 'h100', hbmBytes: 1e30 }, 'g.json')).message).toMatch(/^Too big: expected number to be <=\S+ \(g\.json: hbmBytes\)/);
    expect(inputError(() => parseGpuSpec({ extends: 'h100', flopsPerSecond: { bf16: 1e25 } }, 'g.json')).message).toMatch(/\(g\.json: flopsPerSecond\.bf16\)/);
    expect(inputError(() => parseGpuSpec({ extends: 'h100', smCount: 1e7 }, 'g.json')).message).toMatch(/\(g\.json: smCount\)/);
    expect(inputError(() => parseGpuSpec({ extends: 'h100', kernelLaunchSeconds: 3600 }, 'g.json')).message).toBe('Too big: expected number to be <=1 (g.json: kernelLaunchSeconds): make it <=1');
    // Every preset sits inside the bounds (they are far above any real part).
    for (const g of listGpuPresets()) expect(parseGpuSpec({ extends: g.name }, 'g.json').hbmBytes).toBe(g.hbmBytes);
  });

  it('rejects fractions outside (0, 1] and negative latencies', () => {
    expect(inputError(() => parseGpuSpec({ extends: 'h100', achievable: { hbmFraction: 1.2 } }, 'g.json')).message).toBe(
      'Too big: expected number to be <=1 (g.json: achievable.hbmFraction): make it <=1',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', kernelLaunchSeconds: -1e-6 }, 'g.json')).message).toBe(
      'Too small: expected number to be >=0 (g.json: kernelLaunchSeconds): make it >=0',
    );
    // Fitted terms outside physics: an efficiency above 1, a negative or absurd latency, a share above 1.
    expect(inputError(() => parseGpuSpec({ extends: 'h100', calibration: { kvHbmFraction: 1.05 } }, 'g.json')).message).toBe(
      'Too big: expected number to be <=1 (g.json: calibration.kvHbmFraction): make it <=1',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', calibration: { narrow: { fp8: { flopsFraction: 0 } } } }, 'g.json')).message).toBe(
      'Too small: expected number to be >0 (g.json: calibration.narrow.fp8.flopsFraction): make it >0',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', calibration: { stepOverheadSeconds: -1e-4 } }, 'g.json')).message).toBe(
      'Too small: expected number to be >=0 (g.json: calibration.stepOverheadSeconds): make it >=0',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', calibration: { minKernelSeconds: 5 } }, 'g.json')).message).toBe(
      'Too big: expected number to be <=1 (g.json: calibration.minKernelSeconds): make it <=1',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', calibration: { prefillQueueing: 1.5 } }, 'g.json')).message).toBe(
      'Too big: expected number to be <=1 (g.json: calibration.prefillQueueing): make it <=1',
    );
    expect(inputError(() => parseGpuSpec({ extends: 'h100', calibration: { provenance: { source: 'guessed' } } }, 'g.json')).message).toMatch(/^unsupported value \(g\.json: calibration\.provenance\.source\)/);
  });

  it('names missing fields and wrong types', () => {
    const f = full();
    delete f.l2Bytes;
    expect(inputError(() => parseGpuSpec(f, 'g.json')).message).toBe('missing required field (g.json: l2Bytes): add "l2Bytes"');
    expect(inputError(() => parseGpuSpec({ extends: 'h100', hbmBytes: '80GB' }, 'g.json')).message).toBe('expected number, got string (g.json: hbmBytes): give a number');
    expect(inputError(() => parseGpuSpec({ extends: 'h100', kind: 'wafer' }, 'g.json')).message).toBe('unsupported value (g.json: kind): use one of "gpu"');
  });

  it('rejects a non-object, a bad extends', () => {
    expect(inputError(() => parseGpuSpec([1], 'g.json')).message).toBe('GPU spec is not a JSON object (g.json): give an object such as {"extends": "h100", "hbmBytesPerSecond": 6.7e12}');
    expect(inputError(() => parseGpuSpec({ extends: 7 }, 'g.json')).message).toBe('expected string (g.json: extends): name a preset: a100, h100, h200, b200');
    expect(inputError(() => parseGpuSpec({ extends: 'tpu' }, 'g.json')).message).toBe('unknown GPU preset "tpu" (g.json: extends): use one of a100, h100, h200, b200, or a GPU spec JSON file');
  });
});
