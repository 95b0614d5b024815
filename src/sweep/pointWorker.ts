// A piscina worker thread that computes sweep points (the embedded pool and each queue worker's pool run this):
// the main thread stays free for the progress bar, Ctrl-C, and a queue worker's lock renewals.
import type { KeyedPoint } from './plan.js';
import { runPoint, type SweepRecord } from './runPoint.js';

export default function computePoint(point: KeyedPoint): Promise<SweepRecord> {
  return runPoint(point, point.key);
}
