// A lane: one Web Worker (lab/worker.ts, through comlink) that runs one kind of computation at a time. A new request
// cancels the one in flight by terminating its worker (a computation cannot be interrupted from outside, and a stale
// answer is not wanted); the next request starts a fresh worker. A request that takes over STATUS_DELAY_MS shows its
// progress and a cancel button in the lane's status element, so the page never waits silently or freezes.
// While a knob is dragged, requests come faster than answers: where the lane's last answer took under QUEUE_MS, a new
// request waits for the one in flight (whose answer is still shown) instead of restarting the worker, and only the
// latest waiting request runs — so the outputs keep moving with the knob.
import * as Comlink from 'comlink';
import type { LabApi } from './worker.js';

export const STATUS_DELAY_MS = 200;
export const QUEUE_MS = 1000;

type Progress = ((done: number, total: number) => void) & Comlink.ProxyMarked;

export class Lane {
  private worker: Worker | null = null;
  private remote: Comlink.Remote<LabApi> | null = null;
  private generation = 0;
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current: Promise<unknown> = Promise.resolve();
  private lastMs = Infinity;
  private queued = 0;

  constructor(private readonly status: HTMLElement) {
    status.querySelector('button')?.addEventListener('click', () => this.cancel());
  }

  private api(): Comlink.Remote<LabApi> {
    if (!this.remote) {
      this.worker = new Worker('worker.js');
      this.remote = Comlink.wrap<LabApi>(this.worker);
    }
    return this.remote;
  }

  /** Stops the computation in flight, if any (its answer is dropped). */
  cancel(): void {
    if (!this.busy) return;
    this.worker?.terminate();
    this.worker = null;
    this.remote = null;
    this.generation++;
    this.settle();
  }

  private settle(): void {
    this.busy = false;
    clearTimeout(this.timer);
    this.status.hidden = true;
  }

  /** Runs f on the lane's worker; resolves with its answer, or null when a later request or cancel() replaced it. */
  async run<T>(label: string, f: (api: Comlink.Remote<LabApi>, progress: Progress) => Promise<T>): Promise<T | null> {
    const ticket = ++this.queued;
    while (this.busy && this.lastMs < QUEUE_MS) {
      await this.current.catch(() => undefined);
      if (ticket !== this.queued) return null;
    }
    this.cancel();
    const generation = ++this.generation;
    this.busy = true;
    const bar = this.status.querySelector('progress');
    const text = this.status.querySelector('span');
    bar?.removeAttribute('value');
    if (text) text.textContent = label;
    this.timer = setTimeout(() => (this.status.hidden = false), STATUS_DELAY_MS);
    const progress = Comlink.proxy((done: number, total: number) => {
      if (generation !== this.generation || !bar) return;
      bar.max = total;
      bar.value = done;
      if (text) text.textContent = `${label}: ${done} of ${total}`;
    });
    const started = performance.now();
    try {
      const call = f(this.api(), progress);
      this.current = call;
      const r = await call;
      if (generation === this.generation) this.lastMs = performance.now() - started;
      return generation === this.generation ? r : null;
    } catch (e) {
      if (generation !== this.generation) return null;
      throw e;
    } finally {
      if (generation === this.generation) this.settle();
    }
  }
}
