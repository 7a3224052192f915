import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidOption, systemClock } from '@epara/core';
import { BATCH_DIM_NAME, mayBeBatchDim } from '@epara/core/internal';
import type { AbortSignalLike, Clock, ClusterView, NamedTensors, ServiceId } from '@epara/core';
import type { ModelMetadata, TensorMetadata } from './protocol/infer-types.js';
import type { ExecutionStatistics } from './inference/model-statistics.js';

/**
 * A node:http-style handler mounted in front of the protocol routes (e.g. a dashboard). It returns `true` when it
 * took the request (and answers it), `false` to let the gateway route it.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What the gateway needs of a mesh node (`@epara/mesh`'s `MeshNode` fits). */
export interface GatewayNode {
  readonly id: string;
  submit(serviceId: ServiceId, inputs: NamedTensors, options?: { deadline?: number; priority?: number; signal?: AbortSignalLike }): Promise<NamedTensors>;
  view(): ClusterView;
}

/**
 * A tensor of a {@link GatewayModel}: its protocol metadata, the model's names of its dimensions, and (inputs)
 * whether the model takes it at any rank.
 */
export interface GatewayTensor extends TensorMetadata {
  /**
   * The model leaves this input's rank open (an ONNX input with no shape): its metadata shows `shape` as is
   * (`[-1]` from `epara serve`), and requests of any shape pass the gateway's check. @default false
   */
  readonly anyRank?: boolean;
  /**
   * (inputs) The model gives this input a default (an ONNX initializer listed as an input): a request may leave it
   * out. Triton's model configuration marks it `optional: true`; the protocol's metadata lists it as any input.
   * @default false
   */
  readonly optional?: boolean;
  /**
   * The model's name of each dimension (ONNX `dim_param`; `undefined` for one without a name). The metadata does
   * not show them; the split of a request into items reads them as the executor does: a first dimension named as a
   * length (`seq`, `sequence_length`, `time`, `frames`, `tokens`…) is not a batch. @default none known
   */
  readonly dimNames?: readonly (string | undefined)[];
}

/** One model the gateway serves: protocol metadata plus the EPARA service that runs it. */
export interface GatewayModel extends Omit<ModelMetadata, 'versions' | 'platform' | 'inputs' | 'outputs'> {
  readonly inputs: readonly GatewayTensor[];
  readonly outputs: readonly GatewayTensor[];
  /**
   * Why this model cannot be served here (e.g. a tensor type the executor does not carry). Its metadata is
   * still answered; it is never ready, and an inference request is answered `LOAD_FAILED` with this message.
   * @default undefined (served)
   */
  readonly unavailable?: string;
  /** The EPARA service id. @default `name` */
  readonly serviceId?: string;
  /** @default ['1'] */
  readonly versions?: readonly string[];
  /** @default 'onnxruntime_onnx' */
  readonly platform?: string;
  /**
   * Whether a request whose inputs all carry N > 1 along the first dimension is submitted as N one-item
   * requests (batched and offloaded each) and the outputs stacked back. That is right only when dimension 0 of
   * every input and output is the batch: a model that reduces over it, or an output without it, must get the
   * request whole. @default true when every input's and every output's first dimension is `-1` and may be the
   * batch by its name (`defaultSplitItems`)
   */
  readonly splitItems?: boolean;
}

/** Batch axis by tensor name, for inputs and outputs (`null`: not batched, shared by every item). */
export interface ItemAxes {
  readonly inputs: Readonly<Record<string, number | null>>;
  readonly outputs: Readonly<Record<string, number | null>>;
}

