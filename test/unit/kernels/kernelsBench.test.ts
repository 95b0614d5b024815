// Smoke test of `wafer bench kernels` (src/bench/kernelsBench.ts) in quick mode: the JSON shape and the arithmetic,
// never the speed (speed targets live in the benchmark itself).
import { describe, expect, it } from 'vitest';
import { KERNEL_TARGETS, formatKernelsBench, runKernelsBench } from '../../../src/bench/kernelsBench.js';

describe('runKernelsBench (quick)', () => {
  it('reports {readBandwidthGBps, results[kernel, dtype, rows, cols, gbps, fractionOfReadBandwidth], cacheResident[same]}', async () => {
    const notes: string[] = [];
    const r = await runKernelsBench({ quick: true, simd: 'portable', onProgress: (l) => notes.push(l) });
    expect(Object.keys(r)).toEqual(['readBandwidthGBps', 'results', 'cacheResident']);
    expect(r.readBandwidthGBps).toBeGreaterThan(0);
    expect(r.results.map((x) => `${x.dtype} ${x.rows}×${x.cols}`)).toEqual([
      'f32 512×512',
      'bf16 512×512',
      'f16 512×512',
      'int8 512×512',
      'f32 1024×1024',
      'bf16 1024×1024',
      'f16 1024×1024',
      'int8 1024×1024',
    ]);
    for (const x of r.results) {
      expect(Object.keys(x)).toEqual(['kernel', 'dtype', 'rows', 'cols', 'gbps', 'fractionOfReadBandwidth']);
      expect(x.kernel).toBe('matvec');
      expect(x.gbps).toBeGreaterThan(0);
      expect(x.fractionOfReadBandwidth).toBeCloseTo(x.gbps / r.readBandwidthGBps, 1);
    }
    // the cache-resident runs: every dtype, on 16 KiB of weights in quick mode (one shape), checked before timing
    expect(r.cacheResident.map((x) => `${x.dtype} ${x.rows}×${x.cols}`)).toEqual(['f32 16×256', 'bf16 32×256', 'f16 32×256', 'int8 64×256']);
    for (const x of r.cacheResident) {
      expect(Object.keys(x)).toEqual(['kernel', 'dtype', 'rows', 'cols', 'gbps', 'fractionOfReadBandwidth']);
      expect(x.gbps).toBeGreaterThan(0);
      expect(x.fractionOfReadBandwidth).toBeCloseTo(x.gbps / r.readBandwidthGBps, 1);
    }
    expect(notes.filter((l) => l.includes('resident in cache: checked'))).toHaveLength(4);
    expect(notes.filter((l) => l.includes('checked against matvecReference'))).toHaveLength(8);
    // each kernel's round against the probe read right after it (one round in quick mode)
    const paired = notes.find((l) => l.startsWith('fractions of the probe read right after each round: '));
    expect(paired?.split(': ')[1].split(', ')).toHaveLength(8);
    expect(paired).toMatch(/^[^:]+: f32 512² r1 \d+\.\d{3}, /);
    expect(notes).toContain('kernel module: the portable SIMD build');
    const text = formatKernelsBench(r, 'portable');
    expect(text).toContain('kernels: the portable SIMD build of kernels/wasm/matvec.wat');
    expect(text).toContain(`read bandwidth (one thread, wasm-SIMD f32 streaming sum, fastest 8-, 4- or 1-stream read of all probes): ${r.readBandwidthGBps.toFixed(2)} GB/s`);
    expect(text).toContain(`>= ${KERNEL_TARGETS.f16.toFixed(2)}`);
    expect(text.split('\n').filter((l) => l.startsWith('matvec '))).toHaveLength(12);
    expect(text).toContain('From cache (the weights resident in L2');
  });
});
