// The engine's numeric work in other threads, behind an interface: the engine takes a JobPoolFactory and never names
// a threading library, so the core loads in a browser (docs/design.md#rules-of-the-house, "the core runs in a browser"). Node's factory
// (piscina over worker_threads) lives in src/workers/meshPool.ts; a page runs the whole engine inside one Web Worker
// with no pool (workers: 0). batchRunner is what any worker of a pool runs for each batch.
import { FunctionalExecutor, type JobSync } from './functional.js';
import type { ArenaLayout } from './plan.js';
import type { Program } from '../isa/types.js';
import type { FabricSpec } from '../spec/schema.js';
import type { StripCut, StripReport } from './strips.js';

/** What every worker of a pool is started with: the program, its SRAM layout and the shared tile memory. */
export interface PoolInit {
  program: Program;
  layout: ArenaLayout;
  memory: WebAssembly.Memory;
}

export interface WorkerBatch {
  jobs: Int32Array;
  position: number;
  staging: SharedArrayBuffer;
  /** Job ordering across threads (null: run in order with no waiting). */
  done: SharedArrayBuffer | null;
  epoch: number;
  abortAt: number;
}

/** A pool of `threads` workers; run() resolves with the number of jobs the batch held once they are done. */
export interface JobPool {
  run(batch: WorkerBatch): Promise<number>;
  destroy(): Promise<void>;
}

export type JobPoolFactory = (init: PoolInit, threads: number) => JobPool;

/** The batch function one worker runs: its executor is made on the first batch, over the shared memory. */
export function batchRunner(init: PoolInit): (batch: WorkerBatch) => number {
  let executor: FunctionalExecutor | null = null;
  return (batch) => {
    executor ??= new FunctionalExecutor(init.program, init.layout, init.memory);
    executor.setStaging(batch.staging);
    const sync: JobSync | null = batch.done ? { done: new Int32Array(batch.done), epoch: batch.epoch, abortAt: batch.abortAt } : null;
    executor.runJobs(batch.jobs, 0, batch.jobs.length, batch.position, sync);
    return batch.jobs.length;
  };
}

/** Whether this JavaScript context can share memory between threads (Node; a cross-origin-isolated page). */
export function canShareMemory(): boolean {
  return typeof SharedArrayBuffer !== 'undefined';
}

/**
 * A step buffer: shared where threads can share memory, else a plain ArrayBuffer (a page that is not
 * cross-origin isolated has no SharedArrayBuffer; it runs the engine inline, where nothing is shared).
 */
export function stepBuffer(bytes: number): SharedArrayBuffer {
  return canShareMemory() ? new SharedArrayBuffer(bytes) : (new ArrayBuffer(bytes) as unknown as SharedArrayBuffer);
}

/**
 * The parallel mesh: strip s of `strips` (fabric/mesh/strips.ts) on its own thread, with its own copy of the engine's
 * tables, over the same tile memory, staging area, exchange and per-tile counters. Strip 0 runs on the calling thread;
 * a StripPool runs strips 1.. (Node: src/workers/stripPool.ts; a page would start Web Workers, cross-origin isolated).
 */
export interface StripInit {
  spec: FabricSpec;
  program: Program;
  layout: ArenaLayout;
  memory: WebAssembly.Memory;
  staging: SharedArrayBuffer;
  mail: SharedArrayBuffer;
  reduction: SharedArrayBuffer;
  /** Per-tile busy and stalled cycles, then per-router-output wavelets: f64, written by the tile's own strip. */
  counters: SharedArrayBuffer;
  strips: number;
  strip: number;
  cut: StripCut | null;
  linkExtraLatencyCycles: Uint16Array | null;
  trace: boolean;
  livelockCycles: number;
}

export interface StripStepRequest {
  token: number;
  position: number;
  /** The cycle the step starts at. */
  now: number;
}

/** Threads running strips 1.. of a mesh: step() runs one step on each and resolves with their reports, in strip order. */
export interface StripPool {
  step(req: StripStepRequest): Promise<StripReport[]>;
  destroy(): Promise<void>;
}

/** Starts one thread per init (strips 1..) and resolves once each has built its strip. */
export type StripPoolFactory = (inits: StripInit[]) => Promise<StripPool>;