/** A listener of one protocol. */
export interface ListenOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** `0` picks a free port. @default 8000 (HTTP), 8001 (gRPC) */
  readonly port?: number;
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Every request is submitted through this node, so it can be offloaded like any other. */
  readonly node: GatewayNode;
  /** The models served, each once. */
  readonly models: readonly GatewayModel[];
  /** HTTP/REST listener; `false` turns it off. @default { host: '127.0.0.1', port: 8000 } */
  readonly http?: ListenOptions | false;
  /** gRPC listener; `false` turns it off. @default { host: '127.0.0.1', port: 8001 } */
  readonly grpc?: ListenOptions | false;
  /** Largest request body (HTTP) or message (gRPC), bytes; larger ones get 413 / RESOURCE_EXHAUSTED. @default 67108864 */
  readonly maxBodyBytes?: number;
  /**
   * Largest batch one inference request may carry (its size along the batch axis, for a model with
   * `splitItems`, whether the request is then split or sent whole); a larger one is refused `INVALID_INPUT`
   * before anything runs, as Triton refuses a batch over `max_batch_size`. @default 1024
   */
  readonly maxBatchItems?: number;
  /**
   * Most connections open at once on each listener (HTTP, gRPC). A connection past it is refused, typed: an HTTP
   * request on it is answered 503 `OVERLOADED` (`Retry-After`, `Connection: close`), a gRPC call `UNAVAILABLE`
   * (`epara-code: OVERLOADED`, `retry-after`) and the connection closed (GOAWAY); one that sends nothing is closed
   * after a second. Keep the process's open-file limit above twice this (beyond it, the system closes new
   * connections unanswered). @default 10000
   */
  readonly maxConnections?: number;
  /** Handlers tried, in order, before the protocol routes (HTTP only). @default [] */
  readonly handlers?: readonly HttpHandler[];
  /** Extra readiness condition (joined the mesh, services loaded); the gateway is also not ready while draining. @default () => true */
  readonly isReady?: () => boolean;
  /** Whether one model can serve now. @default a ready instance of its service in the node's view */
  readonly isModelReady?: (model: ResolvedGatewayModel) => boolean;
  /**
   * Asked before a request of several items for a model with `splitItems` is split into one request per item:
   * `false` sends it whole. A host that knows more than the metadata (the executor's numeric batch check, dim
   * names) answers here. `'if-refused-whole'` (a host that does not know, whose peers run the model) sends it whole,
   * and splits it only when the server that runs it refuses it whole with `INVALID_INPUT` (an instance that stacks
   * requests takes one item each: its batch check found the rows separate); a model refused so is split at once
   * from then on. @default () => true
   */
  readonly canSplitItems?: (model: ResolvedGatewayModel) => boolean | 'if-refused-whole';
  /**
   * The batch axis of each input and output of a model, where a request of several items is split and its
   * outputs stacked back (`null`: an input every item shares, like a scalar sample rate). A host that knows
   * them (the executor's reading of the model: a state `[2, batch, 128]` is batched on axis 1) answers here;
   * `undefined` splits every input and output on dimension 0. @default () => undefined
   */
  readonly batchAxes?: (model: ResolvedGatewayModel) => ItemAxes | undefined;
  /**
   * Where `canSplitItems` said `'if-refused-whole'` and the server that runs the model refused a request of several
   * items whole: the axes to split it along, `undefined` to let the refusal stand. A host whose peers publish their
   * axes in the view (`epara serve`) waits here for the refusing peer's entry, bounded by `deadline` (node clock
   * ms, when the request has one) and `signal`. @default the model's `batchAxes`, or dimension 0 everywhere
   */
  readonly axesWhenRefusedWhole?: (model: ResolvedGatewayModel, request: { readonly deadline?: number; readonly signal?: AbortSignalLike }) => Promise<ItemAxes | undefined>;
  /**
   * What the executor measured for a model's service (runs, queue and compute time, per batch size), for
   * Triton's statistics (`GET /v2/models/stats`, the `ModelStatistics` RPC); the gateway adds the requests it
   * answered. `epara serve` passes the local executor's ({@link collectExecutionStatistics}). @default () => undefined
   */
  readonly executionStatistics?: (model: ResolvedGatewayModel) => ExecutionStatistics | undefined;
  /** `drain()` waits at most this for requests in flight, ms (at most 2^31 - 1, the longest a timer waits). @default 10000 */
  readonly drainTimeoutMs?: number;
  /**
   * A request whose headers and body (HTTP) or message (gRPC) have not all arrived this long after it started
   * is refused (HTTP 408 and the connection closed; gRPC `DEADLINE_EXCEEDED` and the stream reset), so a client
   * that trickles its request cannot hold a buffer forever. HTTP headers get at most 60 s of it. @default 300000
   */
  readonly requestTimeoutMs?: number;
  /**
   * The longest a request or its answer may make no progress, ms: a body (HTTP) that brings no byte this long is
   * answered 408 and its connection closed, a gRPC message that brings no frame this long ends
   * `DEADLINE_EXCEEDED`; an answer the client stops reading this long has its HTTP connection destroyed, its gRPC
   * stream reset; a gRPC connection with no call open and no traffic this long is closed (GOAWAY). A client that
   * keeps sending or reading, however slowly, is not cut, nor is a request while the model runs. @default 300000
   */
  readonly idleTimeoutMs?: number;
  /**
   * Triton's model control (`POST /v2/repository/models/{name}/load` and `/unload`, the `RepositoryModelLoad`
   * and `RepositoryModelUnload` RPCs): what loading and unloading a model means on this server. `epara serve`
   * loads and unloads the model's instances on its own devices. @default none: load and unload are refused (400)
   */
  readonly modelControl?: ModelControl;
  /** Server name and version of `GET /v2`. @default { name: 'epara', version: '0.1.0' } */
  readonly server?: { readonly name: string; readonly version: string };
  /** The node's clock (relative deadlines become absolute on it). @default systemClock */
  readonly clock?: Clock;
}

