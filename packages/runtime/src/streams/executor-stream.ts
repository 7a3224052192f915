import { setMaxListeners } from 'node:events';
import { EparaError, toEparaError, type Clock, type LocalStream, type NamedTensors, type StreamResult, type StreamSummary } from '@epara/core';

/** What a stream needs from the executor to run one frame. */
export interface FrameRunner {
  /**
   * Validates and queues a frame with its absolute staleness deadline; throws synchronously on bad input,
   * otherwise settles with the outputs or a typed error (`STALE_FRAME`, `MODEL_ERROR`, …).
   */
  runFrame(frame: NamedTensors, deadline: number, signal: AbortSignal): Promise<NamedTensors>;
  /** Called once when the stream has closed and every frame settled. */
  released(summary: StreamSummary & { stale: number }): void;
}

/**
 * A stream of frames (frequency task): frames are pushed with sequence numbers, run wherever the executor
 * places them (packed with other frames, striped over replicas), and their results come back strictly in
 * push order. A frame that can no longer be fresh is dropped with `STALE_FRAME` and counted.
 */
export class ExecutorStream implements LocalStream {
  readonly id: string;
  readonly #runner: FrameRunner;
  readonly #clock: Clock;
  readonly #stalenessMs: number;
  readonly #abort = new AbortController();
  readonly #results = new Map<number, StreamResult>();
  #pushed = 0;
  #settled = 0;
  #completed = 0;
  #dropped = 0;
  #stale = 0;
  #next = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  #allSettled: (() => void) | undefined;
  #done: Promise<StreamSummary> | undefined;

  constructor(o: { id: string; runner: FrameRunner; clock: Clock; stalenessMs: number }) {
    this.id = o.id;
    this.#runner = o.runner;
    this.#clock = o.clock;
    this.#stalenessMs = o.stalenessMs;
    // Every queued frame listens to the stream's signal until it settles.
    setMaxListeners(0, this.#abort.signal);
  }

  push(frame: NamedTensors): number {
    if (this.#closed) throw new EparaError('CLOSED', `stream ${this.id} is closed`, { streamId: this.id });
    const pushedAt = this.#clock.now();
    const promise = this.#runner.runFrame(frame, pushedAt + this.#stalenessMs, this.#abort.signal);
    const seq = this.#pushed++;
    promise.then(
      (outputs) => this.#settle({ seq, ok: true, outputs, latencyMs: this.#clock.now() - pushedAt }),
      (err: unknown) => this.#settle({ seq, ok: false, error: toEparaError(err) }),
    );
    return seq;
  }

  #settle(result: StreamResult): void {
    this.#settled++;
    if (result.ok) this.#completed++;
    else {
      this.#dropped++;
      if (result.error.code === 'STALE_FRAME') this.#stale++;
    }
    this.#results.set(result.seq, result);
    this.#wake?.();
    if (this.#closed && this.#settled === this.#pushed) this.#allSettled?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamResult> {
    for (;;) {
      const r = this.#results.get(this.#next);
      if (r) {
        this.#results.delete(this.#next);
        this.#next++;
        yield r;
        continue;
      }
      if (this.#closed && this.#next >= this.#pushed) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Frames dropped because they went stale. */
  get stale(): number {
    return this.#stale;
  }

  /** Stops the stream from the executor's side (executor closing): queued frames are withdrawn. */
  abort(): void {
    this.#abort.abort(new EparaError('CLOSED', 'executor closed'));
    void this.close();
  }

  close(): Promise<StreamSummary> {
    if (this.#done) return this.#done;
    this.#closed = true;
    const settled = this.#settled === this.#pushed ? Promise.resolve() : new Promise<void>((resolve) => (this.#allSettled = resolve));
    this.#done = settled.then(() => {
      this.#wake?.();
      const summary = { pushed: this.#pushed, completed: this.#completed, dropped: this.#dropped };
      this.#runner.released({ ...summary, stale: this.#stale });
      return summary;
    });
    return this.#done;
  }
}
