import { toEparaError, type NamedTensors } from '@epara/core';
import type { FrameOutcome, ServingStream } from '../system.js';

/** Sends one frame as an ordinary request with its timeout (ms); resolves with the outputs. */
export type FrameSender = (frame: NamedTensors, timeoutMs: number) => Promise<NamedTensors>;

/**
 * A stream on the Triton-like baseline: every frame is an ordinary request with the staleness limit as its
 * timeout. Results are delivered in push order.
 */
export function requestStream(o: { servedAt: number; stalenessMs: number; send: FrameSender }): ServingStream {
  let chain: Promise<void> = Promise.resolve();
  return {
    servedAt: o.servedAt,
    push(frame, settled) {
      const work = o.send(frame, o.stalenessMs).then(
        (): FrameOutcome => ({ ok: true }),
        (err: unknown): FrameOutcome => ({ ok: false, code: toEparaError(err).code }),
      );
      chain = chain.then(() => work.then(settled));
    },
    async close() {
      await chain;
    },
  };
}
