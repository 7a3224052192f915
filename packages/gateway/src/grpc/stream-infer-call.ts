import { constants as h2 } from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import { MAX_TIMER_MS } from '../gateway-options.js';
import { RequestSignal } from '../protocol/request-signal.js';
import { encodeGrpcMessage } from './grpc-http2-wire.js';
import { GRPC_STATUS } from './grpc-status.js';
import { answerEncodingOf, compressFrame } from './answer-compression.js';
import type { GrpcAnswerEncoding } from './answer-compression.js';
import { encodeModelInferResponse } from './infer-response-wire.js';
import type { GrpcInferResponse } from './infer-response-wire.js';
import { decodeModelInferRequest } from './infer-request-wire.js';
import { WireWriter, varintSize } from './proto-wire.js';
import { ACCEPT_ENCODING } from './unary-call.js';
import type { ReadingCall, UnaryCallContext } from './unary-call.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Runs one decoded `ModelInferRequest` as `ModelInfer` does (the request, its call context). */
export type StreamRequestHandler = (request: ReturnType<typeof decodeModelInferRequest>, call: UnaryCallContext) => Promise<GrpcInferResponse>;

/**
 * Triton's `ModelStreamInfer` (what tritonclient's `start_stream` / `async_stream_infer` and perf_analyzer's
 * `--streaming` call): a bidirectional stream of `ModelInferRequest` messages, each answered by one
 * `ModelStreamInferResponse` as soon as it completes — in completion order, as Triton answers (a client matches
 * answers to requests by `id`). A request that fails is answered in the stream with its `error_message` (and an
 * `infer_response` naming its model, version and id), and the stream goes on; the stream itself ends with a
 * status: `OK` once the client half-closed and every answer is out, or an error for what breaks the framing (a
 * message over the limit, a bad flag, a truncated message), a message that stops arriving, a client that stops
 * reading, a `grpc-timeout` that passes (it bounds the whole stream), or no request for `idleMs`.
 *
 * Requests are read ahead of their answers, so the node can batch them, within a bound: at most
 * {@link STREAM_REQUESTS_AHEAD} running on one stream, and their messages at most `maxMessageBytes` together (one
 * more always runs). Past it the stream stops reading: HTTP/2 flow control holds the client's next requests back
 * until an answer makes room (before, every request that arrived ran at once, without bound).
 */
export class StreamInferCall implements ReadingCall {
  readonly #stream: ServerHttp2Stream;
  readonly #headers: IncomingHttpHeaders;
  readonly #run: StreamRequestHandler;
  readonly #maxMessageBytes: number;
  readonly #stalledMs: number;
  readonly #deadline: number | undefined;
  /** The encoding answers are compressed with: the requests' own, when the client takes it. */
  readonly #encoding: GrpcAnswerEncoding | undefined;
  /** Signals of the requests running, aborted when the stream goes. */
  readonly #running = new Set<RequestSignal>();
  /** Bytes received and not yet taken as a message, and their total length. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The length of the message now arriving, once its prefix is in (-1 before), and its flag. */
  #declared = -1;
  #flag = 0;
  #halfClosed = false;
  /** Whether reading is paused until the answers written drain. */
  #held = false;
  /** Whether reading is paused until a running request makes room ({@link STREAM_REQUESTS_AHEAD}). */
  #ahead = false;
  /** The bytes of the request messages running. */
  #aheadBytes = 0;
  #responded = false;
  #done = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the message now arriving began (monotonic ms), for the server's read-timeout sweep; +∞ between messages. */
  startedAt = Number.POSITIVE_INFINITY;
  readonly #reading: Set<ReadingCall> | undefined;

