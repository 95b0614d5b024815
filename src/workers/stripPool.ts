// The parallel mesh's threads in Node: one worker_threads Worker per strip beyond the first (the engine runs strip 0
// on its own thread), each holding its strip's engine between steps (fabric/mesh/pool.ts StripPool). Plain Workers,
// not a piscina pool: a strip's state must stay on the thread that owns it, and every strip of a step must run at once.
// A destroyed pool's threads drop their engines and wait, unreferenced, for the next engine of this process: starting
// a thread on TypeScript (tsx) costs ~0.2 s on a quiet machine and seconds on a busy one.
import { Worker } from 'node:worker_threads';
import type { StripInit, StripPool, StripPoolFactory, StripStepRequest } from '../../fabric/mesh/pool.js';
import type { StripReport } from '../../fabric/mesh/strips.js';
import type { StripMessage } from './stripWorker.js';
import { startModuleWorker } from './modules.js';

const idle: Worker[] = [];

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

function startWorker(): Worker {
  return startModuleWorker('src/workers/stripWorker');
}

function send(worker: Worker, m: StripMessage): void {
  worker.postMessage(m);
}

export const nodeStripPool: StripPoolFactory = async (inits: StripInit[]): Promise<StripPool> => {
  const workers = inits.map(() => idle.pop() ?? startWorker());
  for (const w of workers) w.ref();
  try {
    const ready = workers.map((w) => reply<string>(w));
    inits.forEach((init, i) => send(workers[i], { kind: 'init', init }));
    await Promise.all(ready);
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  let broken = false;
  return {
    async step(req: StripStepRequest): Promise<StripReport[]> {
      const replies = workers.map((w) => reply<StripReport>(w));
      for (const w of workers) send(w, { kind: 'step', req });
      try {
        return await Promise.all(replies);
      } catch (e) {
        broken = true;
        throw e;
      }
    },
    async destroy(): Promise<void> {
      if (broken) {
        await Promise.all(workers.map((w) => w.terminate()));
        return;
      }
      const released = workers.map((w) => reply<string>(w));
      for (const w of workers) send(w, { kind: 'release' });
      await Promise.all(released);
      for (const w of workers) {
        w.unref();
        idle.push(w);
      }
    },
  };
};
