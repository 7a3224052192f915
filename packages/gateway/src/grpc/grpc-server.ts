import { Metadata, Server, ServerCredentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ServiceDefinition, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { RETRY_AFTER_SECONDS, errorStatusOf } from '../errors/error-status.js';
import type { ResolvedGatewayOptions } from '../gateway-options.js';
import type { InferCore } from '../inference/infer-core.js';
import { EXTENSIONS, metadataJson } from '../http/metadata-json.js';
import { EparaError, isEparaError } from '@epara/core';
import { fromGrpcRequest } from './grpc-codec.js';
import type { GrpcInferRequest } from './grpc-codec.js';
import { decodeModelInferRequest } from './infer-request-wire.js';
import type { UndecodableRequest } from './infer-request-wire.js';
import { encodeModelInferResponse } from './infer-response-wire.js';
import { oipProtoPath } from './proto-path.js';
import { RequestSignal } from '../protocol/request-signal.js';
import { beginRequestTrace } from '../protocol/request-trace.js';

/** proto-loader options: the protocol's snake_case names, int64 as numbers, oneofs named. */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

type Unary = (call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) => void;

/** The protocol's `GRPCInferenceService` on `@grpc/grpc-js`. */
export class GrpcFront {
  readonly #o: ResolvedGatewayOptions;
  readonly #core: InferCore;
  readonly #server: Server;

  constructor(o: ResolvedGatewayOptions, core: InferCore) {
    this.#o = o;
    this.#core = core;
    this.#server = new Server({ 'grpc.max_receive_message_length': o.maxBodyBytes, 'grpc.max_send_message_length': -1 });
    const pkg = loadPackageDefinition(loadSync(oipProtoPath(), PROTO_LOADER_OPTIONS)) as unknown as { inference: { GRPCInferenceService: { service: ServiceDefinition } } };
    const service = pkg.inference.GRPCInferenceService.service;
    // ModelInfer, the hot path, uses the hand-written codec; the other methods keep protobuf.js.
    const modelInfer = { ...service['ModelInfer']!, requestDeserialize: decodeModelInferRequest, responseSerialize: encodeModelInferResponse };
    this.#server.addService({ ...service, ModelInfer: modelInfer } as ServiceDefinition, this.#handlers() as UntypedServiceImplementation);
  }

  /** Listens; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  /** Stops taking calls, lets running ones finish, and force-closes after `graceMs`. */
  close(graceMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => (this.#server.forceShutdown(), resolve()), graceMs);
      this.#server.tryShutdown(() => (clearTimeout(timer), resolve()));
    });
  }

  #handlers(): Record<string, Unary> {
    const core = this.#core;
    const guard = (fn: (req: Record<string, unknown>, call: ServerUnaryCall<Record<string, unknown>, unknown>) => unknown): Unary => (call, cb) => {
      let value: unknown;
      try {
        value = fn(call.request, call);
      } catch (err) {
        return cb(grpcError(err));
      }
      if (value instanceof Promise) {
        value.then(
          (v: unknown) => cb(null, v),
          (err: unknown) => cb(grpcError(err)),
        );
      } else cb(null, value);
    };
    return {
      ServerLive: guard(() => ({ live: true })),
      ServerReady: guard(() => ({ ready: core.ready() })),
      ServerMetadata: guard(() => ({ name: this.#o.server.name, version: this.#o.server.version, extensions: EXTENSIONS })),
      ModelReady: guard((r) => ({ ready: core.modelReady(core.model(String(r['name']), String(r['version'] ?? ''))) })),
      ModelMetadata: guard((r) => metadataJson(core.model(String(r['name']), String(r['version'] ?? '')))),
      ModelInfer: guard(async (r, call) => {
        const undecodable = (r as unknown as Partial<UndecodableRequest>).undecodable;
        if (undecodable !== undefined) throw new EparaError('INVALID_INPUT', undecodable, { field: 'request' });
        const abort = new RequestSignal();
        const onCancel = (): void => abort.abort();
        call.once('cancelled', onCancel);
        try {
          const deadline = call.getDeadline();
          const at = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
          const transportDeadline = at === undefined ? undefined : this.#o.clock.now() + (at - Date.now());
          const request = fromGrpcRequest(r as unknown as GrpcInferRequest);
          const trace = beginRequestTrace((name) => metadataValue(call.metadata, name), request.model);
          call.sendMetadata(responseMetadata(trace.responseHeaders));
          const response = await core.infer(request, { signal: abort, trace: trace.context, ...(transportDeadline !== undefined ? { transportDeadline } : {}) }).catch((err: unknown) => {
            trace.end(isEparaError(err) ? err.code : 'INTERNAL');
            throw err;
          });
          trace.end();
          return response;
        } finally {
          call.off('cancelled', onCancel);
        }
      }),
    };
  }
}

/** One string value of a request metadata key, as the trace headers are read. */
function metadataValue(metadata: Metadata, name: string): string | undefined {
  const v = metadata.get(name)[0];
  return typeof v === 'string' ? v : undefined;
}

/** The response's initial metadata: the request id and trace context, sent before the answer or the error. */
function responseMetadata(headers: Readonly<Record<string, string>>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(headers)) m.set(k, v);
  return m;
}

/** A gRPC status from any error, by the gateway's one error table; EPARA's code travels as `epara-code` metadata. */
function grpcError(err: unknown): { code: number; details: string; metadata: Metadata } {
  const { error, status, message } = errorStatusOf(err);
  const metadata = new Metadata();
  metadata.set('epara-code', error.code);
  if (status.retryable) metadata.set('retry-after', String(RETRY_AFTER_SECONDS));
  return { code: status.grpc, details: message, metadata };
}
