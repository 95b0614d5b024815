// The parallel mesh's threads in Node: one worker_threads Worker per strip beyond the first (the engine runs strip 0
// on its own thread), each holding its strip's engine between steps (fabric/mesh/pool.ts StripPool). Plain Workers,
// not a piscina pool: a strip's state must stay on the thread that owns it, and every strip of a step must run at once.
import { Worker } from 'node:worker_threads';
import type { StripInit, StripPool, StripPoolFactory, StripStepRequest } from '../../fabric/mesh/pool.js';
import type { StripReport } from '../../fabric/mesh/strips.js';

function reply<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: T) => {
      worker.off('error', onError);
      resolve(m);
    };
    const onError = (e: Error) => {
      worker.off('message', onMessage);
      reject(e);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

export const nodeStripPool: StripPoolFactory = async (inits: StripInit[]): Promise<StripPool> => {
  const workers = inits.map(
    (init) => new Worker(new URL('./bootstrap.mjs', import.meta.url), { workerData: { entry: new URL('./stripWorker.ts', import.meta.url).href, init } }),
  );
  try {
    await Promise.all(workers.map((w) => reply<string>(w)));
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  return {
    step(req: StripStepRequest): Promise<StripReport[]> {
      const replies = workers.map((w) => reply<StripReport>(w));
      for (const w of workers) w.postMessage(req);
      return Promise.all(replies);
    },
    async destroy(): Promise<void> {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
};
