// A child process for `wafer bench engine`'s parallel-mesh section: one program at one thread count in a fresh
// process (its JIT warmed by nothing else), the timed row on stdout as one JSON line. argv[2]: the job as JSON.
import { runParallelMeshJob, type ParallelMeshJob } from '../bench/engineBench.js';

const job = JSON.parse(process.argv[2]) as ParallelMeshJob;
process.stdout.write(JSON.stringify(await runParallelMeshJob(job)) + '\n');
