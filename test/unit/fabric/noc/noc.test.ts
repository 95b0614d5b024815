import { describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { FaultMap } from '../../../../fabric/faults/index.js';
import { InputError } from '../../../../fabric/errors.js';
import { NocDeadlockError, runNoc, uniformMeanHops, type NocOptions } from '../../../../fabric/mesh/noc.js';

const spec = getFabricPreset('mini-16');
const base = (o: Partial<NocOptions>): NocOptions => ({ spec, width: 16, height: 16, pattern: 'uniform', rate: 0.02, cycles: 3000, warmupCycles: 500, ...o });

describe('synthetic traffic against theory', () => {
  it('low-load uniform latency = mean hops × hop latency + 2 ramps (+ P − 1 serialisation), within 3%', () => {
    const k = 16;
    for (const [P, rate, cycles] of [[1, 0.02, 3000], [4, 0.01, 8000]]) {
      const r = runNoc(base({ rate, packetWavelets: P, cycles }));
      expect(Math.abs(r.meanHops - uniformMeanHops(k)) / uniformMeanHops(k)).toBeLessThan(0.03);
      const theory = 2 * spec.rampLatencyCycles + uniformMeanHops(k) * spec.hopLatencyCycles + (P - 1);
      expect(Math.abs(r.meanLatencyCycles - theory) / theory).toBeLessThan(0.03);
      expect(r.zeroLoadLatencyCycles).toBe(2 * spec.rampLatencyCycles + r.meanHops * spec.hopLatencyCycles + (P - 1));
      // And never below the zero-load figure of the packets actually measured.
      expect(r.meanLatencyCycles).toBeGreaterThanOrEqual(r.zeroLoadLatencyCycles);
      expect(r.offeredRate).toBeCloseTo(rate, 2);
      expect(r.acceptedRate).toBeCloseTo(rate, 2);
      expect(r.deliveredWavelets).toBe(r.injectedWavelets);
      expect(r.saturated).toBe(false);
      expect(r.p99LatencyCycles).toBeGreaterThanOrEqual(r.meanLatencyCycles);
    }
  });

  it('uniform throughput never exceeds the bisection bound 4/k and reaches ≥ 60% of it at saturation (XY)', () => {
    const bound = 4 / 16;
    for (const rate of [0.15, 0.5]) {
      const r = runNoc(base({ rate, cycles: 2000 }));
      expect(r.bisectionBoundRate).toBe(bound);
      expect(r.acceptedRate).toBeLessThanOrEqual(bound * 1.01);
      expect(r.deliveredWavelets).toBe(r.injectedWavelets);
      if (rate === 0.5) {
        expect(r.acceptedRate).toBeGreaterThanOrEqual(0.6 * bound);
        expect(r.saturated).toBe(true);
        expect(r.unfinishedPackets).toBeGreaterThan(0);
        expect(r.sourceQueuedWavelets).toBeGreaterThan(0);
      } else {
        expect(r.acceptedRate).toBeCloseTo(rate, 2);
      }
    }
  });

  it('past saturation a drain limit leaves packets out and marks the latency a lower bound; a full drain delivers them', () => {
    const o = { width: 8, height: 8, rate: 0.9, cycles: 500, warmupCycles: 100 };
    const cut = runNoc(base({ ...o, drainCycles: 50 }));
    expect(cut.unfinishedPackets).toBeGreaterThan(0);
    expect(cut.latencyIsLowerBound).toBe(true);
    const full = runNoc(base({ ...o, drainCycles: 1e6 }));
    expect(full.unfinishedPackets).toBe(0);
    expect(full.latencyIsLowerBound).toBe(false);
    expect(full.measuredPackets).toBe(cut.measuredPackets);
    // The packets the limit left out are the ones still waiting: counting them can only raise the mean.
    expect(full.meanLatencyCycles).toBeGreaterThan(cut.meanLatencyCycles);
    expect(full.p99LatencyCycles).toBeGreaterThanOrEqual(cut.p99LatencyCycles);
  });

  it('settling: the window opens once two periods accept the same rate, before the longest warm-up allowed', () => {
    const o = { rate: 0.1, cycles: 2000, warmupCycles: 5000 };
    const settled = runNoc(base({ ...o, settle: { periodCycles: 200, tolerance: 0.1 } }));
    expect(settled.warmupSettled).toBe(true);
    expect(settled.warmupCyclesUsed).toBeGreaterThanOrEqual(400);
    expect(settled.warmupCyclesUsed).toBeLessThan(5000);
    expect(settled.acceptedRate).toBeCloseTo(0.1, 2);
    expect(settled.unfinishedPackets).toBe(0);
    const fixed = runNoc(base(o));
    expect(fixed.warmupSettled).toBeNull();
    expect(fixed.warmupCyclesUsed).toBe(5000);
    expect(runNoc(base({ ...o, settle: { periodCycles: 200, tolerance: 0.1 } }))).toEqual(settled);
    expect(() => runNoc(base({ ...o, settle: { periodCycles: 0, tolerance: 0.1 } }))).toThrow(InputError);
  });

  it('deterministic patterns have the hop counts of their definitions', () => {
    const k = 8;
    const o = { width: k, height: k, rate: 0.01, cycles: 4000 };
    // neighbor: (x+1 mod k, y): 1 hop, k-1 hops from the last column.
    expect(Math.abs(runNoc(base({ ...o, pattern: 'neighbor' })).meanHops - (2 * (k - 1)) / k)).toBeLessThan(0.1);
    // bitcomplement: |k-1-2x| + |k-1-2y| averages k/2 per dimension on an even k.
    expect(Math.abs(runNoc(base({ ...o, pattern: 'bitcomplement' })).meanHops - k)).toBeLessThan(0.2);
    // transpose: |x - y| twice; mean over the k² tiles = 2(k²-1)/(3k).
    expect(Math.abs(runNoc(base({ ...o, pattern: 'transpose' })).meanHops - uniformMeanHops(k))).toBeLessThan(0.2);
    const hot = runNoc(base({ ...o, pattern: 'hotspot', rate: 0.02 }));
    expect(hot.deliveredWavelets).toBe(hot.injectedWavelets);
    expect(hot.bisectionBoundRate).toBeNull();
  });

  it('routes around faults (up*/down*) and delivers everything', () => {
    const faults = FaultMap.fromJson({ width: 8, height: 8, deadTiles: [[3, 3], [5, 1]], deadCores: [[2, 6]], deadLinks: [[0, 0, 'E']] }, 'f');
    const r = runNoc(base({ width: 8, height: 8, rate: 0.05, faults, cycles: 2000 }));
    expect(r.routing).toBe('updown');
    expect(r.deliveredWavelets).toBe(r.injectedWavelets);
    expect(r.offeredRate).toBeCloseTo(0.05, 1);
    expect(r.acceptedRate).toBeCloseTo(0.05, 1);
  });

  it('is deterministic for a seed', () => {
    const a = runNoc(base({ width: 8, height: 8, rate: 0.2, cycles: 1000, seed: 7 }));
    const b = runNoc(base({ width: 8, height: 8, rate: 0.2, cycles: 1000, seed: 7 }));
    const c = runNoc(base({ width: 8, height: 8, rate: 0.2, cycles: 1000, seed: 8 }));
    expect(b).toEqual(a);
    expect(c.meanLatencyCycles).not.toBe(a.meanLatencyCycles);
  });
});

describe('synthetic traffic: deadlock and bad input', () => {
  it('a routing loop fills the buffers and is reported as a deadlock naming a tile', () => {
    // 2×2 bitcomplement; packets for (1,1) bounce between (0,0) and (1,0) forever, until every buffer on that link is full.
    const tiles = 4;
    const nextPort = new Uint8Array(tiles * tiles).fill(255);
    const set = (cur: number, dst: number, port: number) => (nextPort[cur * tiles + dst] = port);
    for (let i = 0; i < tiles; i++) set(i, i, 0);
    const [N, E, S, W] = [1, 2, 3, 4];
    const entries = [
      [0, 3, E], [1, 3, W], // the loop
      [1, 2, S], [3, 2, W], // (1,0) -> (0,1)
      [3, 0, W], [2, 0, N], // (1,1) -> (0,0)
      [2, 1, N], [0, 1, E], // (0,1) -> (1,0)
    ];
    for (const [cur, dst, port] of entries) set(cur, dst, port);
    let err: unknown;
    try {
      runNoc(base({ width: 2, height: 2, pattern: 'bitcomplement', rate: 1, vcs: 1, cycles: 2000, routing: { nextPort, name: 'looping' } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NocDeadlockError);
    expect((err as NocDeadlockError).message).toMatch(/^deadlock at cycle \d+: \d+ wavelets stuck, e\.g\. tile \(0,0\) port ramp VC 0 \(8 queued\); tile \(0,0\) port E VC 0 \(8 queued\)/);
    expect([(err as NocDeadlockError).x, (err as NocDeadlockError).y]).toEqual([0, 0]);
  });

  it.each<[Partial<NocOptions>, string]>([
    [{ rate: 0 }, 'rate 0 is out of range (rate): give wavelets per tile per cycle in (0, 1]'],
    [{ rate: 1.5 }, 'rate 1.5 is out of range (rate): give wavelets per tile per cycle in (0, 1]'],
    [{ packetWavelets: 0 }, 'packet of 0 wavelets (packetWavelets): give a whole number in 1..1024'],
    [{ vcs: 25 }, '25 VCs (vcs): give 1..24 (the router\'s colours)'],
    [{ pattern: 'transpose', width: 4, height: 2 }, 'transpose needs a square mesh, got 4x2 (pattern): use a square mesh or another pattern'],
    [{ pattern: 'zigzag' as never }, 'unknown traffic pattern "zigzag" (pattern): use one of uniform, transpose, bitcomplement, hotspot, neighbor'],
    [{ faults: FaultMap.empty(4, 4) }, 'fault map is 4x4 but the mesh is 16x16 (faults): give a 16x16 fault map'],
  ])('%o', (o, message) => {
    expect(() => runNoc(base(o))).toThrow(InputError);
    expect(() => runNoc(base(o))).toThrow(message);
  });
});
