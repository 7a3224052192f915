import { performance } from 'node:perf_hooks';
import { EparaError, toEparaError, type NamedTensors, type StreamResult, type TensorLike } from '@epara/core';
import type { EntryClient, EntryStream } from '../cluster/entry.js';

/** Runs one frame, with the stream's state as an input, on the site's batcher; resolves with its outputs. */
export type SequenceStep = (inputs: NamedTensors, timeoutMs: number) => Promise<NamedTensors>;

/** Options of {@link sequenceStream}. */
export interface SequenceStreamOptions {
  /** The site serving the sequence (its correlation id is bound to this site's instance). */
  readonly servedBy: string;
  readonly stalenessMs: number;
  /** The recurrent state a new sequence starts from. */
  readonly initialState: TensorLike;
  /** The state input's name and the output that carries the next state. */
  readonly stateInput: string;
  readonly stateOutput: string;
  readonly step: SequenceStep;
}

/**
 * A stateful stream as a Triton user deploys it: the sequence batcher with implicit state. The client sends
 * every frame as it is captured (it does not wait for the previous answer); the server keeps the sequence's
 * state, runs its frames in order, one at a time, each batched with other sequences' frames by the site's
 * batcher; a frame's queue timeout is what is left of its staleness budget, and one whose budget is spent
 * before its turn is dropped with `STALE_FRAME`.
 */
export function sequenceStream(o: SequenceStreamOptions): EntryStream {
  const out = new ResultChannel();
  let state = o.initialState;
  let chain: Promise<void> = Promise.resolve();
  let seq = 0;
  let closed = false;
  const run = async (k: number, frame: NamedTensors, pushedAt: number): Promise<void> => {
    const left = o.stalenessMs - (performance.now() - pushedAt);
    if (left <= 0) return out.push({ seq: k, ok: false, error: new EparaError('STALE_FRAME', `frame ${k} waited past its ${o.stalenessMs} ms staleness limit`) });
    try {
      const outputs = await o.step({ ...frame, [o.stateInput]: state }, left);
      const next = outputs[o.stateOutput];
      if (next) state = { type: next.type, dims: [...next.dims], data: next.data.slice() as TensorLike['data'] };
      out.push({ seq: k, ok: true, outputs, latencyMs: performance.now() - pushedAt });
    } catch (err) {
      out.push({ seq: k, ok: false, error: toEparaError(err) });
    }
  };
  return {
    servedBy: o.servedBy,
    push(frame) {
      if (closed) throw new EparaError('CLOSED', 'the sequence has ended');
      const k = seq++;
      const pushedAt = performance.now();
      chain = chain.then(() => run(k, frame, pushedAt));
      return k;
    },
    async close() {
      closed = true;
      await chain;
      out.end();
    },
    [Symbol.asyncIterator]: () => out[Symbol.asyncIterator](),
  };
}

/**
 * A one-consumer queue of stream results: `push` in order, then `end` (iteration finishes) or `fail` (iteration
 * throws after what was pushed, so the entry fails the frames still waiting); `drained` settles at either.
 */
export class ResultChannel implements AsyncIterable<StreamResult> {
  #items: StreamResult[] = [];
  #done = false;
  #error: EparaError | undefined;
  #wake: (() => void) | undefined;
  #drained!: () => void;
  readonly drained = new Promise<void>((resolve) => (this.#drained = resolve));

  push(r: StreamResult): void {
    if (this.#done) return;
    this.#items.push(r);
    this.#wake?.();
  }

  end(): void {
    this.#finish(undefined);
  }

  fail(error: EparaError): void {
    this.#finish(error);
  }

  #finish(error: EparaError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#drained();
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamResult> {
    for (;;) {
      while (this.#items.length > 0) yield this.#items.shift() as StreamResult;
      if (this.#done) {
        if (this.#error) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

/**
 * A sequence whose model is not hosted where it entered: the site's balancer binds it to a replica site once
 * (sticky by correlation id, as an operator configures session affinity for sequences) and relays its frames
 * and results over the link.
 */
export async function relayedSequence(peer: EntryClient, serviceId: string, rateHz: number): Promise<EntryStream> {
  const out = new ResultChannel();
  const s = await peer.openStream(serviceId, rateHz, (m) => {
    if (m.type === 'stream-result') out.push(m.ok ? { seq: m.seq, ok: true, outputs: m.outputs, latencyMs: m.latencyMs } : { seq: m.seq, ok: false, error: m.error });
    else if (m.type === 'stream-close' && m.reason === 'closed') out.end();
    else out.fail(m.type === 'error' ? m.error : new EparaError('PEER_UNAVAILABLE', `the sequence's site is gone (${m.type === 'stream-close' ? m.reason : m.type})`));
  });
  let seq = 0;
  return {
    servedBy: s.servedBy,
    push(frame) {
      const k = seq++;
      s.push(k, frame);
      return k;
    },
    async close() {
      try {
        s.close();
      } catch {
        out.fail(new EparaError('PEER_UNAVAILABLE', "the sequence's site is gone"));
      }
      await out.drained;
    },
    [Symbol.asyncIterator]: () => out[Symbol.asyncIterator](),
  };
}
