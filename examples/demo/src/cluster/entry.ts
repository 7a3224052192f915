import { setTimeout as sleep } from 'node:timers/promises';
import { EparaError, toEparaError, type NamedTensors, type StreamResult } from '@epara/core';
import { type Connection, type Transport } from '@epara/mesh';
import { decodeFrame, encodeFrameParts, sendFrameParts, type WireMessage } from '@epara/mesh/wire';

/*
 * The entry of an edge node: where clients near that server send their requests and streams. It speaks the
 * mesh's own binary frames (`submit` → `result`/`error`, `stream-open` → `stream-accepted`, `stream-frame` →
 * `stream-result`, `stream-close`) over a WebSocket, for both systems, so a client pays the same encoding and
 * socket cost whichever system it talks to. Peers of the baseline forward requests over the same messages.
 */

/** A stream as a node serves it behind its entry. */
export interface EntryStream extends AsyncIterable<StreamResult> {
  /** The instance it is pinned to (EPARA), or the entry node (baseline). */
  readonly servedBy: string;
  push(frame: NamedTensors): number;
  close(): Promise<unknown>;
}

/** What a node does with its entry's traffic. */
export interface EntryHandlers {
  /** `hops` is 0 for a client's request, 1 for a request a peer forwarded. */
  submit(serviceId: string, inputs: NamedTensors, budgetMs: number, hops: number): Promise<NamedTensors>;
  openStream?(serviceId: string, rateHz: number): Promise<EntryStream>;
}

/** Serves every connection the transport accepts with `handlers`. */
export function serveEntry(transport: Transport, handlers: EntryHandlers): void {
  transport.on('connectionAccepted', ({ connection }) => serveConnection(connection, handlers));
}

function serveConnection(c: Connection, h: EntryHandlers): void {
  const streams = new Map<number, { stream: EntryStream; seqs: Map<number, number>; relayed?: Promise<void> }>();
  // A result's tensors leave as they came from the node (a relayed one: the bytes of the peer's frame), not copied.
  const send = (m: WireMessage): void => {
    if (!c.isClosed) sendFrameParts(c, encodeFrameParts(m));
  };
  c.on('closed', () => {
    for (const s of streams.values()) void s.stream.close().catch(() => undefined);
    streams.clear();
  });
  c.on('frameReceived', ({ frame }) => {
    const m = decodeOrClose(c, frame);
    if (m === undefined) return;
    const requestId = m.requestId ?? 0;
    const fail = (err: unknown): void => send({ type: 'error', requestId, error: toEparaError(err) });
    if (m.type === 'ping') return send({ type: 'pong', requestId });
    if (m.type === 'submit') {
      h.submit(m.serviceId, m.inputs, m.budgetMs, m.hops).then((outputs) => send({ type: 'result', requestId, outputs }), fail);
    } else if (m.type === 'stream-open') {
      if (!h.openStream) return fail(new EparaError('INVALID_INPUT', 'this entry serves no streams'));
      h.openStream(m.serviceId, m.rateHz).then((stream) => {
        const s: { stream: EntryStream; seqs: Map<number, number>; relayed?: Promise<void> } = { stream, seqs: new Map<number, number>() };
        streams.set(requestId, s);
        send({ type: 'stream-accepted', requestId, instanceId: stream.servedBy });
        s.relayed = relayResults(s, (r) => send(r.ok ? { type: 'stream-result', requestId, seq: r.seq, ok: true, outputs: r.outputs, latencyMs: r.latencyMs } : { type: 'stream-result', requestId, seq: r.seq, ok: false, error: r.error }));
      }, fail);
    } else if (m.type === 'stream-frame') {
      const s = streams.get(requestId);
      if (!s) return send({ type: 'stream-result', requestId, seq: m.seq, ok: false, error: new EparaError('CLOSED', 'no such stream') });
      try {
        s.seqs.set(s.stream.push(m.inputs), m.seq);
      } catch (err) {
        send({ type: 'stream-result', requestId, seq: m.seq, ok: false, error: toEparaError(err) });
      }
    } else if (m.type === 'stream-close') {
      const s = streams.get(requestId);
      streams.delete(requestId);
      // Every result is relayed before the close, so the client sees each frame's own outcome.
      const closed = Promise.all([s?.stream.close().catch(() => undefined), s?.relayed]);
      void closed.then(() => send({ type: 'stream-close', requestId, reason: 'closed' }));
    }
  });
}

/**
 * A malformed frame means the byte stream can no longer be trusted: the link is closed (its requests and
 * streams fail with `PEER_UNAVAILABLE` and the client redials) instead of the error escaping the socket's
 * callback and taking the whole node down.
 */
function decodeOrClose(c: Connection, frame: Uint8Array): WireMessage | undefined {
  try {
    return decodeFrame(frame);
  } catch (err) {
    c.close(`protocol error: ${toEparaError(err).message}`);
    return undefined;
  }
}

/** Forwards a stream's results in order, translating its sequence numbers back to the client's. */
async function relayResults(s: { stream: EntryStream; seqs: Map<number, number> }, out: (r: StreamResult) => void): Promise<void> {
  try {
    for await (const r of s.stream) {
      const seq = s.seqs.get(r.seq) ?? r.seq;
      s.seqs.delete(r.seq);
      out({ ...r, seq } as StreamResult);
    }
  } catch (err) {
    const error = toEparaError(err);
    for (const seq of s.seqs.values()) out({ seq, ok: false, error });
    s.seqs.clear();
  }
}