  constructor(o: {
    stream: ServerHttp2Stream;
    headers: IncomingHttpHeaders;
    run: StreamRequestHandler;
    maxMessageBytes: number;
    stalledMs: number;
    timeoutMs: number | undefined;
    now: number;
    reading?: Set<ReadingCall>;
  }) {
    this.#stream = o.stream;
    this.#headers = o.headers;
    this.#run = o.run;
    this.#maxMessageBytes = o.maxMessageBytes;
    this.#stalledMs = o.stalledMs;
    this.#deadline = o.timeoutMs === undefined ? undefined : o.now + o.timeoutMs;
    this.#encoding = answerEncodingOf(o.headers);
    this.#reading = o.reading;
    o.reading?.add(this);
    if (o.timeoutMs !== undefined && o.timeoutMs <= MAX_TIMER_MS) this.#timer = setTimeout(() => this.#fail(GRPC_STATUS.DEADLINE_EXCEEDED, 'deadline exceeded', false, { 'epara-code': 'DEADLINE_EXCEEDED' }), o.timeoutMs);
    o.stream.on('data', (chunk: Buffer) => this.#data(chunk));
    o.stream.once('end', () => {
      this.#halfClosed = true;
      this.#settle();
    });
    o.stream.once('close', () => this.#closed());
    // No traffic for stalledMs: a message stopped arriving, or the client stopped reading its answers, or the
    // stream carries nothing (no request running): ended. Requests running without traffic are waited for.
    o.stream.setTimeout(o.stalledMs, () => this.#quiet());
  }

  #data(chunk: Buffer): void {
    if (this.#done) return;
    if (this.startedAt === Number.POSITIVE_INFINITY) this.startedAt = performance.now();
    // Chunks are kept as they come and joined once a whole message is in: a large message arrives in many DATA
    // frames, and joining at each one would copy it over and over.
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#parse();
  }

  /** Takes every whole message buffered as a request, until the read-ahead bound holds the rest. */
  #parse(): void {
    for (;;) {
      if (this.#done) return;
      if (this.#running.size >= STREAM_REQUESTS_AHEAD || this.#aheadBytes >= this.#maxMessageBytes) return this.#holdAhead(true);
      if (this.#declared < 0) {
        if (this.#buffered < 5) return;
        const head = this.#chunks[0]!.length >= 5 ? this.#chunks[0]! : Buffer.concat(this.#chunks, 5);
        const flag = head[0]!;
        const length = head.readUInt32BE(1);
        if (flag > 1) return this.#fail(GRPC_STATUS.INTERNAL, `invalid message flag ${flag} (0: uncompressed, 1: compressed)`);
        if (length > this.#maxMessageBytes) return this.#fail(GRPC_STATUS.RESOURCE_EXHAUSTED, `a request message (${length} bytes) is larger than the limit of ${this.#maxMessageBytes} bytes`);
        this.#flag = flag;
        this.#declared = length;
      }
      if (this.#buffered < 5 + this.#declared) return;
      const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      const message = all.subarray(5, 5 + this.#declared);
      const rest = all.subarray(5 + this.#declared);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#declared = -1;
      this.startedAt = rest.length > 0 ? performance.now() : Number.POSITIVE_INFINITY;
      void this.#request(message, this.#flag === 1);
    }
  }

  /**
   * Pauses reading while the read-ahead bound holds, and reads on (the messages buffered first) once a request
   * made room. A message held here is not arriving late: the read-timeout sweep does not count its wait.
   */
  #holdAhead(hold: boolean): void {
    if (hold === this.#ahead || this.#done) return;
    this.#ahead = hold;
    if (hold) {
      this.startedAt = Number.POSITIVE_INFINITY;
      this.#stream.pause();
      return;
    }
    this.startedAt = this.#buffered > 0 ? performance.now() : Number.POSITIVE_INFINITY;
    this.#parse();
    if (!this.#ahead && !this.#held) this.#stream.resume();
  }

  async #request(message: Buffer, compressed: boolean): Promise<void> {
    const signal = new RequestSignal();
    this.#running.add(signal);
    this.#aheadBytes += message.length;
    const size = message.length;
    let answer: Buffer;
    try {
      const plain = compressed ? await this.#inflate(message) : message;
      const request = decodeModelInferRequest(plain);
      const context: UnaryCallContext = { signal, deadline: this.#deadline, metadata: (key) => this.#metadata(key), responseMetadata: {} };
      try {
        const response = await this.#run(request, context);
        answer = streamResponse(encodeModelInferResponse({ ...response, parameters: { ...response.parameters, ...FINAL } }));
      } catch (err) {
        const { message: text, error } = errorStatusOf(err);
        const about = 'undecodable' in request ? { model: '', version: '', id: '' } : { model: request.model_name, version: request.model_version, id: request.id };
        answer = streamResponse(encodeModelInferResponse({ ...about, parameters: FINAL, outputs: [] }), `${text} (${error.code})`);
      }
    } catch (err) {
      // A compressed message the stream cannot read breaks the stream, as it breaks a unary call.
      this.#running.delete(signal);
      this.#aheadBytes -= size;
      return this.#fail(GRPC_STATUS.INTERNAL, (err as Error).message);
    }
    // Compressed before the request counts as done: the stream ends once every answer is written.
    if (this.#encoding !== undefined) answer = await compressFrame(answer, this.#encoding).catch(() => answer);
    this.#running.delete(signal);
    this.#aheadBytes -= size;
    this.#write(answer);
    this.#holdAhead(false);
    this.#settle();
  }

  async #inflate(message: Buffer): Promise<Buffer> {
    const encoding = this.#metadata('grpc-encoding');
    if (encoding !== 'gzip' && encoding !== 'deflate') throw new Error(`a request message is flagged compressed but the stream's grpc-encoding is ${encoding ?? 'absent'} (supported: ${ACCEPT_ENCODING})`);
    try {
      return await (encoding === 'gzip' ? gunzipAsync : inflateAsync)(message, { maxOutputLength: this.#maxMessageBytes });
    } catch (err) {
      throw new Error(`the ${encoding} request message does not decompress: ${(err as Error).message}`);
    }
  }

  #metadata(key: string): string | undefined {
    const v = this.#headers[key];
    return Array.isArray(v) ? v[0] : v;
  }

  #respond(): void {
    if (this.#responded) return;
    this.#responded = true;
    this.#stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING, ...(this.#encoding !== undefined ? { 'grpc-encoding': this.#encoding } : {}) }, { waitForTrailers: true });
  }

  /**
   * Writes an answer. Once answers wait in the stream's buffer (the client is not reading them as fast as they
   * come), no more requests are read until it drains: HTTP/2 flow control then holds the client's requests back.
   * A client that sent and never read had every request run and its answers buffered here, without bound.
   */
  #write(frame: Buffer): void {
    if (this.#done || this.#stream.destroyed) return;
    this.#respond();
    if (this.#stream.write(frame) || this.#held) return;
    this.#held = true;
    this.#stream.pause();
    this.#stream.once('drain', () => {
      this.#held = false;
      if (!this.#done && !this.#ahead) this.#stream.resume();
    });
  }

  /**
   * Ends the stream OK once the client half-closed and every request was answered (the messages held by the
   * read-ahead bound read first), or `INTERNAL` when it half-closed inside a message.
   */
  #settle(): void {
    if (!this.#halfClosed || this.#done || this.#ahead) return;
    if (this.#buffered > 0) return this.#fail(GRPC_STATUS.INTERNAL, `the stream ends inside a message (${this.#buffered} bytes of it)`);
    if (this.#running.size === 0) this.#end(GRPC_STATUS.OK, '');
  }

  #quiet(): void {
    if (this.#done) return;
    if (this.#buffered > 0 && !this.#ahead) return this.#fail(GRPC_STATUS.DEADLINE_EXCEEDED, `a request message made no progress for ${this.#stalledMs} ms`, true);
    if (this.#stream.writableLength > 0) return void this.#stream.close(h2.NGHTTP2_CANCEL); // the client stopped reading
    if (this.#running.size === 0) this.#fail(GRPC_STATUS.DEADLINE_EXCEEDED, `no request arrived on the stream for ${this.#stalledMs} ms`);
  }

  /**
   * Ends the stream with an error status, typed (`epara-code`: `INVALID_INPUT` unless `extra` says otherwise — the
   * client's framing or pace); requests still running are aborted.
   */
  #fail(status: number, message: string, reset = false, extra: Record<string, string> = {}): void {
    if (this.#done) return;
    for (const s of this.#running) s.abort();
    this.#end(status, message, { 'epara-code': 'INVALID_INPUT', ...extra });
    if (reset) this.#stream.close(h2.NGHTTP2_CANCEL);
  }

  #end(status: number, message: string, extra: Record<string, string> = {}): void {
    this.#done = true;
    this.#chunks = [];
    this.#reading?.delete(this);
    clearTimeout(this.#timer);
    const stream = this.#stream;
    if (stream.destroyed) return;
    const trailers = { ...extra, 'grpc-status': String(status), ...(message ? { 'grpc-message': encodeGrpcMessage(message) } : {}) };
    if (!this.#responded && !stream.headersSent) {
      this.#responded = true;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': ACCEPT_ENCODING, ...trailers }, { endStream: true });
    } else {
      stream.once('wantTrailers', () => stream.sendTrailers(trailers));
      stream.end();
    }
    stream.resume(); // what the client still sends is not read
  }

  /** The server's sweep: a message that did not arrive within `timeoutMs` of its first byte. */
  readTimedOut(timeoutMs: number): void {
    this.#fail(GRPC_STATUS.DEADLINE_EXCEEDED, `a request message did not arrive within ${timeoutMs} ms`, true);
  }

  /** The server is closing: the stream ends `UNAVAILABLE` (retryable) and its running requests are aborted. */
  refuseClosing(): void {
    this.#fail(GRPC_STATUS.UNAVAILABLE, 'the server is closing: open the stream on another server', false, { 'epara-code': 'CLOSED', 'retry-after': String(RETRY_AFTER_SECONDS) });
  }

  #closed(): void {
    // Closed by the client (cancelled, connection lost) or after its status: nothing left to run.
    this.#done = true;
    this.#reading?.delete(this);
    clearTimeout(this.#timer);
    for (const s of this.#running) s.abort();
  }
}

/** The most requests one `ModelStreamInfer` stream runs at once (its read-ahead; see {@link StreamInferCall}). */
export const STREAM_REQUESTS_AHEAD = 128;

/**
 * Triton marks every stream answer with whether it is its request's last (`triton_final_response`, what clients
 * that pass `enable_empty_final_response` wait for before they consider a request done): each request here is
 * answered once, so each answer is its last.
 */
const FINAL = { triton_final_response: true } as const;

/** A framed `ModelStreamInferResponse { error_message = 1; infer_response = 2 }`. */
function streamResponse(inferResponse: Buffer, error = ''): Buffer {
  const errorLen = Buffer.byteLength(error, 'utf8');
  const size = (errorLen > 0 ? 1 + varintSize(errorLen) + errorLen : 0) + 1 + varintSize(inferResponse.length) + inferResponse.length;
  const w = new WireWriter(size, 5);
  if (errorLen > 0) w.string(1, error, errorLen);
  w.bytes(2, inferResponse);
  w.buf[0] = 0;
  w.buf.writeUInt32BE(size, 1);
  return w.buf;
}