/** What Triton's repository load and unload do on this server (see {@link GatewayOptions.modelControl}). */
export interface ModelControl {
  /** Brings up the model here; a model already loaded stays as it is. Rejects with an `EparaError` to refuse. */
  load(model: ResolvedGatewayModel): Promise<void>;
  /** Unloads the model's instances here (requests then go to a peer that serves it, or are answered `NO_INSTANCE`). */
  unload(model: ResolvedGatewayModel): Promise<void>;
}

/** A {@link GatewayModel} with its defaults filled. */
export interface ResolvedGatewayModel extends Omit<ModelMetadata, 'inputs' | 'outputs'> {
  readonly inputs: readonly GatewayTensor[];
  readonly outputs: readonly GatewayTensor[];
  readonly serviceId: string;
  /** See {@link GatewayModel.unavailable}. */
  readonly unavailable: string | undefined;
  /** See {@link GatewayModel.splitItems}. */
  readonly splitItems: boolean;
}

/** How long a connection past `maxConnections` may take to send the request its refusal answers, ms. */
export const OVER_GRACE_MS = 1000;

/** The longest timer node runs as asked (2^31 - 1 ms): `setTimeout` fires a longer delay after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Defaults of {@link GatewayOptions}. */
export const GATEWAY_DEFAULTS = {
  http: { host: '127.0.0.1', port: 8000 },
  grpc: { host: '127.0.0.1', port: 8001 },
  maxBodyBytes: 64 * 1024 * 1024,
  maxBatchItems: 1024,
  maxConnections: 10_000,
  drainTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 300_000,
  server: { name: 'epara', version: '0.1.0' },
} as const;

/** {@link GatewayOptions} after defaults and validation. */
export interface ResolvedGatewayOptions {
  readonly node: GatewayNode;
  readonly models: ReadonlyMap<string, ResolvedGatewayModel>;
  readonly http: Required<ListenOptions> | false;
  readonly grpc: Required<ListenOptions> | false;
  readonly maxBodyBytes: number;
  readonly maxBatchItems: number;
  readonly maxConnections: number;
  readonly handlers: readonly HttpHandler[];
  readonly isReady: () => boolean;
  readonly isModelReady: ((model: ResolvedGatewayModel) => boolean) | undefined;
  readonly canSplitItems: (model: ResolvedGatewayModel) => boolean | 'if-refused-whole';
  readonly batchAxes: (model: ResolvedGatewayModel) => ItemAxes | undefined;
  readonly axesWhenRefusedWhole: ((model: ResolvedGatewayModel, request: { readonly deadline?: number; readonly signal?: AbortSignalLike }) => Promise<ItemAxes | undefined>) | undefined;
  readonly executionStatistics: (model: ResolvedGatewayModel) => ExecutionStatistics | undefined;
  readonly modelControl: ModelControl | undefined;
  readonly drainTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly server: { readonly name: string; readonly version: string };
  readonly clock: Clock;
}

/**
 * Fills and validates {@link GatewayOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field, its value and what was expected.
 */