type Waiter = { resolve: (m: WireMessage) => void; reject: (e: EparaError) => void };

/** The client end of an entry connection: requests and streams multiplexed by request id. */
export class EntryClient {
  readonly #c: Connection;
  readonly #waiting = new Map<number, Waiter>();
  readonly #streams = new Map<number, (m: WireMessage) => void>();
  #next = 1;

  constructor(connection: Connection) {
    this.#c = connection;
    connection.on('frameReceived', ({ frame }) => {
      const m = decodeOrClose(connection, frame);
      if (m !== undefined) this.#receive(m);
    });
    connection.on('closed', () => {
      const err = new EparaError('PEER_UNAVAILABLE', 'entry connection closed');
      for (const w of this.#waiting.values()) w.reject(err);
      this.#waiting.clear();
      for (const s of this.#streams.values()) s({ type: 'stream-close', reason: 'connection closed' });
      this.#streams.clear();
    });
  }

  #receive(m: WireMessage): void {
    const id = m.requestId ?? 0;
    const stream = this.#streams.get(id);
    if (stream && (m.type === 'stream-result' || m.type === 'stream-close' || (m.type === 'error' && !this.#waiting.has(id)))) return stream(m);
    const w = this.#waiting.get(id);
    if (!w) return;
    this.#waiting.delete(id);
    if (m.type === 'error') w.reject(m.error);
    else w.resolve(m);
  }

  #ask(build: (requestId: number) => WireMessage): { requestId: number; reply: Promise<WireMessage> } {
    const requestId = this.#next++;
    const reply = new Promise<WireMessage>((resolve, reject) => {
      if (this.#c.isClosed) return reject(new EparaError('PEER_UNAVAILABLE', 'entry connection closed'));
      this.#waiting.set(requestId, { resolve, reject });
      try {
        sendFrameParts(this.#c, encodeFrameParts(build(requestId)));
      } catch (err) {
        this.#waiting.delete(requestId);
        reject(toEparaError(err));
      }
    });
    return { requestId, reply };
  }

  /** One request; `budgetMs` is what is left of its deadline, `hops` 1 for a peer's forward. */
  async submit(serviceId: string, inputs: NamedTensors, budgetMs: number, hops = 0): Promise<NamedTensors> {
    const { reply } = this.#ask((requestId) => ({ type: 'submit', requestId, serviceId, budgetMs, hops, maxHops: 0, visited: [], priority: 0, inputs }));
    const m = await reply;
    if (m.type !== 'result') throw new EparaError('PROTOCOL_ERROR', `unexpected ${m.type} reply`);
    return m.outputs;
  }

  /** Round trip of a `ping`, ms. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.#ask((requestId) => ({ type: 'ping', requestId })).reply;
    return performance.now() - t0;
  }

  /** Opens a stream; `onMessage` receives its `stream-result`s and the final `stream-close`. */
  async openStream(serviceId: string, rateHz: number, onMessage: (m: WireMessage) => void): Promise<{ servedBy: string; push: (seq: number, inputs: NamedTensors) => void; close: () => void }> {
    const { requestId, reply } = this.#ask((id) => ({ type: 'stream-open', requestId: id, serviceId, rateHz, hops: 0, visited: [] }));
    this.#streams.set(requestId, onMessage);
    let m: WireMessage;
    try {
      m = await reply;
    } catch (err) {
      this.#streams.delete(requestId);
      throw err;
    }
    if (m.type !== 'stream-accepted') throw new EparaError('PROTOCOL_ERROR', `unexpected ${m.type} reply`);
    const send = (w: WireMessage): void => {
      if (this.#c.isClosed) throw new EparaError('PEER_UNAVAILABLE', 'entry connection closed');
      sendFrameParts(this.#c, encodeFrameParts(w));
    };
    return {
      servedBy: m.instanceId,
      push: (seq, inputs) => send({ type: 'stream-frame', requestId, seq, inputs }),
      close: () => send({ type: 'stream-close', requestId, reason: 'client done' }),
    };
  }

  /** True once the connection has closed (the owner dials a new one). */
  get isClosed(): boolean {
    return this.#c.isClosed;
  }

  close(): void {
    this.#c.close();
  }
}

/**
 * An entry client that redials when its connection has closed (a load balancer or a client library keeps its
 * upstream connection up); one dial at a time.
 */
export class RedialingEntry {
  #client: EntryClient | undefined;
  #dialing: Promise<EntryClient> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly address: string,
  ) {}

  /** The open client, dialing first when there is none. */
  get(): Promise<EntryClient> {
    if (this.#client && !this.#client.isClosed) return Promise.resolve(this.#client);
    this.#dialing ??= this.transport.connect(this.address).then(
      (c) => {
        this.#dialing = undefined;
        return (this.#client = new EntryClient(c));
      },
      (err: unknown) => {
        this.#dialing = undefined;
        throw toEparaError(err);
      },
    );
    return this.#dialing;
  }

  /**
   * The first connection: up to `attempts` dials, `backoffMs` doubling between them. A node process starting on a
   * busy host can miss one WebSocket handshake window (`PEER_UNAVAILABLE`), as a client library's first dial
   * does; the last failure is thrown.
   */
  async open(attempts = 4, backoffMs = 250): Promise<EntryClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.get();
      } catch (err) {
        const e = toEparaError(err);
        if (attempt >= attempts || e.code !== 'PEER_UNAVAILABLE') throw e;
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  close(): void {
    this.#client?.close();
  }
}
