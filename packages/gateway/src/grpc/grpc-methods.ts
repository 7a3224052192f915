import { EparaError, isEparaError } from '@epara/core';
import type { ResolvedGatewayModel, ResolvedGatewayOptions } from '../gateway-options.js';
import { EXTENSIONS, metadataJson } from '../http/metadata-json.js';
import type { InferCore } from '../inference/infer-core.js';
import { beginRequestTrace } from '../protocol/request-trace.js';
import { fromGrpcRequest } from './grpc-codec.js';
import type { GrpcInferRequest } from './grpc-codec.js';
import { decodeModelInferRequest } from './infer-request-wire.js';
import type { UndecodableRequest } from './infer-request-wire.js';
import { frameModelInferResponse } from './infer-response-wire.js';
import type { GrpcInferResponse } from './infer-response-wire.js';
import { frameMessage } from './grpc-http2-wire.js';
import { encodeModelConfigResponse } from './model-config-wire.js';
import { encodeModelStatisticsResponse } from './model-statistics-wire.js';
import type { ModelStatistics } from '../inference/model-statistics.js';
import { oipProtoPath } from './proto-path.js';
import { protoLoader } from './proto-loader.js';
import { WireError } from './proto-wire.js';
import { decodeRepositoryIndexRequest, decodeRepositoryModelRequest, encodeRepositoryIndexResponse } from './repository-wire.js';
import { repositoryIndex } from '../inference/repository-index.js';
import type { RepositoryIndexEntry } from '../inference/repository-index.js';
import { checkRepository } from '../inference/repository-index.js';
import type { UnaryCallContext, UnaryMethod } from './unary-call.js';

/** proto-loader options: the protocol's snake_case names, int64 as numbers, oneofs named. */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true } as const;

/** The service's full name, the first part of every method path (`/inference.GRPCInferenceService/ModelInfer`). */
export const SERVICE_NAME = 'inference.GRPCInferenceService';

interface LoadedMethod {
  readonly requestDeserialize: (b: Buffer) => Record<string, unknown>;
  readonly responseSerialize: (v: unknown) => Buffer;
}

type Handler = (req: Record<string, unknown>, call: UnaryCallContext) => unknown;

/**
 * The protocol's `GRPCInferenceService` methods by path: `ModelInfer`, the hot path, with the hand-written
 * codec; the others with protobuf.js codecs that `@grpc/proto-loader` builds from the shipped `.proto`; and
 * Triton's `ModelConfig`, which standard Triton clients call on the same service.
 */
