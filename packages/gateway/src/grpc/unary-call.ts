import { constants as h2 } from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { gunzip, inflate } from 'node:zlib';
import { EparaError } from '@epara/core';
import { RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import { MAX_TIMER_MS } from '../gateway-options.js';
import { RequestSignal } from '../protocol/request-signal.js';
import { encodeGrpcMessage, readUnaryMessage } from './grpc-http2-wire.js';
import { GRPC_STATUS } from './grpc-status.js';
import { answerEncodingOf, compressFrame } from './answer-compression.js';
import type { GrpcAnswerEncoding } from './answer-compression.js';

/**
 * Request encodings the server accepts (`grpc-accept-encoding`). Answers are compressed with the request's encoding
 * when the client takes it ({@link answerEncodingOf}).
 */
export const ACCEPT_ENCODING = 'identity,deflate,gzip';
const OK_TRAILERS = { 'grpc-status': '0' } as const;
/** The call a stream carries, so that its listeners are shared functions rather than closures made per call. */
const CALL = Symbol('epara.grpc.call');
type CallStream = ServerHttp2Stream & { [CALL]?: UnaryCall };

/** What a method handler sees of its call. */
export interface UnaryCallContext {
  /** Aborted when the client cancels (RST_STREAM, connection lost) or the call's deadline passes. */
  readonly signal: RequestSignal;
  /** The call's deadline (`grpc-timeout`) on the node's clock, ms; undefined without one. */
  readonly deadline: number | undefined;
  /** One request metadata value by lowercase key (text keys; `-bin` keys stay base64). */
  metadata(key: string): string | undefined;
  /** Response metadata sent with the answer, or with the status when the call fails. */
  responseMetadata: Readonly<Record<string, string>>;
}

/**
 * What a server-streaming method's handler sees of its call (one request message, a stream of answers: gRPC's
 * health `Watch`): it sends each answer with `send`, and the value its handler settles with ends the stream (a
 * value: `OK`; a throw or rejection: that error's status in the trailers).
 */
export interface ServerCallContext extends UnaryCallContext {
  /**
   * Sends one length-prefixed message (the first also sends the response headers); false once the call has
   * ended or its stream is gone (nothing is sent then).
   */
  send(frame: Buffer): boolean;
}

/** A call whose request message may still be arriving: the server's read-timeout sweep and its close refuse it. */
export interface ReadingCall {
  /** When its message began to arrive, on the monotonic clock (ms). */
  readonly startedAt: number;
  /** The message did not arrive within `timeoutMs`: answers `DEADLINE_EXCEEDED` and resets the stream. */
  readTimedOut(timeoutMs: number): void;
  /** The server is closing: answers `UNAVAILABLE` (retryable). */
  refuseClosing(): void;
}

/** One method: its codec and its handler (a value or a promise of one; a throw or rejection becomes a status). */
export interface UnaryMethod {
  readonly decode: (message: Buffer) => unknown;
  /** The answer as one uncompressed length-prefixed gRPC message (5-byte prefix included), the response's DATA. */
  readonly encode: (value: never) => Buffer;
  readonly handle: (request: never, call: ServerCallContext) => unknown;
}

/**
 * One unary call on an HTTP/2 stream: gathers the request's DATA (refusing it past `maxMessageBytes`),
 * reads the one length-prefixed message (inflating a `gzip`/`deflate` one), runs the handler, and answers
 * HEADERS + DATA + trailers, or a trailers-only status. The deadline timer and a reset stream abort the
 * handler's signal; exactly one answer is ever written. A server-streaming handler (health `Watch`) sends its
 * messages with {@link send} instead, and its settling, a deadline or an error ends them with a status in trailers.
 */
export class UnaryCall implements ServerCallContext, ReadingCall {
  readonly signal = new RequestSignal();
  readonly deadline: number | undefined;
  responseMetadata: Readonly<Record<string, string>> = {};
  readonly #stream: ServerHttp2Stream;
  readonly #headers: IncomingHttpHeaders;
  readonly #method: UnaryMethod;
  readonly #maxMessageBytes: number;
  /** A message that stops arriving, or an answer the client stops reading, for this long (ms): the stream is reset. */
  readonly #stalledMs: number;
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #length = 0;
  /** The first message's length from its prefix, once 5 bytes arrived (-1 before). */
  #declared = -1;
  #done = false;
  /** Set once {@link send} sent the headers of a streamed answer: the call then ends with trailers, never trailers-only. */
  #streaming = false;
  /** The trailers a streamed answer ends with. */
  #trailers: OutgoingHttpHeaders = OK_TRAILERS;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * When the call started, on the monotonic clock (`performance.now()`), for the request-read timeout: a wall
   * clock stepped back would otherwise keep a call that never sends its message open for ever.
   */
  readonly startedAt = performance.now();
  /** The set of calls still reading their message (the server's read-timeout sweep); left once it is in. */
  readonly #reading: Set<ReadingCall> | undefined;

  constructor(o: { stream: ServerHttp2Stream; headers: IncomingHttpHeaders; method: UnaryMethod; maxMessageBytes: number; timeoutMs: number | undefined; now: number; reading?: Set<ReadingCall>; stalledMs?: number }) {
    this.#reading = o.reading;
    o.reading?.add(this);
    this.#stream = o.stream;
    this.#headers = o.headers;
    this.#method = o.method;
    this.#maxMessageBytes = o.maxMessageBytes;
    this.#stalledMs = o.stalledMs ?? MAX_TIMER_MS;
    this.deadline = o.timeoutMs === undefined ? undefined : o.now + o.timeoutMs;
    // A timer cannot wait longer than 2^31 - 1 ms (node fires it at once instead): a deadline past ~24 days needs none.
    if (o.timeoutMs !== undefined && o.timeoutMs <= MAX_TIMER_MS) this.#timer = setTimeout(() => this.#expire(), o.timeoutMs);
    (o.stream as CallStream)[CALL] = this;
    o.stream.on('data', UnaryCall.#onData);
    o.stream.once('end', UnaryCall.#onEnd);
    o.stream.once('close', UnaryCall.#onClose);
    // A message that stops arriving (no DATA frame for stalledMs) is refused then, not at requestTimeoutMs: a
    // client that keeps sending, however slowly, re-arms the timer with each frame.
    if (o.stalledMs !== undefined) o.stream.setTimeout(o.stalledMs, UnaryCall.#onReadStalled);
  }

  static #onReadStalled(this: CallStream): void {
    const call = this[CALL];
    if (call) call.#readStalled();
  }

  #readStalled(): void {
    this.#reading?.delete(this);
    if (this.#done) return;
    this.fail(GRPC_STATUS.DEADLINE_EXCEEDED, `the request message made no progress for ${this.#stalledMs} ms`);
    this.signal.abort();
    this.#stream.close(h2.NGHTTP2_CANCEL);
  }

  static #onData(this: CallStream, chunk: Buffer): void {
    const call = this[CALL];
    if (call) call.#data(chunk);
  }

  static #onEnd(this: CallStream): void {
    const call = this[CALL];
    if (call) call.#end();
  }

  static #onClose(this: CallStream): void {
    const call = this[CALL];
    this[CALL] = undefined;
    if (call) call.#closed();
  }

  static #onWantTrailers(this: ServerHttp2Stream): void {
    this.sendTrailers(OK_TRAILERS);
  }

  static #onStreamTrailers(this: CallStream): void {
    const call = this[CALL];
    this.sendTrailers(call ? call.#trailers : OK_TRAILERS);
  }

  send(frame: Buffer): boolean {
    const stream = this.#stream;
    if (this.#done || stream.destroyed) return false;
    if (!this.#streaming) {
      if (stream.headersSent) return false;
      this.#streaming = true;
      stream.respond({ ...this.responseMetadata, ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING }, { waitForTrailers: true });
      stream.once('wantTrailers', UnaryCall.#onStreamTrailers);
    }
    stream.write(frame);
    return true;
  }

  /** Ends a streamed answer with `trailers` (its status), once. */
  #endStream(trailers: OutgoingHttpHeaders): void {
    if (this.#done) return;
    this.#finish();
    if (this.#stream.destroyed) return;
    this.#trailers = trailers;
    this.#stream.end();
  }

  metadata(key: string): string | undefined {
    const v = this.#headers[key];
    return Array.isArray(v) ? v[0] : v;
  }

  #data(chunk: Buffer): void {
    if (this.#done) return;
    this.#length += chunk.length;
    if (this.#first === undefined) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
    if (this.#declared < 0 && this.#length >= 5) this.#declared = (this.#chunks ? Buffer.concat(this.#chunks, 5) : this.#first).readUInt32BE(1);
    if (this.#declared > this.#maxMessageBytes || this.#length > this.#maxMessageBytes + 5) {
      this.fail(GRPC_STATUS.RESOURCE_EXHAUSTED, `the request message (${Math.max(this.#declared, this.#length - 5)} bytes) is larger than the limit of ${this.#maxMessageBytes} bytes`);
      // Nothing more of this request is wanted: reset the stream (after the status) so the client stops sending.
      this.#stream.close(h2.NGHTTP2_NO_ERROR);
    }
  }

  #end(): void {
    this.#reading?.delete(this);
    // The message is in: the call may now run as long as it needs without traffic.
    this.#stream.setTimeout(0);
    if (this.#done) return;
    const body = this.#chunks ? Buffer.concat(this.#chunks, this.#length) : (this.#first ?? Buffer.alloc(0));
    this.#first = this.#chunks = undefined;
    const m = readUnaryMessage(body);
    if (!m.ok) return this.fail(m.status, m.message);
    if (!m.compressed) return this.#run(m.message);
    const encoding = this.metadata('grpc-encoding');
    if (encoding !== 'gzip' && encoding !== 'deflate') {
      return encoding === undefined || encoding === 'identity'
        ? this.fail(GRPC_STATUS.INTERNAL, 'the request message is flagged compressed but the call has no grpc-encoding')
        : this.fail(GRPC_STATUS.UNIMPLEMENTED, `grpc-encoding ${encoding} is not supported (supported: ${ACCEPT_ENCODING})`);
    }
    (encoding === 'gzip' ? gunzip : inflate)(m.message, { maxOutputLength: this.#maxMessageBytes }, (err, plain) => {
      if (!err) return this.#run(plain);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') this.fail(GRPC_STATUS.RESOURCE_EXHAUSTED, `the decompressed request message is larger than the limit of ${this.#maxMessageBytes} bytes`);
      else this.fail(GRPC_STATUS.INTERNAL, `the ${encoding} request message does not decompress: ${err.message}`);
    });
  }

  #run(message: Buffer): void {
    let value: unknown;
    try {
      value = this.#method.handle(this.#method.decode(message) as never, this);
    } catch (err) {
      return this.#error(err);
    }
    if (value instanceof Promise) value.then((v: unknown) => this.#answer(v), (err: unknown) => this.#error(err));
    else this.#answer(value);
  }

  #answer(value: unknown): void {
    if (this.#done) return;
    if (this.#streaming) return this.#endStream(OK_TRAILERS);
    let frame: Buffer;
    try {
      frame = this.#method.encode(value as never);
    } catch (err) {
      return this.#error(err);
    }
    const encoding = answerEncodingOf(this.#headers);
    if (encoding === undefined) return this.#respondWith(frame, undefined);
    compressFrame(frame, encoding).then(
      (packed) => this.#respondWith(packed, encoding),
      (err: unknown) => this.#error(err),
    );
  }

  /** Sends the answer's one message (compressed with `encoding`, named in the headers, or not), then OK. */
  #respondWith(frame: Buffer, encoding: GrpcAnswerEncoding | undefined): void {
    if (!this.#finish()) return;
    const stream = this.#stream;
    const headers: OutgoingHttpHeaders = { ...this.responseMetadata, ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING };
    if (encoding !== undefined) headers['grpc-encoding'] = encoding;
    stream.respond(headers, { waitForTrailers: true });
    stream.once('wantTrailers', UnaryCall.#onWantTrailers);
    stream.end(frame);
    // What flow control holds back waits for the client to read: one that stops would keep the answer and the
    // stream (and so its connection, which is not idle while a stream is open) for ever.
    if (stream.writableLength > 0) {
      stream.removeListener('timeout', UnaryCall.#onReadStalled);
      stream.setTimeout(this.#stalledMs, UnaryCall.#onStalled);
    }
  }

  static #onStalled(this: ServerHttp2Stream): void {
    this.close(h2.NGHTTP2_CANCEL);
  }

  #error(err: unknown): void {
    const { error, status, message } = errorStatusOf(err);
    const extra: OutgoingHttpHeaders = { 'epara-code': error.code };
    if (status.retryable) extra['retry-after'] = String(RETRY_AFTER_SECONDS);
    this.fail(status.grpc, message, extra);
  }

  /**
   * Answers a status without a message (trailers-only), unless the call was already answered or is gone; a
   * streamed answer ends with it in its trailers.
   */
  fail(status: number, message: string, extra: OutgoingHttpHeaders = {}): void {
    // A status without a code is the client's framing or pace (a message over the limit, one that does not
    // decompress or stops arriving): typed INVALID_INPUT like every other refusal, as HTTP answers them.
    if (extra['epara-code'] === undefined) extra = { ...extra, 'epara-code': 'INVALID_INPUT' };
    if (this.#streaming) return this.#endStream({ ...extra, 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) });
    if (!this.#finish()) return;
    this.#stream.respond({ ...this.responseMetadata, ...extra, ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING, 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) }, { endStream: true });
  }

  /** Marks the call answered; false when it already was or the stream cannot take an answer any more. */
  #finish(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#reading?.delete(this);
    this.#first = this.#chunks = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    return !this.#stream.destroyed && !this.#stream.headersSent;
  }

  /** The request message did not arrive in time: answers `DEADLINE_EXCEEDED` and resets the stream. */
  readTimedOut(timeoutMs: number): void {
    this.#reading?.delete(this);
    if (this.#done) return;
    this.fail(GRPC_STATUS.DEADLINE_EXCEEDED, `the request message did not arrive within ${timeoutMs} ms`);
    this.signal.abort();
    this.#stream.close(h2.NGHTTP2_CANCEL);
  }

  /** The server is closing before the message arrived: answers `UNAVAILABLE` (retryable) and resets the stream. */
  refuseClosing(): void {
    this.#reading?.delete(this);
    if (this.#done) return;
    this.fail(GRPC_STATUS.UNAVAILABLE, 'the server is closing: send the request again', { 'epara-code': 'CLOSED', 'retry-after': String(RETRY_AFTER_SECONDS) });
    this.signal.abort();
    this.#stream.close(h2.NGHTTP2_NO_ERROR);
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#done) return;
    this.fail(GRPC_STATUS.DEADLINE_EXCEEDED, 'deadline exceeded', { 'epara-code': 'DEADLINE_EXCEEDED' });
    this.signal.abort(new EparaError('DEADLINE_EXCEEDED', 'the gRPC deadline passed before the answer'));
  }

  #closed(): void {
    // Closed before an answer: the client reset the stream or the connection went away.
    if (this.#done) return;
    this.#finish();
    this.signal.abort();
  }
}
