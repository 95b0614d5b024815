// npx tsx bench/strip-barrier.ts [rounds]: what one barrier of the parallel mesh costs on this host — two threads
// ending rounds of a StripExchange (fabric/mesh/strips.ts) with nothing else to do, printed with the host's 1-minute
// load average. A parallel step pays this once per simulated cycle in which anything moves (docs/parallel-mesh.md).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { StripExchange, exchangeLayout } from '../fabric/mesh/strips.js';

const layout = exchangeLayout(2, Int32Array.from([0, 4, 4, 0]), Int32Array.from([0, 4, 4, 0]));

function rounds(ex: StripExchange, n: number): void {
  for (let i = 0; i < n; i++) ex.endRound(i + 1, i, true, false);
}

if (isMainThread) {
  const n = Number(process.argv[2] ?? 200_000);
  if (!Number.isInteger(n) || n < 1 || n > 1e8) {
    process.stderr.write('error: rounds must be a whole number in [1, 1e8] (argument 1): e.g. npx tsx bench/strip-barrier.ts 200000\n');
    process.exit(2);
  }
  const bytes = StripExchange.sharedBytes(layout);
  const mail = new SharedArrayBuffer(bytes.mail);
  const reduction = new SharedArrayBuffer(bytes.reduction);
  const self = new URL(import.meta.url).href;
  const worker = new Worker(new URL('../src/workers/bootstrap.mjs', import.meta.url), { workerData: { entry: self, mail, reduction, n } });
  await new Promise((resolve) => worker.once('message', resolve));
  const load = loadavg()[0];
  const t0 = performance.now();
  rounds(new StripExchange(0, layout, mail, reduction), n);
  const ms = performance.now() - t0;
  await worker.terminate();
  process.stdout.write(`${n} barriers of 2 threads: ${((ms * 1000) / n).toFixed(2)} µs each (host: 1-minute load ${load.toFixed(1)} -> ${loadavg()[0].toFixed(1)})\n`);
} else {
  const d = workerData as { mail: SharedArrayBuffer; reduction: SharedArrayBuffer; n: number };
  const ex = new StripExchange(1, layout, d.mail, d.reduction);
  parentPort!.postMessage('ready');
  rounds(ex, d.n);
}
