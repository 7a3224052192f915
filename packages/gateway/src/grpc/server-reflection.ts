import { constants as h2 } from 'node:http2';
import type { ServerHttp2Stream } from 'node:http2';
import { basename } from 'node:path';
import { encodeGrpcMessage, frameMessage } from './grpc-http2-wire.js';
import { GRPC_STATUS } from './grpc-status.js';
import { withProtocMapEntries } from './descriptor-map-entries.js';
import { WireError, WireReader, WireWriter, varintSize } from './proto-wire.js';
import { healthProto, oipProtoPath } from './proto-path.js';
import { protoLoader } from './proto-loader.js';

/** The reflection service's one method, in its two published versions (grpcurl tries v1, then v1alpha). */
export const REFLECTION_PATHS: ReadonlySet<string> = new Set(['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo']);

/** One file reflection describes, from a shipped `.proto`. */
interface DescribedFile {
  /** The serialized `FileDescriptorProto` (the shipped files import nothing). */
  readonly file: Buffer;
  /** Names a client may ask for the file by. */
  readonly fileNames: ReadonlySet<string>;
  /** Fully qualified names of the services, messages and enums the file declares (nested ones reached by prefix). */
  readonly symbols: ReadonlySet<string>;
  readonly services: readonly string[];
}

/** What reflection describes: the protocol's service, and gRPC's health service. */
interface Described {
  readonly files: readonly DescribedFile[];
  readonly services: readonly string[];
}

let described: Described | undefined;

function describe(): Described {
  if (described) return described;
  const health = healthProto();
  const files = [describeFile(oipProtoPath(), {}, [basename(oipProtoPath())]), describeFile(health.file, { includeDirs: [health.root] }, [health.file, basename(health.file)])];
  described = { files, services: files.flatMap((f) => f.services) };
  return described;
}

function describeFile(path: string, options: { includeDirs?: string[] }, names: string[]): DescribedFile {
  const def = protoLoader().loadSync(path, { keepCase: true, ...options }) as unknown as Record<string, { fileDescriptorProtos?: Buffer[] } & Record<string, unknown>>;
  const services = Object.keys(def).filter((k) => def[k]!['fileDescriptorProtos'] === undefined);
  const anyType = Object.values(def).find((v) => v.fileDescriptorProtos !== undefined)!;
  const file = withProtocMapEntries(anyType.fileDescriptorProtos![0]!);
  const name = new WireReader(file);
  let fileName = '';
  while (!name.done) {
    const tag = name.uint32();
    if (tag === ((1 << 3) | 2)) fileName = name.string();
    else name.skip(tag & 7, tag >>> 3);
  }
  return { file, fileNames: new Set([fileName, ...names]), symbols: new Set(Object.keys(def)), services };
}

/** The file that declares a symbol: a service, message or enum, or something nested in one (a method, a nested message, a field). */
function declaring(d: Described, symbol: string): DescribedFile | undefined {
  for (let s = symbol; s.includes('.'); s = s.slice(0, s.lastIndexOf('.'))) {
    const f = d.files.find((x) => x.symbols.has(s));
    if (f) return f;
  }
  return undefined;
}

/**
 * One `ServerReflectionInfo` stream (gRPC server reflection, what `grpcurl` without `-proto` and tools such as
 * Postman use to learn the service): each request message is answered with one response message, in order,
 * until the client ends its side. It describes the protocol's `GRPCInferenceService` and gRPC's `grpc.health.v1.Health`
 * from the shipped `.proto` files.
 */
export class ReflectionStream {
  readonly #stream: ServerHttp2Stream;
  readonly #maxMessageBytes: number;
  readonly #idleMs: number;
  #pending: Buffer = Buffer.alloc(0);
  #failed = false;
  #idle: ReturnType<typeof setTimeout> | undefined;

