// Starts a worker_threads Worker on a TypeScript entry: registers tsx in this thread, then imports the entry
// (a plain Worker on a .ts file fails on Node 20; see docs/toolchain.md#workers-in-typescript). workerData.entry: file URL.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
