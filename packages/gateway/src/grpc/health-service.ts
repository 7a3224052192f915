import { EparaError } from '@epara/core';
import type { InferCore } from '../inference/infer-core.js';
import { frameMessage } from './grpc-http2-wire.js';
import { WireError, WireReader, WireWriter } from './proto-wire.js';
import type { ServerCallContext, UnaryMethod } from './unary-call.js';

/** gRPC's health-checking service (`grpc/health/v1/health.proto`). */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** `HealthCheckResponse.ServingStatus`. */
const SERVING = 1;
const NOT_SERVING = 2;
const SERVICE_UNKNOWN = 3;

/**
 * How often a watch reads readiness again, ms: the host's readiness (`isReady`: models loaded, mesh joined) is a
 * condition, not an event. A drain and a close are pushed to watchers at once.
 */
export const HEALTH_POLL_MS = 1000;

/**
 * The names the service reports on: the server as a whole (`""`, what a Kubernetes gRPC probe and
 * grpc-health-probe ask by default), the inference service and `ready` follow readiness (not while loading, nor
 * once draining: the HTTP `/v2/health/ready`); `live` is serving while the process answers (`/v2/health/live`),
 * for a liveness probe that must not restart a server still loading its models.
 */
const READINESS = ['', 'inference.GRPCInferenceService', 'ready'] as const;
const LIVENESS = 'live';

interface Watch {
  readonly service: string;
  readonly call: ServerCallContext;
  /** The status last sent (0: none yet). */
  last: number;
  readonly end: (err: unknown) => void;
}

/**
 * `grpc.health.v1.Health` on the gateway's gRPC port: `Check` (`NOT_FOUND` for a name it does not report on, as
 * the protocol asks), `List`, and `Watch`, which sends the status at once and again on each change
 * (`SERVICE_UNKNOWN` for an unknown name, and stays open), until the client cancels, its deadline passes, or the
 * server closes (`NOT_SERVING`, then `UNAVAILABLE`).
 */
export class HealthService {
  readonly #core: InferCore;
  readonly #watches = new Set<Watch>();
  #poll: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(core: InferCore) {
    this.#core = core;
    core.onDrain(() => this.#push());
  }

  /** The service's methods by path. */
  methods(): [string, UnaryMethod][] {
    return [
      [`/${HEALTH_SERVICE}/Check`, { decode: decodeCheckRequest, encode: encodeStatus, handle: (service: string) => this.#check(service) }],
      [`/${HEALTH_SERVICE}/List`, { decode: decodeListRequest, encode: encodeList, handle: () => this.#list() }],
      // Watch sends its messages itself (call.send); the value its handler settles with only ends the stream.
      [`/${HEALTH_SERVICE}/Watch`, { decode: decodeCheckRequest, encode: () => Buffer.alloc(0), handle: (service: string, call: ServerCallContext) => this.#watch(service, call) }],
    ];
  }

  /** The server is closing: every watcher hears `NOT_SERVING`, then its stream ends `UNAVAILABLE`. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    for (const w of [...this.#watches]) {
      this.#send(w);
      this.#watches.delete(w);
      w.end(new EparaError('CLOSED', 'the server is closing', { retryable: true }));
    }
  }

  /** A name's status, or undefined for a name the service does not report on. */
  #status(service: string): number | undefined {
    if (service === LIVENESS) return this.#closed ? NOT_SERVING : SERVING;
    if (!(READINESS as readonly string[]).includes(service)) return undefined;
    return !this.#closed && this.#core.ready() ? SERVING : NOT_SERVING;
  }

  #check(service: string): number {
    const status = this.#status(service);
    if (status === undefined) throw new EparaError('UNKNOWN_SERVICE', `the health service reports on no service ${JSON.stringify(service)} (it does on "", ${READINESS.slice(1).map((s) => JSON.stringify(s)).join(', ')} and ${JSON.stringify(LIVENESS)})`);
    return status;
  }

  #list(): [string, number][] {
    return [...READINESS, LIVENESS].map((s) => [s, this.#status(s)!]);
  }

  #watch(service: string, call: ServerCallContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (call.signal.aborted) return resolve();
      const w: Watch = { service, call, last: 0, end: reject };
      this.#send(w);
      if (this.#closed) return reject(new EparaError('CLOSED', 'the server is closing', { retryable: true }));
      this.#watches.add(w);
      call.signal.addEventListener('abort', () => {
        this.#watches.delete(w);
        if (this.#watches.size === 0) this.#stopPolling();
        resolve();
      });
      if (!this.#poll) {
        this.#poll = setInterval(() => this.#push(), HEALTH_POLL_MS);
        this.#poll.unref();
      }
    });
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }

  /** Sends each watcher its status where it changed. */
  #push(): void {
    for (const w of this.#watches) this.#send(w);
  }

  #send(w: Watch): void {
    const status = this.#status(w.service) ?? SERVICE_UNKNOWN;
    if (status === w.last) return;
    w.last = status;
    w.call.send(encodeStatus(status));
  }
}

/** `HealthCheckRequest`: its `service` (1). @throws EparaError `INVALID_INPUT` for a malformed message. */
function decodeCheckRequest(message: Buffer): string {
  return read('HealthCheckRequest', message, (r, tag) => (tag === ((1 << 3) | 2) ? r.string() : undefined)) ?? '';
}

/** `HealthListRequest` (no fields; unknown ones are skipped). @throws EparaError `INVALID_INPUT` */
function decodeListRequest(message: Buffer): undefined {
  return read('HealthListRequest', message, () => undefined);
}

/** Reads a message's fields; `field` reads one it knows (the last value wins) or returns undefined to skip it. */
function read<T>(name: string, message: Buffer, field: (r: WireReader, tag: number) => T | undefined): T | undefined {
  const r = new WireReader(message);
  let value: T | undefined;
  try {
    while (!r.done) {
      const tag = r.uint32();
      if (tag >>> 3 === 0) throw new WireError('field number 0');
      const v = field(r, tag);
      if (v !== undefined) value = v;
      else r.skip(tag & 7, tag >>> 3);
    }
  } catch (err) {
    if (err instanceof WireError) throw new EparaError('INVALID_INPUT', `the ${name} message is malformed: ${err.message}`, { field: 'request' });
    throw err;
  }
  return value;
}

/** A framed `HealthCheckResponse` with `status` (1). */
function encodeStatus(status: number): Buffer {
  return frameMessage(Buffer.from([0x08, status]));
}

/** A framed `HealthListResponse`: `statuses` (1), a map entry (key 1, value 2) per name. */
function encodeList(entries: [string, number][]): Buffer {
  const parts = entries.map(([name, status]) => {
    const key = Buffer.from(name);
    const w = new WireWriter(16 + key.length);
    w.bytes(1, key);
    w.bytes(2, Buffer.from([0x08, status]));
    const entry = w.buf.subarray(0, w.pos);
    const out = new WireWriter(16 + entry.length);
    out.bytes(1, entry);
    return out.buf.subarray(0, out.pos);
  });
  return frameMessage(Buffer.concat(parts));
}