  /** `idleMs`: a stream with no complete request for this long is ended (`DEADLINE_EXCEEDED`), as a silent call is. */
  constructor(stream: ServerHttp2Stream, o: { maxMessageBytes: number; idleMs: number }) {
    this.#stream = stream;
    this.#maxMessageBytes = o.maxMessageBytes;
    this.#idleMs = o.idleMs;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity' }, { waitForTrailers: true });
    stream.on('data', (chunk: Buffer) => this.#data(chunk));
    stream.once('end', () => this.#end(GRPC_STATUS.OK, ''));
    stream.once('close', () => clearTimeout(this.#idle));
    this.#rearm();
  }

  #rearm(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.#end(GRPC_STATUS.DEADLINE_EXCEEDED, `no reflection request arrived within ${this.#idleMs} ms`), this.#idleMs);
    this.#idle.unref();
  }

  #data(chunk: Buffer): void {
    if (this.#failed) return;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 5) {
      const flag = this.#pending[0]!;
      const length = this.#pending.readUInt32BE(1);
      if (flag !== 0) return this.#end(flag === 1 ? GRPC_STATUS.UNIMPLEMENTED : GRPC_STATUS.INTERNAL, flag === 1 ? 'reflection requests are answered uncompressed only' : `invalid message flag ${flag}`);
      if (length > this.#maxMessageBytes) return this.#end(GRPC_STATUS.RESOURCE_EXHAUSTED, `the request message (${length} bytes) is larger than the limit of ${this.#maxMessageBytes} bytes`);
      if (this.#pending.length < 5 + length) return;
      const message = this.#pending.subarray(5, 5 + length);
      this.#pending = this.#pending.subarray(5 + length);
      let answer: Buffer;
      try {
        answer = reflectionResponse(describe(), message);
      } catch (err) {
        return this.#end(GRPC_STATUS.INVALID_ARGUMENT, `the ServerReflectionRequest message is malformed: ${(err as Error).message}`);
      }
      if (!this.#stream.destroyed) this.#stream.write(frameMessage(answer));
      this.#rearm();
    }
  }

  /** Ends the stream with `status` (once; after a failure the rest of the client's messages are ignored). */
  #end(status: number, message: string): void {
    if (this.#failed || this.#stream.destroyed) return;
    this.#failed = true;
    clearTimeout(this.#idle);
    const stream = this.#stream;
    stream.once('wantTrailers', () => {
      if (status === GRPC_STATUS.OK) return stream.sendTrailers({ 'grpc-status': '0' });
      stream.sendTrailers({ 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) });
      // A failed stream takes nothing more: reset it behind the status, so the client stops sending. On the next
      // turn: node:http2 writes the trailers from a setImmediate of its own, and a reset before it drops them.
      setImmediate(() => stream.close(h2.NGHTTP2_NO_ERROR));
    });
    stream.end();
  }
}

/** The `ServerReflectionRequest` fields read here. */
interface ReflectionRequest {
  host: string;
  /** Which request, by its field number (3 file_by_filename … 7 list_services), and its value. */
  kind: number;
  value: string;
}

function readRequest(message: Buffer): ReflectionRequest {
  const r = new WireReader(message);
  const out: ReflectionRequest = { host: '', kind: 0, value: '' };
  while (!r.done) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) === 2 && (field === 1 || field === 3 || field === 4 || field === 6 || field === 7)) {
      const s = r.string();
      if (field === 1) out.host = s;
      else [out.kind, out.value] = [field, s];
    } else if ((tag & 7) === 2 && field === 5) {
      r.skip(2, field); // file_containing_extension: no extensions are declared
      out.kind = 5;
    } else if (field === 0) throw new WireError('field number 0');
    else r.skip(tag & 7, field);
  }
  return out;
}

/**
 * The `ServerReflectionResponse` to one request: `valid_host` (1), `original_request` (2), and one of
 * `file_descriptor_response` (4), `all_extension_numbers_response` (5), `list_services_response` (6) or
 * `error_response` (7, `NOT_FOUND` for what the file does not declare).
 */
function reflectionResponse(d: Described, message: Buffer): Buffer {
  const req = readRequest(message);
  const parts: Buffer[] = [];
  if (req.host !== '') parts.push(stringField(1, req.host));
  parts.push(bytesField(2, message));
  switch (req.kind) {
    case 3: {
      const f = d.files.find((x) => x.fileNames.has(req.value));
      parts.push(f ? bytesField(4, bytesField(1, f.file)) : error(`file ${req.value} not found (files: ${d.files.flatMap((x) => [...x.fileNames]).join(', ')})`));
      break;
    }
    case 4: {
      const f = declaring(d, req.value);
      parts.push(f ? bytesField(4, bytesField(1, f.file)) : error(`symbol ${req.value} not found`));
      break;
    }
    case 5:
      parts.push(error('no extensions are declared'));
      break;
    case 6:
      // No message declares extension ranges: an empty list for a known type.
      parts.push(d.files.some((f) => f.symbols.has(req.value)) ? bytesField(5, stringField(1, req.value)) : error(`type ${req.value} not found`));
      break;
    case 7:
      parts.push(bytesField(6, Buffer.concat(d.services.map((s) => bytesField(1, stringField(1, s))))));
      break;
    default:
      parts.push(bytesField(7, Buffer.concat([varintField(1, GRPC_STATUS.INVALID_ARGUMENT), stringField(2, 'the request asks for nothing known (file_by_filename, file_containing_symbol, list_services…)')])));
  }
  return Buffer.concat(parts);
}

function error(message: string): Buffer {
  return bytesField(7, Buffer.concat([varintField(1, GRPC_STATUS.NOT_FOUND), stringField(2, message)]));
}

function bytesField(field: number, data: Uint8Array): Buffer {
  const w = new WireWriter(10 + 5 + data.byteLength);
  w.bytes(field, data);
  return w.buf.subarray(0, w.pos);
}

function stringField(field: number, s: string): Buffer {
  return bytesField(field, Buffer.from(s));
}

function varintField(field: number, v: number): Buffer {
  const w = new WireWriter(10 + varintSize(v));
  w.tag(field, 0);
  w.varint(v);
  return w.buf.subarray(0, w.pos);
}
