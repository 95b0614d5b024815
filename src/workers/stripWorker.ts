// A thread of the parallel mesh (src/workers/stripPool.ts): builds its strip's engine from workerData.init, says
// "ready", then runs one step per message and replies with the strip's report.
import { parentPort, workerData } from 'node:worker_threads';
import { MeshEngine } from '../../fabric/mesh/engine.js';
import type { StripInit, StripStepRequest } from '../../fabric/mesh/pool.js';

const port = parentPort!;
const run = MeshEngine.stripRunner((workerData as { init: StripInit }).init);
port.on('message', (req: StripStepRequest) => port.postMessage(run(req)));
port.postMessage('ready');
