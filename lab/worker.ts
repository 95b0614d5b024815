// A lab Web Worker: lab/compute.ts exposed through comlink. The page runs one worker per lane (study, sweeps, map,
// run) and cancels a lane by terminating its worker, so nothing here needs to poll for cancellation.
// Bad input comes back as an Outcome with the CLI's one-line message (comlink would flatten an InputError's class).
import * as Comlink from 'comlink';
import { GPU } from 'gpu.js';
import { createGpuJsMatvec, type GpuJsModule } from '../kernels/gpujs.js';
import { catalogue, describeDropped, meshMap, outcome, outcomeAsync, runHere, study, type DroppedModel } from './compute.js';
import type { LabState } from './state.js';

type Progress = (done: number, total: number) => void;

/** Progress messages at most every 50 ms (a sweep reports hundreds of points; each message costs a structured clone). */
function throttled(f: Progress | undefined): Progress | undefined {
  if (!f) return undefined;
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done === total || now - last > 50) {
      last = now;
      f(done, total);
    }
  };
}

async function gpuMatvec() {
  try {
    const m = await createGpuJsMatvec('gpu', { GPU } as unknown as GpuJsModule);
    return { matvec: m.matvec.bind(m), backend: m.backend };
  } catch {
    const m = await createGpuJsMatvec('cpu', { GPU } as unknown as GpuJsModule);
    return { matvec: m.matvec.bind(m), backend: m.backend };
  }
}

const api = {
  catalogue,
  describeDropped: (d: DroppedModel) => describeDropped(d),
  study: (s: LabState, dropped: DroppedModel | null, sweeps: boolean, onProgress?: Progress) => outcome(() => study(s, dropped, sweeps, throttled(onProgress))),
  meshMap: (s: LabState, dropped: DroppedModel | null) => outcome(() => meshMap(s, dropped)),
  runHere: async (s: LabState, dropped: DroppedModel | null, useGpuJs: boolean, onStep?: Progress) =>
    outcomeAsync(async () => runHere(s, dropped, throttled(onStep) ?? (() => {}), useGpuJs ? await gpuMatvec() : null)),
};

export type LabApi = typeof api;

Comlink.expose(api);
