import { performance } from 'node:perf_hooks';
import { toEparaError, type NamedTensors, type TensorLike } from '@epara/core';
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

/**
 * A stateful (VAD) stream on the baseline: the client holds the recurrent state, as with a Triton model that
 * takes `state` as an ordinary input, so frame `k + 1` can only be sent once frame `k`'s new state is back.
 * A frame waits in the client meanwhile; its timeout is what is left of its staleness budget when it is sent.
 */
export function statefulStream(o: { servedAt: number; stalenessMs: number; initialState: TensorLike; send: FrameSender }): ServingStream {
  let state = o.initialState;
  let chain: Promise<void> = Promise.resolve();
  return {
    servedAt: o.servedAt,
    push(frame, settled) {
      const pushedAt = performance.now();
      chain = chain.then(async () => {
        const left = o.stalenessMs - (performance.now() - pushedAt);
        if (left <= 0) return settled({ ok: false, code: 'STALE_FRAME' });
        try {
          const out = await o.send({ ...frame, state: { ...state, data: state.data.slice() as TensorLike['data'] } }, left);
          const next = out['stateN'];
          if (next) state = { type: next.type, dims: [...next.dims], data: next.data.slice() as TensorLike['data'] };
          settled({ ok: true });
        } catch (err) {
          settled({ ok: false, code: toEparaError(err).code });
        }
      });
    },
    async close() {
      await chain;
    },
  };
}
