import { EparaError } from '@epara/core';
import { stacklessError } from '@epara/core/internal';
import type { Clock, LocalStream, NamedTensors, ServerId, StreamResult, StreamSummary, TimerHandle, Timers } from '@epara/core';
import { isFrameTooLarge } from '../protocol/frame-codec.js';
import { createAsyncQueue } from '../util/async-queue.js';
import type { OffloadMessage } from './offload-messages.js';

/** A stream pinned to an instance on a peer: frames go over the transport in order, results come back in order. */
export interface MeshStream extends LocalStream {
  /** The server whose instance serves the stream (this node's id when local). */
  readonly pinnedTo: ServerId;
}

/**
 * The client end of a stream served by a peer. Results arrive in push order (the link is ordered and the
 * peer answers in the order frames were pushed here); if the peer fails, every unanswered frame settles with
 * `PEER_UNAVAILABLE` and iteration ends. A result that skips frames, or the peer's summary while frames are
 * unanswered, means their results were lost on the way: they settle `PEER_UNAVAILABLE` then.
 *
 * With a {@link RemoteStreamBounds} nothing waits on the peer for ever: a frame unanswered `frameTimeoutMs` after
 * its push settles `DEADLINE_EXCEEDED` (its frame or result lost with no later one to show it, or a peer whose
 * stream hangs), and a `close()` whose summary has not come `graceMs` after its last frame settled resolves
 * with this side's counts.
 */
export class RemoteStream implements MeshStream {
  readonly id: string;
  readonly pinnedTo: ServerId;
  readonly #streamId: number;
  readonly #send: (m: OffloadMessage) => void;
  readonly #results = createAsyncQueue<StreamResult>();
  readonly #counts = { pushed: 0, completed: 0, dropped: 0 };
  #answered = 0;
  #closed = false;
  #summary: StreamSummary | undefined;
  /** Every `close()` waiting for the summary (a second close must not replace the first's wait). */
  readonly #onSummary: ((s: StreamSummary) => void)[] = [];
  readonly #bounds: RemoteStreamBounds | undefined;
  /** When each unanswered frame was pushed (the first is frame `#answered`), bounds' clock ms. */
  readonly #pushedAt: number[] = [];
  /** Frames that could not be sent (too large), by number, with their error: each settles in its turn. */
  readonly #unsent = new Map<number, EparaError>();
  #timer: TimerHandle | undefined;
  /** What a push after the end throws. */
  #closedError: EparaError | undefined;

  /** Told when frames went unanswered past their limit (the node checks the link). */
  readonly #unanswered: (() => void) | undefined;

  constructor(init: { streamId: number; peer: ServerId; send: (m: OffloadMessage) => void; bounds?: RemoteStreamBounds; unanswered?: () => void }) {
    this.#unanswered = init.unanswered;
    this.#streamId = init.streamId;
    this.pinnedTo = init.peer;
    this.id = `${init.peer}/${init.streamId}`;
    this.#send = init.send;
    this.#bounds = init.bounds;
  }

