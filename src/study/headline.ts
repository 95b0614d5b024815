// The one figure a report leads with: one model, batch 1, the first wafer fabric against the first GPU of a compare
// result — both read from the size sweep (or the table), so the headline is the chart's own points — with the caveats
// that follow from how each figure was obtained.
import type { CompareResult, SweepPoint } from './compare.js';

export interface HeadlinePoint {
  fabric: string;
  point: SweepPoint;
}

export interface Headline {
  model: string;
  totalParams: number;
  wafer: HeadlinePoint;
  gpu: HeadlinePoint;
  /** wafer tokens/s per user ÷ GPU tokens/s per user. */
  ratio: number;
  caveats: string[];
}

const CAVEATS: Record<string, string> = {
  projection: 'the wafer figure is a projection (one layer of each kind compiled and timed at tile granularity), not a measurement of hardware',
  'mesh schedule estimate': 'the wafer figure is the compiler’s schedule estimate on a fault-free mesh (streams sharing a link take turns; no router queues)',
  'mesh run': 'the wafer figure is a cycle-by-cycle run of a toy model on a small mesh',
  'GPU emulator': 'the GPU figure comes from the GPU emulator (public specs and kernel-level timing), not a measured GPU',
};

function pointOf(c: CompareResult, kind: 'gpu' | 'wafer', model: string): HeadlinePoint | null {
  for (const s of c.modelSweep) {
    if (s.kind !== kind) continue;
    const p = s.points.find((q) => q.model === model);
    if (p) return { fabric: s.fabric, point: p };
  }
  return null;
}

/** The headline for `model` (default: the compare's own model); null when no wafer or no GPU has a point for it. */
export function headlineOf(c: CompareResult, model = c.model): Headline | null {
  const wafer = pointOf(c, 'wafer', model);
  const gpu = pointOf(c, 'gpu', model);
  if (!wafer || !gpu) return null;
  const caveats = [...new Set([wafer.point.setting.source, gpu.point.setting.source])].map((s) => CAVEATS[s]);
  caveats.push(`one user at a time (batch ${wafer.point.setting.batch}), ${wafer.point.setting.dtype} weights, context ${wafer.point.setting.contextLength}: at large batches aggregate throughput is a different race`);
  return { model, totalParams: wafer.point.totalParams, wafer, gpu, ratio: wafer.point.decodeTokensPerSecond / gpu.point.decodeTokensPerSecond, caveats };
}
