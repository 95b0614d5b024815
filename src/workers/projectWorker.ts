// A worker thread that runs full-wafer projections for the studies (src/study/projectPool.ts): one job per message,
// its result (a point, or the refusal's message) back with the job's id.
import { parentPort } from 'node:worker_threads';
import { runProjectionJob, type ProjectionJob } from '../study/compare.js';
import type { ProjectionReply } from '../study/projectPool.js';

parentPort!.on('message', (m: { id: number; job: ProjectionJob }) => {
  let reply: ProjectionReply;
  try {
    reply = { id: m.id, ok: true, result: runProjectionJob(m.job) };
  } catch (e) {
    reply = { id: m.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  parentPort!.postMessage(reply);
});