export function resolveGatewayOptions(o: GatewayOptions): ResolvedGatewayOptions {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  if (!o.node || typeof o.node.submit !== 'function' || typeof o.node.view !== 'function') invalidOption('node', o.node, 'a mesh node');
  if (!Array.isArray(o.models)) invalidOption('models', o.models, 'an array of models');
  const models = new Map<string, ResolvedGatewayModel>();
  o.models.forEach((m, i) => {
    if (typeof m?.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(m.name)) invalidOption(`models[${i}].name`, m?.name, 'a name of letters, digits, _ . -');
    if (models.has(m.name)) invalidOption(`models[${i}].name`, m.name, 'a name not already used');
    if (!Array.isArray(m.inputs) || !Array.isArray(m.outputs)) invalidOption(`models[${i}].inputs`, m.inputs, 'arrays of tensor metadata (inputs and outputs)');
    const versions = m.versions ?? ['1'];
    if (!Array.isArray(versions) || versions.length === 0 || versions.some((v) => typeof v !== 'string')) invalidOption(`models[${i}].versions`, versions, 'a non-empty array of strings');
    if (m.splitItems !== undefined && typeof m.splitItems !== 'boolean') invalidOption(`models[${i}].splitItems`, m.splitItems, 'a boolean');
    if (m.unavailable !== undefined && typeof m.unavailable !== 'string') invalidOption(`models[${i}].unavailable`, m.unavailable, 'a string (the reason)');
    const sides: readonly (readonly [string, readonly GatewayTensor[]])[] = [['inputs', m.inputs], ['outputs', m.outputs]];
    for (const [side, tensors] of sides) {
      tensors.forEach((t, k) => {
        const names: unknown = t?.dimNames;
        if (names !== undefined && (!Array.isArray(names) || names.some((n) => n !== undefined && typeof n !== 'string'))) invalidOption(`models[${i}].${side}[${k}].dimNames`, names, 'an array of dimension names (strings, or undefined)');
      });
    }
    // A request for an input of open rank is sent whole: its dimension 0 is not known to be a batch.
    const splitItems = (m.splitItems ?? defaultSplitItems(m)) && !m.inputs.some((t: GatewayTensor) => t.anyRank === true);
    models.set(m.name, { name: m.name, serviceId: m.serviceId ?? m.name, versions, platform: m.platform ?? 'onnxruntime_onnx', inputs: m.inputs, outputs: m.outputs, splitItems, unavailable: m.unavailable });
  });
  const d = GATEWAY_DEFAULTS;
  const maxBodyBytes = o.maxBodyBytes ?? d.maxBodyBytes;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024) invalidOption('maxBodyBytes', o.maxBodyBytes, 'an integer >= 1024');
  const maxBatchItems = o.maxBatchItems ?? d.maxBatchItems;
  if (!Number.isSafeInteger(maxBatchItems) || maxBatchItems < 1) invalidOption('maxBatchItems', o.maxBatchItems, 'an integer >= 1');
  const maxConnections = o.maxConnections ?? d.maxConnections;
  if (!Number.isSafeInteger(maxConnections) || maxConnections < 1) invalidOption('maxConnections', o.maxConnections, 'an integer >= 1');
  const drainTimeoutMs = o.drainTimeoutMs ?? d.drainTimeoutMs;
  // A timer cannot wait longer than 2^31 - 1 ms (setTimeout then fires at once: a drain that waits for nothing).
  if (!(drainTimeoutMs >= 0 && drainTimeoutMs <= MAX_TIMER_MS)) invalidOption('drainTimeoutMs', o.drainTimeoutMs, `a number in [0, ${MAX_TIMER_MS}]`);
  const requestTimeoutMs = o.requestTimeoutMs ?? d.requestTimeoutMs;
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs < 1 || requestTimeoutMs > MAX_TIMER_MS) invalidOption('requestTimeoutMs', o.requestTimeoutMs, `an integer in [1, ${MAX_TIMER_MS}]`);
  const idleTimeoutMs = o.idleTimeoutMs ?? d.idleTimeoutMs;
  if (!Number.isSafeInteger(idleTimeoutMs) || idleTimeoutMs < 1 || idleTimeoutMs > MAX_TIMER_MS) invalidOption('idleTimeoutMs', o.idleTimeoutMs, `an integer in [1, ${MAX_TIMER_MS}]`);
  const handlers = o.handlers ?? [];
  if (!Array.isArray(handlers) || handlers.some((h) => typeof h !== 'function')) invalidOption('handlers', o.handlers, 'an array of (req, res) => boolean');
  if (o.isReady !== undefined && typeof o.isReady !== 'function') invalidOption('isReady', o.isReady, 'a function');
  if (o.isModelReady !== undefined && typeof o.isModelReady !== 'function') invalidOption('isModelReady', o.isModelReady, 'a function');
  if (o.canSplitItems !== undefined && typeof o.canSplitItems !== 'function') invalidOption('canSplitItems', o.canSplitItems, 'a function');
  if (o.batchAxes !== undefined && typeof o.batchAxes !== 'function') invalidOption('batchAxes', o.batchAxes, 'a function');
  if (o.axesWhenRefusedWhole !== undefined && typeof o.axesWhenRefusedWhole !== 'function') invalidOption('axesWhenRefusedWhole', o.axesWhenRefusedWhole, 'a function');
  if (o.executionStatistics !== undefined && typeof o.executionStatistics !== 'function') invalidOption('executionStatistics', o.executionStatistics, 'a function');
  if (o.modelControl !== undefined && (typeof o.modelControl?.load !== 'function' || typeof o.modelControl.unload !== 'function')) invalidOption('modelControl', o.modelControl, '{ load, unload } functions');
  return {
    node: o.node,
    models,
    http: listen('http', o.http, d.http),
    grpc: listen('grpc', o.grpc, d.grpc),
    maxBodyBytes,
    maxBatchItems,
    maxConnections,
    handlers,
    isReady: o.isReady ?? (() => true),
    isModelReady: o.isModelReady,
    canSplitItems: o.canSplitItems ?? (() => true),
    batchAxes: o.batchAxes ?? (() => undefined),
    axesWhenRefusedWhole: o.axesWhenRefusedWhole,
    executionStatistics: o.executionStatistics ?? (() => undefined),
    modelControl: o.modelControl,
    drainTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs,
    server: o.server ?? d.server,
    clock: o.clock ?? systemClock,
  };
}