export function grpcMethods(o: ResolvedGatewayOptions, core: InferCore): ReadonlyMap<string, UnaryMethod> {
  const proto = oipProtoPath(); // a package without its .proto fails here, at start, not at a first call
  /** A decoder of method `name`'s request, with the deserializer of `like` (a request of the same fields). */
  const decoder =
    (name: string, like = name) =>
    (b: Buffer): Record<string, unknown> => {
      const deserialize = loadedService(proto)[like]!.requestDeserialize;
      try {
        return deserialize(b);
      } catch (err) {
        throw new EparaError('INVALID_INPUT', `the ${name} request message is malformed: ${(err as Error).message}`, { field: 'request' });
      }
    };
  const protobuf = (name: string, handle: Handler): [string, UnaryMethod] => [`/${SERVICE_NAME}/${name}`, { decode: decoder(name), encode: (v: unknown) => frameMessage(loadedService(proto)[name]!.responseSerialize(v)), handle }];
  const model = (r: Record<string, unknown>): ReturnType<InferCore['model']> => core.model(String(r['name']), String(r['version'] ?? ''));
  /** The model a request names, or undefined when this server has no such model or version. */
  const known = (r: Record<string, unknown>): ReturnType<InferCore['model']> | undefined => {
    try {
      return model(r);
    } catch (err) {
      if (err instanceof EparaError && err.code === 'UNKNOWN_SERVICE') return undefined;
      throw err;
    }
  };
  return new Map<string, UnaryMethod>([
    protobuf('ServerLive', () => ({ live: true })),
    protobuf('ServerReady', () => ({ ready: core.ready() })),
    protobuf('ServerMetadata', () => ({ name: o.server.name, version: o.server.version, extensions: EXTENSIONS })),
    // A model or version this server does not have is not ready: `ready: false`, as Triton answers (its Python and
    // C++ clients' `is_model_ready` read the flag and raise on an error status).
    protobuf('ModelReady', (r) => {
      const m = known(r);
      return { ready: m !== undefined && core.modelReady(m) };
    }),
    protobuf('ModelMetadata', (r) => metadataJson(model(r))),
    // Triton's ModelConfig (declared in the shipped .proto beside the protocol's RPCs, for reflection and generated
    // clients): its request has ModelReadyRequest's fields, and its answer is written by hand.
    [`/${SERVICE_NAME}/ModelConfig`, { decode: decoder('ModelConfig', 'ModelReady'), encode: (m: ResolvedGatewayModel) => frameMessage(encodeModelConfigResponse(m)), handle: model }],
    // Triton's ModelStatistics (its statistics extension): the request has ModelReadyRequest's fields, and an
    // empty name asks for every model.
    [`/${SERVICE_NAME}/ModelStatistics`, { decode: decoder('ModelStatistics', 'ModelReady'), encode: (s: ModelStatistics[]) => frameMessage(encodeModelStatisticsResponse(s)), handle: (r) => core.statistics(String(r['name'] ?? ''), String(r['version'] ?? '')) }],
    // Triton's repository RPCs, with hand-written codecs (a few fields each).
    [`/${SERVICE_NAME}/RepositoryIndex`, { decode: repositoryDecoder('RepositoryIndex', decodeRepositoryIndexRequest), encode: (e: RepositoryIndexEntry[]) => frameMessage(encodeRepositoryIndexResponse(e)), handle: (r: { repository: string; ready: boolean }) => (checkRepository(o.server.name, r.repository), repositoryIndex(core, o.models.values(), r.ready)) }],
    [`/${SERVICE_NAME}/RepositoryModelLoad`, { decode: repositoryDecoder('RepositoryModelLoad', decodeRepositoryModelRequest), encode: EMPTY_ANSWER, handle: (r: RepositoryModelRequest) => (checkRepository(o.server.name, r.repository), core.controlModel(r.model, 'load', r.parameters)) }],
    [`/${SERVICE_NAME}/RepositoryModelUnload`, { decode: repositoryDecoder('RepositoryModelUnload', decodeRepositoryModelRequest), encode: EMPTY_ANSWER, handle: (r: RepositoryModelRequest) => (checkRepository(o.server.name, r.repository), core.controlModel(r.model, 'unload', r.parameters)) }],
    [`/${SERVICE_NAME}/ModelInfer`, { decode: decodeModelInferRequest, encode: frameModelInferResponse, handle: (r: GrpcInferRequest | UndecodableRequest, call: UnaryCallContext) => modelInfer(core, r, call) }],
  ]);
}

const services = new Map<string, Record<string, LoadedMethod>>();

/** The protobuf.js codecs of the service's methods, built from the `.proto` at `path` at their first use. */
function loadedService(path: string): Record<string, LoadedMethod> {
  let service = services.get(path);
  if (service === undefined) {
    service = protoLoader().loadSync(path, PROTO_LOADER_OPTIONS)[SERVICE_NAME] as unknown as Record<string, LoadedMethod>;
    services.set(path, service);
  }
  return service;
}

type RepositoryModelRequest = ReturnType<typeof decodeRepositoryModelRequest>;

/** An empty response message (`RepositoryModelLoadResponse`, `RepositoryModelUnloadResponse`). */
const EMPTY_ANSWER = (): Buffer => frameMessage(new Uint8Array(0));

/** A hand-written decoder whose `WireError` becomes `INVALID_INPUT` naming the message. */
function repositoryDecoder<T>(name: string, decode: (b: Buffer) => T): (b: Buffer) => T {
  return (b) => {
    try {
      return decode(b);
    } catch (err) {
      if (err instanceof WireError) throw new EparaError('INVALID_INPUT', `the ${name} request message is malformed: ${err.message}`, { field: 'request' });
      throw err;
    }
  };
}

/** `ModelInfer`'s handler: one decoded request through the core, with the call's signal, deadline and trace. */
export async function modelInfer(core: InferCore, r: GrpcInferRequest | UndecodableRequest, call: UnaryCallContext): Promise<GrpcInferResponse> {
  if ('undecodable' in r) throw new EparaError('INVALID_INPUT', r.undecodable, { field: 'request' });
  // An unknown model or version is NOT_FOUND whatever its inputs hold, as over HTTP.
  core.model(r.model_name, r.model_version);
  const request = fromGrpcRequest(r);
  const trace = beginRequestTrace((key) => call.metadata(key), request.model);
  call.responseMetadata = trace.responseHeaders;
  try {
    const response = await core.infer(request, { signal: call.signal, trace: trace.context, ...(call.deadline !== undefined ? { transportDeadline: call.deadline } : {}) });
    trace.end();
    // The echoed parameters keep the form each was sent in.
    return { ...response, parameterWire: r.parameter_wire };
  } catch (err) {
    trace.end(isEparaError(err) ? err.code : 'INTERNAL');
    throw err;
  }
}
