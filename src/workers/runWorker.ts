// A worker thread that executes `wafer run` jobs, exposed through comlink: the main thread stays free for progress
// and Ctrl-C, and a browser page can drive the same interface from a web worker. Bad input comes back as data
// (comlink would flatten an InputError into a plain Error and lose its exit code).
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { InputError } from '../../fabric/errors.js';
import { executeRun, type RunReply, type RunRequest, type RunWorkerApi } from '../wafer/runCommand.js';

const api: RunWorkerApi = {
  async run(req: RunRequest, onStep?: (done: number, total: number) => void): Promise<RunReply> {
    try {
      return { ok: true, result: await executeRun(req, onStep) };
    } catch (e) {
      if (e instanceof InputError) return { ok: false, what: e.what, where: e.where, fix: e.fix };
      throw e;
    }
  },
};

Comlink.expose(api, nodeEndpoint(parentPort!));
