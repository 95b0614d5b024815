// A thread of the parallel mesh (src/workers/stripPool.ts): builds a strip's engine on `init` (and says "ready"), runs
// one step per `step` message and replies with the strip's report, and drops the engine on `release`.
import { parentPort } from 'node:worker_threads';
import { MeshEngine } from '../../fabric/mesh/engine.js';
import type { StripInit, StripStepRequest } from '../../fabric/mesh/pool.js';
import type { StripReport } from '../../fabric/mesh/strips.js';

export type StripMessage = { kind: 'init'; init: StripInit } | { kind: 'step'; req: StripStepRequest } | { kind: 'release' };

const port = parentPort!;
let run: ((req: StripStepRequest) => StripReport) | null = null;
port.on('message', (m: StripMessage) => {
  if (m.kind === 'init') {
    run = MeshEngine.stripRunner(m.init);
    port.postMessage('ready');
  } else if (m.kind === 'step') port.postMessage(run!(m.req));
  else {
    run = null;
    port.postMessage('released');
  }
});