function listen(field: string, v: ListenOptions | false | undefined, d: Required<ListenOptions>): Required<ListenOptions> | false {
  if (v === false) return false;
  if (v !== undefined && (typeof v !== 'object' || v === null)) invalidOption(field, v, '{ host, port } or false');
  const host = v?.host ?? d.host;
  const port = v?.port ?? d.port;
  if (typeof host !== 'string' || host === '') invalidOption(`${field}.host`, host, 'a host name or address');
  if (!Number.isInteger(port) || port < 0 || port > 65535) invalidOption(`${field}.port`, port, 'a port number 0–65535');
  return { host, port };
}

/**
 * Splitting a request into items is safe only when dimension 0 is a batch everywhere: every input and every
 * output (metadata known) leaves it free, and no dimension name says otherwise. An output with a fixed first
 * dimension or none (a scalar, a reduction over the batch, a `Shape`) would be stacked into a wrong answer; a
 * first dimension named as a length (`x [sequence, 80]`, a whole sequence per request) is not a batch, nor is
 * dimension 0 of a tensor whose batch is named elsewhere (time-major `[seq, batch, 80]`). The names are read by
 * the executor's rule ({@link mayBeBatchDim}), so the gateway splits a request where the executor would batch it.
 */
export function defaultSplitItems(m: { readonly inputs: readonly SplitTensor[]; readonly outputs: readonly SplitTensor[] }): boolean {
  // An input with a default has the model's fixed shape: shared by the items, not split.
  const inputs = m.inputs.filter((t) => t.optional !== true);
  return inputs.length > 0 && m.outputs.length > 0 && inputs.every(leadsWithBatch) && m.outputs.every(leadsWithBatch);
}

type SplitTensor = Pick<GatewayTensor, 'shape' | 'dimNames' | 'optional'>;

/**
 * The batch axes a model's dimension names give, for a host with no instance of the model to ask (a peer runs
 * it): every input without a default leads with a free dimension of one name (the batch, by {@link leadsWithBatch}),
 * and every output holds a free dimension of that name at exactly one axis — `transposed [3, N]` is batched on
 * axis 1. Inputs with a default, or of fixed dims only, are shared by the items (`null`). `undefined` when the names
 * do not say.
 */
export function namedItemAxes(m: { readonly inputs: readonly (SplitTensor & { readonly name: string })[]; readonly outputs: readonly (SplitTensor & { readonly name: string })[] }): ItemAxes | undefined {
  // An input of fixed dims only (`k [2]`, a scalar) cannot hold a batch: every item gets it whole, like one with a default.
  const shared = (t: SplitTensor): boolean => t.optional === true || t.shape.every((d) => d >= 0);
  const batched = m.inputs.filter((t) => !shared(t));
  const name = batched[0]?.dimNames?.[0];
  if (name === undefined || m.outputs.length === 0 || !batched.every((t) => leadsWithBatch(t) && t.dimNames?.[0] === name)) return undefined;
  const outputs: Record<string, number> = {};
  for (const o of m.outputs) {
    const at = (o.dimNames ?? []).flatMap((n, i) => (n === name && o.shape[i] === -1 ? [i] : []));
    if (at.length !== 1) return undefined;
    outputs[o.name] = at[0]!;
  }
  return { inputs: Object.fromEntries(m.inputs.map((t) => [t.name, shared(t) ? null : 0])), outputs };
}

/** Whether a tensor's dimension 0 may be the batch: free, and not named as something else. */
function leadsWithBatch(t: SplitTensor): boolean {
  if (t.shape.length === 0 || t.shape[0] !== -1) return false;
  const names = t.dimNames;
  if (names === undefined) return true;
  const first = names[0];
  if (first !== undefined && BATCH_DIM_NAME.test(first)) return true;
  if (names.some((n, i) => i > 0 && n !== undefined && BATCH_DIM_NAME.test(n))) return false;
  return mayBeBatchDim(first);
}
