// Runs a `wafer run` job in a worker thread through comlink. Ctrl-C terminates the worker and exits 130.
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { InputError } from '../../fabric/errors.js';
import type { RunOutcome, RunRequest, RunWorkerApi } from './runCommand.js';
import { startModuleWorker } from '../workers/modules.js';

export async function runInWorker(req: RunRequest, onStep?: (done: number, total: number) => void): Promise<RunOutcome> {
  const worker = startModuleWorker('src/workers/runWorker');
  const api = Comlink.wrap<RunWorkerApi>(nodeEndpoint(worker));
  const interrupt = () => {
    process.stderr.write('\ninterrupted\n');
    void worker.terminate().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  try {
    const reply = await api.run(req, onStep ? Comlink.proxy(onStep) : undefined);
    if (!reply.ok) throw new InputError(reply.what, reply.where, reply.fix);
    return reply.result;
  } finally {
    process.off('SIGINT', interrupt);
    api[Comlink.releaseProxy]();
    await worker.terminate();
  }
}
