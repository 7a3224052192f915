import { EparaError, toEparaError } from '@epara/core';
import type { LocalStream, ServerId, ServiceId } from '@epara/core';
import type { OffloadMessage } from './offload-messages.js';

/** A stream admission request as the node routes it. */
export interface StreamRoute {
  readonly serviceId: ServiceId;
  readonly rateHz: number;
  readonly stalenessMs?: number;
  readonly hops: number;
  readonly visited: readonly ServerId[];
}

/** What {@link StreamHost} needs from the node. */
export interface StreamHostConfig {
  /** Admits and opens the stream here (or one hop further, per the node's routing). */
  readonly open: (route: StreamRoute) => Promise<LocalStream>;
  readonly reply: (linkId: string, message: OffloadMessage) => void;
}

/**
 * The serving end of streams that peers pinned to this node: opens the stream through the node (admission
 * once), feeds pushed frames in order, and sends every result back in order; the client's `stream-close`
 * closes it and the summary travels back.
 */
export class StreamHost {
  readonly #c: StreamHostConfig;
  readonly #streams = new Map<string, Promise<LocalStream | undefined>>();

  constructor(config: StreamHostConfig) {
    this.#c = config;
  }

  get size(): number {
    return this.#streams.size;
  }

  onOpen(linkId: string, from: ServerId, m: Extract<OffloadMessage, { type: 'stream-open' }>): void {
    const requestId = m.requestId ?? 0;
    const key = `${linkId}#${requestId}`;
    if (this.#streams.has(key)) return;
    const visited = m.visited.includes(from) ? m.visited : [...m.visited, from];
    const opened = this.#c.open({ serviceId: m.serviceId, rateHz: m.rateHz, stalenessMs: m.stalenessMs, hops: m.hops, visited }).then(
      (stream) => {
        this.#send(linkId, { type: 'stream-accepted', requestId, instanceId: stream.id });
        void this.#pipe(linkId, requestId, key, stream);
        return stream;
      },
      (err: unknown) => {
        this.#streams.delete(key);
        this.#send(linkId, { type: 'error', requestId, error: toEparaError(err) });
        return undefined;
      },
    );
    this.#streams.set(key, opened);
  }

  onFrame(linkId: string, m: Extract<OffloadMessage, { type: 'stream-frame' }>): void {
    const requestId = m.requestId ?? 0;
    void this.#streams.get(`${linkId}#${requestId}`)?.then((s) => {
      try {
        s?.push(m.inputs);
      } catch (err) {
        this.#send(linkId, { type: 'stream-result', requestId, seq: m.seq, ok: false, error: toEparaError(err) });
      }
    });
  }

  onClose(linkId: string, requestId: number): void {
    void this.#streams.get(`${linkId}#${requestId}`)?.then((s) => s?.close());
  }

  /** The client's link closed: close its streams (their results have nowhere to go). */
  onLinkClosed(linkId: string): void {
    for (const [key, s] of this.#streams) if (key.startsWith(`${linkId}#`)) void s.then((x) => x?.close());
  }

  /** Closes every hosted stream (node shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((s) => s.then((x) => x?.close())));
  }

  async #pipe(linkId: string, requestId: number, key: string, stream: LocalStream): Promise<void> {
    try {
      for await (const r of stream) {
        this.#send(linkId, r.ok ? { type: 'stream-result', requestId, seq: r.seq, ok: true, outputs: r.outputs, latencyMs: r.latencyMs } : { type: 'stream-result', requestId, seq: r.seq, ok: false, error: r.error });
      }
      const summary = await stream.close();
      this.#send(linkId, { type: 'stream-close', requestId, reason: 'closed', summary });
    } catch (err) {
      this.#send(linkId, { type: 'error', requestId, error: new EparaError('INTERNAL', 'stream failed on the serving node', { cause: String(err) }) });
    } finally {
      this.#streams.delete(key);
    }
  }

  #send(linkId: string, m: OffloadMessage): void {
    try {
      this.#c.reply(linkId, m);
    } catch {
      // The client link is gone; its side settles the stream on its own.
    }
  }
}