  push(frame: NamedTensors): number {
    // Every frame pushed after the stream ended gets this answer (its peer failed, frames keep coming): an
    // outcome, not a fault, made once per stream and without a stack trace (see `stacklessError`).
    if (this.#closed || this.#summary) throw (this.#closedError ??= stacklessError('CLOSED', `stream ${this.id} is closed`, {}));
    const seq = this.#counts.pushed++;
    if (this.#bounds) {
      this.#pushedAt.push(this.#bounds.clock.now());
      if (this.#pushedAt.length === 1) this.#arm();
    }
    try {
      this.#send({ type: 'stream-frame', requestId: this.#streamId, seq, inputs: frame });
    } catch (err) {
      // A frame too large for the wire (the codec says how large) is this frame's failure, not the stream's:
      // it settles with that error in its turn, and the peer answers the number it never saw as lost.
      if (isFrameTooLarge(err)) {
        this.#unsent.set(seq, err);
        this.#settleUnsent();
        this.#arm();
      } else {
        this.#fail(err instanceof EparaError ? err : new EparaError('PEER_UNAVAILABLE', 'stream link is gone'));
      }
    }
    return seq;
  }

  async close(): Promise<StreamSummary> {
    if (!this.#closed && !this.#summary) {
      this.#closed = true;
      try {
        this.#send({ type: 'stream-close', requestId: this.#streamId, reason: 'closed by the client' });
      } catch {
        this.#fail(new EparaError('PEER_UNAVAILABLE', 'stream link is gone'));
      }
      if (!this.#summary) this.#arm();
    }
    return this.#summary ?? new Promise<StreamSummary>((resolve) => this.#onSummary.push(resolve));
  }

  /** A `stream-result` or the peer's `stream-close` for this stream. */
  onMessage(m: Extract<OffloadMessage, { type: 'stream-result' | 'stream-close' | 'error' }>): void {
    if (m.type === 'stream-result') {
      // Repeated or late: ignored. So is a result for a frame not pushed yet (a faulty or replaying peer): taken,
      // it would be delivered for nothing and the real answer of that frame, arriving later, dropped as a repeat.
      if (m.seq < this.#answered || m.seq >= this.#counts.pushed || this.#summary) return;
      // The peer answers in push order: the results of the frames before this one were lost on the way. They
      // fail now, rather than wait for answers that never come (and hold back every later frame's). The error
      // is made only then: this runs for every result, and an error's stack trace costs more than the rest.
      if (m.seq > this.#answered) this.#lose(m.seq, new EparaError('PEER_UNAVAILABLE', `the result of a stream frame was lost on the way back from ${this.pinnedTo}`, { peer: this.pinnedTo, cause: 'LOST_IN_TRANSIT' }));
      this.#deliver(m.ok ? { seq: m.seq, ok: true, outputs: m.outputs, latencyMs: m.latencyMs } : { seq: m.seq, ok: false, error: m.error });
      this.#arm();
      return;
    }
    if (m.type === 'error') return this.#fail(m.error);
    // The peer sent every result before its summary: frames still unanswered lost theirs on the way.
    this.#fail(new EparaError('PEER_UNAVAILABLE', `the stream closed on ${this.pinnedTo} without the result of a frame (lost on the way)`, { peer: this.pinnedTo, cause: 'LOST_IN_TRANSIT' }));
  }

  /** The peer failed: settle every unanswered frame. */
  onPeerDown(): void {
    this.#fail(new EparaError('PEER_UNAVAILABLE', `peer ${this.pinnedTo} serving the stream failed`, { peer: this.pinnedTo }));
  }

  get settled(): boolean {
    return this.#summary !== undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamResult> {
    return this.#results[Symbol.asyncIterator]();
  }

  #fail(error: EparaError): void {
    if (this.#summary) return;
    this.#lose(this.#counts.pushed, error);
    this.#closed = true;
    this.#finish();
  }

  /** Settles every unanswered frame before `seq` with `error`. */
  #lose(seq: number, error: EparaError): void {
    while (this.#answered < seq) this.#deliver({ seq: this.#answered, ok: false, error });
  }

  /** Settles the unsent frames that are next in line (every frame before them answered). */
  #settleUnsent(): void {
    while (this.#unsent.has(this.#answered)) this.#deliver({ seq: this.#answered, ok: false, error: this.#unsent.get(this.#answered)! });
  }

  /** Hands the next frame's result to the reader (a frame that was never sent, its own error). */
  #deliver(r: StreamResult): void {
    const unsent = this.#unsent.get(r.seq);
    if (unsent !== undefined) {
      this.#unsent.delete(r.seq);
      r = { seq: r.seq, ok: false, error: unsent };
    }
    this.#answered++;
    this.#pushedAt.shift();
    if (r.ok) this.#counts.completed++;
    else this.#counts.dropped++;
    this.#results.push(r);
    if (this.#unsent.has(this.#answered)) this.#settleUnsent();
  }

  /**
   * One timer at a time: for the oldest unanswered frame's bound, or, once closed with every frame settled, for
   * the summary's grace.
   */
  #arm(): void {
    const b = this.#bounds;
    if (!b || this.#summary) return;
    this.#timer?.cancel();
    const head = this.#pushedAt[0];
    if (head === undefined && !this.#closed) return void (this.#timer = undefined);
    const waitMs = head === undefined ? b.graceMs : head + b.frameTimeoutMs - b.clock.now();
    this.#timer = b.timers.setTimeout(() => this.#onTimer(), Math.max(0, waitMs));
  }

  #onTimer(): void {
    const b = this.#bounds!;
    this.#timer = undefined;
    if (this.#summary) return;
    if (this.#pushedAt.length === 0) {
      // Closed, every frame settled, no summary: the close or the summary was lost. Ask once more, and stop waiting.
      try {
        this.#send({ type: 'stream-close', requestId: this.#streamId, reason: 'closed by the client' });
      } catch {
        // The link is gone: the peer closes the stream with it.
      }
      return this.#finish();
    }
    const now = b.clock.now();
    const error = new EparaError('DEADLINE_EXCEEDED', `${this.pinnedTo} did not answer a stream frame within ${b.frameTimeoutMs} ms`, { peer: this.pinnedTo });
    let late = false;
    while (this.#pushedAt[0] !== undefined && this.#pushedAt[0] + b.frameTimeoutMs <= now) (this.#deliver({ seq: this.#answered, ok: false, error }), (late = true));
    this.#arm();
    if (late) this.#unanswered?.();
  }

  #finish(): void {
    if (this.#summary) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#summary = { ...this.#counts };
    this.#results.end();
    for (const resolve of this.#onSummary.splice(0)) resolve(this.#summary);
  }
}

/** How long a {@link RemoteStream} waits on its peer. */
export interface RemoteStreamBounds {
  readonly clock: Clock;
  readonly timers: Timers;
  /** A frame unanswered this long after its push settles `DEADLINE_EXCEEDED`, ms (its staleness limit plus a grace). */
  readonly frameTimeoutMs: number;
  /** How long a `close()` waits for the summary once every frame settled, ms. */
  readonly graceMs: number;
}
