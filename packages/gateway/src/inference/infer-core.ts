import { EparaError, isEparaError } from '@epara/core';
import type { AbortSignalLike, NamedTensors, TensorLike, TraceContext } from '@epara/core';
import { MAX_TIMER_MS } from '../gateway-options.js';
import type { GatewayNode, ItemAxes, ResolvedGatewayModel, ResolvedGatewayOptions } from '../gateway-options.js';

import type { InferOutput, InferRequest, InferResponse } from '../protocol/infer-types.js';
import { readControls, shown } from '../protocol/request-controls.js';
import { decodeInput, encodeOutput, sharedMemoryRefused } from '../protocol/tensor-codec.js';
import { DATATYPE_OF } from '../protocol/datatypes.js';
import { classCount, classify } from './classification.js';
import { splitTensors, stackTensors } from '@epara/runtime';
import { RequestStatistics } from './model-statistics.js';
import type { ModelStatistics } from './model-statistics.js';

/** Per-call context a transport adds to a request. */
export interface InferContext {
  readonly signal?: AbortSignalLike;
  /** Header forms of the deadline and priority (HTTP). */
  readonly headers?: { readonly deadline?: string | undefined; readonly priority?: string | undefined };
  /** An absolute deadline the transport itself carries (a gRPC deadline), node clock ms. */
  readonly transportDeadline?: number;
  /** The request's trace context (request id, `traceparent`), handed to `node.submit`. */
  readonly trace?: TraceContext;
}

/**
 * The protocol's logic, shared by HTTP and gRPC: model lookup, input checks against the model's metadata,
 * deadline and priority, the `node.submit`, and the response. Counts requests in flight for draining.
 */
export class InferCore {
  readonly #o: ResolvedGatewayOptions;
  #inFlight = 0;
  #draining = false;
  #idle: (() => void) | undefined;
  #drainP: Promise<void> | undefined;
  /** Called once, when draining begins (readiness turns false: gRPC health watchers are told at once). */
  readonly #onDrain: (() => void)[] = [];
  /** Models seen answering one item with an output not batched on its first dimension: sent whole from then on. */
  readonly #whole = new Set<string>();
  /** Models whose requests of several items a peer refused whole (`canSplitItems` said `'if-refused-whole'`): split at once. */
  readonly #refusedWhole = new Set<string>();
  readonly #stats = new RequestStatistics();

  constructor(o: ResolvedGatewayOptions) {
    this.#o = o;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Calls `listener` when draining begins. */
  onDrain(listener: () => void): void {
    this.#onDrain.push(listener);
  }

  /** Live: the process answers. Ready: not draining, and the host's readiness condition holds. */
  ready(): boolean {
    return !this.#draining && this.#o.isReady();
  }

  /** The model, or `UNKNOWN_SERVICE` when it (or the version asked for) is not served. */
  model(name: string, version?: string): ResolvedGatewayModel {
    const m = this.#o.models.get(name);
    if (!m) throw new EparaError('UNKNOWN_SERVICE', `unknown model ${JSON.stringify(name)}`, { model: name });
    if (version !== undefined && version !== '' && declaredVersion(m, version) === undefined) {
      throw new EparaError('UNKNOWN_SERVICE', `model ${name} has no version ${JSON.stringify(version)} (versions: ${m.versions.join(', ')})`, { model: name, version });
    }
    return m;
  }

  /**
   * What a request for `name` (and `version`) meets before its body matters: the model, or the refusal a
   * transport can answer before reading the body.
   * @throws EparaError `UNKNOWN_SERVICE`, or `CLOSED` (retryable) while draining.
   */
  admit(name: string, version?: string): ResolvedGatewayModel {
    const m = this.model(name, version);
    if (this.#draining) throw new EparaError('CLOSED', 'server is draining: send the request to another server', { retryable: true });
    return m;
  }

  modelReady(m: ResolvedGatewayModel): boolean {
    if (this.#draining || m.unavailable !== undefined) return false;
    if (this.#o.isModelReady) return this.#o.isModelReady(m);
    return readyInView(this.#o.node, m.serviceId);
  }

  /**
   * Runs one request through the node.
   * @throws EparaError `UNKNOWN_SERVICE`, `INVALID_INPUT`, `CLOSED` (draining), or whatever `node.submit` rejects with.
   */
  async infer(req: InferRequest, ctx: InferContext = {}): Promise<InferResponse> {
    const m = this.model(req.model, req.version);
    const version = versionOrLatest(m, req.version);
    const startedAt = this.#stats.start();
    const settled = { ok: false, items: 0 };
    try {
      const response = await this.#run(m, req, ctx, settled);
      settled.ok = true;
      return response;
    } finally {
      this.#stats.settled(m.name, version, startedAt, settled);
    }
  }

  /**
   * Triton's statistics of every version of every model, or of `name` (and `version`), each with what the
   * host's executor measured for its service.
   * @throws EparaError `UNKNOWN_SERVICE` for an unknown model or version.
   */
  statistics(name?: string, version?: string): ModelStatistics[] {
    const models = name === undefined || name === '' ? [...this.#o.models.values()] : [this.model(name, version)];
    return models.flatMap((m) => this.#stats.of(m, version ? declaredVersion(m, version) : undefined, this.#o.executionStatistics(m)));
  }

  /**
   * Triton's repository load or unload of `name` (HTTP `POST /v2/repository/models/{name}/load`, the
   * `RepositoryModelLoad` RPC…), through the host's model control. `parameters` are the names of the request's
   * parameters: a model configuration or file override (`config`, `file:…`) is refused, since the model is the
   * one the server declares.
   * @throws EparaError `UNKNOWN_SERVICE`; `INVALID_INPUT` without model control or for an override; `CLOSED`
   * (a load while draining); whatever the host's control rejects with.
   */
  async controlModel(name: string, action: 'load' | 'unload', parameters: Readonly<Record<string, unknown>> = {}): Promise<void> {
    const m = action === 'load' ? this.admit(name) : this.model(name);
    const control = this.#o.modelControl;
    if (!control) throw new EparaError('INVALID_INPUT', `models are not ${action}ed through this server: it serves the models its configuration declares`, { field: 'model' });
    const override = Object.keys(parameters).find((k) => k === 'config' || k.startsWith('file:'));
    if (override !== undefined) {
      throw new EparaError('INVALID_INPUT', `repository ${action} parameter ${JSON.stringify(override)}: a model configuration or file given with the request is not supported (the server's configuration declares the model)`, { field: `parameters.${override}` });
    }
    await control[action](m);
  }

  async #run(m: ResolvedGatewayModel, req: InferRequest, ctx: InferContext, settled: { items: number }): Promise<InferResponse> {
    this.admit(req.model, req.version);
    if (m.unavailable !== undefined) throw new EparaError('LOAD_FAILED', m.unavailable, { model: m.name });
    const inputs = this.#inputs(m, req);
    const wanted = this.#wantedOutputs(m, req);
    const controls = readControls(req.parameters, ctx.headers);
    const deadline = controls.deadlineMs !== undefined ? this.#o.clock.now() + controls.deadlineMs : ctx.transportDeadline;
    const splittable = m.splitItems && !this.#whole.has(m.name);
    const axes = m.splitItems ? (this.#o.batchAxes(m) ?? optionalShared(m)) : undefined;
    const items = m.splitItems ? batchItems(inputs, axes?.inputs) : 1;
    if (items > this.#o.maxBatchItems) {
      throw new EparaError('INVALID_INPUT', `the request carries a batch of ${items} items; model ${m.name} takes at most ${this.#o.maxBatchItems} per request (maxBatchItems): send it in parts`, { field: 'inputs', items, limit: this.#o.maxBatchItems });
    }
    this.#inFlight++;
    try {
      const options = {
        ...(deadline !== undefined ? { deadline } : {}),
        ...(controls.priority !== undefined ? { priority: controls.priority } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.trace ? { trace: ctx.trace } : {}),
      };
      const can = splittable && items > 1 ? this.#o.canSplitItems(m) : false;
      const split = can === true || (can === 'if-refused-whole' && this.#refusedWhole.has(m.name));
      const whole = (): Promise<NamedTensors> =>
        this.#o.node.submit(m.serviceId, inputs, options).catch(async (err: unknown) => {
          // The server that runs the model (a peer: nothing here knows) refused the items whole: its instance stacks
          // requests, one item each, so they are sent one per request, now and from then on — along the axes the
          // host learns (the peer publishes them), or those it knew.
          if (can !== 'if-refused-whole' || !isEparaError(err) || err.code !== 'INVALID_INPUT') throw err;
          const along = this.#o.axesWhenRefusedWhole ? await this.#o.axesWhenRefusedWhole(m, options) : axes;
          const n = along === undefined ? items : batchItems(inputs, along.inputs);
          if (this.#o.axesWhenRefusedWhole && (along === undefined || n <= 1)) throw err;
          this.#refusedWhole.add(m.name);
          return this.#submitItems(m, { inputs, n, axes: along }, options);
        });
      const result = await (!split ? whole() : this.#submitItems(m, { inputs, n: items, axes }, options)).catch((err: unknown) => {
        // A deadline that came with the gRPC call itself: the standard answer to one the server cannot meet is
        // DEADLINE_EXCEEDED (what the client's own timer reports when it lapses), not a retryable refusal.
        if (isEparaError(err) && err.code === 'DEADLINE_INFEASIBLE' && controls.deadlineMs === undefined && ctx.transportDeadline !== undefined) {
          throw new EparaError('DEADLINE_EXCEEDED', `${err.message} (the call's deadline cannot be met)`, err.details, { cause: err });
        }
        throw err;
      });
      settled.items = items;
      return { model: m.name, version: versionOrLatest(m, req.version), ...(req.id !== undefined ? { id: req.id } : {}), parameters: req.parameters ?? {}, outputs: this.#outputs(m, result, wanted, req) };
    } finally {
      if (--this.#inFlight === 0) this.#idle?.();
    }
  }

  /**
   * A request carrying several items (N > 1 along every batched input's batch axis: dimension 0, or the axes the
   * host reads from the model) is submitted as N requests, so the node batches and offloads each like any
   * other; inputs without a batch axis go whole with every item, and the outputs are stacked back in order
   * along their own batch axes. One failure fails the request and aborts the rest.
   *
   * Metadata cannot always tell a batch from another free first dimension (exporters name an output's batch
   * dim differently from the input's, or not at all). An item whose output does not have size 1 on its batch
   * axis shows the model does not batch there: stacking would return a wrong answer, so the request is
   * sent whole instead, and so is every later request for that model.
   */
  async #submitItems(m: ResolvedGatewayModel, request: { inputs: NamedTensors; n: number; axes: ItemAxes | undefined }, options: { deadline?: number; priority?: number; signal?: AbortSignalLike; trace?: TraceContext }): Promise<NamedTensors> {
    const { inputs, n, axes } = request;
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const parts = splitTensors(inputs, n, axes?.inputs ?? {});
      const results = await Promise.all(
        parts.map((p) =>
          this.#o.node.submit(m.serviceId, p, { ...options, signal: abort.signal }).catch((err: unknown) => {
            abort.abort();
            throw err;
          }),
        ),
      );
      if (!notBatchedOutput(results, axes?.outputs ?? {})) return stackTensors(results, axes?.outputs ?? {});
      let whole: NamedTensors;
      try {
        whole = await this.#o.node.submit(m.serviceId, inputs, options);
      } catch (err) {
        // Each item passed the executor's checks: refused whole, the request is refused for its size on the batch
        // axes (an instance that stacks takes one item per request). Whole requests are not remembered then: the
        // next request of several items is split again, and answered when its items' answers do stack.
        if (!isEparaError(err) || err.code !== 'INVALID_INPUT') throw err;
        throw new EparaError(
          'INVALID_INPUT',
          `model ${m.name} answered the request's ${n} items with not one row per item on their outputs' batch axes, so their answers cannot be put together, and it takes one item per request whole: send these items one per request (${err.message})`,
          { ...err.details, field: 'inputs', items: n },
          { cause: err },
        );
      }
      this.#whole.add(m.name);
      return whole;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops taking requests (`CLOSED`, retryable) and resolves once those in flight settled or `timeoutMs` passed
   * (longer than a timer can wait, `Infinity` included: once they settled). Idempotent.
   * @throws EparaError `INVALID_OPTIONS` (rejected) for a `timeoutMs` that is not a number >= 0.
   */
  drain(timeoutMs: number): Promise<void> {
    if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
      return Promise.reject(new EparaError('INVALID_OPTIONS', `drain timeoutMs must be a number >= 0 (Infinity: until the requests in flight settle), got ${String(timeoutMs)}`, { field: 'timeoutMs', value: timeoutMs }));
    }
    if (!this.#draining) {
      this.#draining = true;
      for (const l of this.#onDrain) l();
    }
    this.#drainP ??= this.#inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          // setTimeout fires at once for a delay past 2^31 - 1 ms: such a wait has no timer at all.
          const timer = timeoutMs <= MAX_TIMER_MS ? setTimeout(resolve, timeoutMs) : undefined;
          this.#idle = () => (clearTimeout(timer), resolve());
        });
    return this.#drainP;
  }

  #inputs(m: ResolvedGatewayModel, req: InferRequest): NamedTensors {
    if (!Array.isArray(req.inputs)) throw new EparaError('INVALID_INPUT', 'the request has no inputs', { field: 'inputs' });
    // No inputs is the request of a model that takes none (a constant table, a generator); one that takes some
    // is told which.
    const required = m.inputs.find((t) => t.optional !== true);
    if (req.inputs.length === 0 && required !== undefined) {
      const first = required;
      throw new EparaError('INVALID_INPUT', `the request has no inputs: model ${m.name} needs input ${first.name} (${first.datatype} [${first.shape.join(',')}])`, { field: 'inputs' });
    }
    // No prototype: an input named `__proto__` (a model's metadata may be unknown, so any name can reach here) is
    // an input like any other, not the object's prototype.
    const out = Object.create(null) as Record<string, TensorLike>;
    req.inputs.forEach((input, i) => {
      const t = decodeInput(input, i);
      if (Object.hasOwn(out, input.name)) throw new EparaError('INVALID_INPUT', `input ${input.name} appears twice`, { field: `inputs[${i}].name` });
      checkAgainstMetadata(m, input.name, input.datatype, t.dims);
      out[input.name] = t;
    });
    for (const meta of m.inputs) {
      if (!Object.hasOwn(out, meta.name) && meta.optional !== true) throw new EparaError('INVALID_INPUT', `model ${m.name} needs input ${meta.name} (${meta.datatype} [${meta.shape.join(',')}])`, { field: 'inputs' });
    }
    return out;
  }

  #wantedOutputs(m: ResolvedGatewayModel, req: InferRequest): ReadonlyMap<string, WantedOutput> | undefined {
    const allBinary = boolParameter(req.parameters, 'binary_data_output', 'parameters') === true;
    if (req.outputs === undefined || req.outputs.length === 0) return allBinary ? new Map() : undefined;
    const wanted = new Map<string, WantedOutput>();
    req.outputs.forEach((o, i) => {
      if (typeof o?.name !== 'string') throw new EparaError('INVALID_INPUT', `outputs[${i}].name must be a string`, { field: `outputs[${i}].name` });
      if (m.outputs.length > 0 && !m.outputs.some((x) => x.name === o.name)) throw new EparaError('INVALID_INPUT', `model ${m.name} has no output ${o.name}`, { field: `outputs[${i}].name` });
      if (wanted.has(o.name)) throw new EparaError('INVALID_INPUT', `outputs[${i}]: output ${o.name} is asked for twice`, { field: `outputs[${i}].name` });
      if (o.parameters?.['shared_memory_region'] !== undefined) throw sharedMemoryRefused(`outputs[${i}]`);
      const classes = classCount(o.parameters, `outputs[${i}]`, m.outputs.find((x) => x.name === o.name)?.datatype);
      const binary = boolParameter(o.parameters, 'binary_data', `outputs[${i}].parameters`) ?? allBinary;
      wanted.set(o.name, classes === undefined ? { binary } : { binary, classes });
    });
    return wanted;
  }

  #outputs(m: ResolvedGatewayModel, result: NamedTensors, wanted: ReadonlyMap<string, WantedOutput> | undefined, req: InferRequest): InferOutput[] {
    const allBinary = req.parameters?.['binary_data_output'] === true;
    if (wanted === undefined || wanted.size === 0) return Object.entries(result).map(([name, t]) => encodeOutput(name, t, allBinary));
    const out: InferOutput[] = [];
    for (const [name, { binary, classes }] of wanted) {
      const t = Object.hasOwn(result, name) ? result[name] : undefined; // `constructor` is a name, not Object's
      if (!t) {
        // Checked against the metadata before the run when it lists the outputs; here when it does not.
        if (m.outputs.length > 0) throw new EparaError('MODEL_ERROR', `model ${m.name} declares output ${name} but did not answer it`, { output: name });
        throw new EparaError('INVALID_INPUT', `model ${m.name} has no output ${name} (outputs: ${Object.keys(result).join(', ')})`, { field: 'outputs' });
      }
      out.push(encodeOutput(name, classes === undefined ? t : classify(t, classes, `output ${name}`, DATATYPE_OF[t.type]), binary));
    }
    return out;
  }
}

/** How a request asks for one output: in binary form or JSON, and as the tensor or its top classes. */
interface WantedOutput {
  readonly binary: boolean;
  /** Triton's classification extension: answer the `classes` highest values as `"value:index"` strings. */
  readonly classes?: number;
}

/** A boolean parameter, `undefined` when absent. @throws EparaError `INVALID_INPUT` for another type. */
function boolParameter(p: InferRequest['parameters'], key: string, field: string): boolean | undefined {
  const v = p?.[key];
  if (v === undefined || typeof v === 'boolean') return v;
  throw new EparaError('INVALID_INPUT', `${field}.${key} must be true or false, got ${shown(v)}`, { field: `${field}.${key}` });
}

/** Whether some item answered an output whose size on its batch axis is not 1 (one item's batch). */
function notBatchedOutput(results: readonly NamedTensors[], axes: ItemAxes['outputs']): boolean {
  for (const r of results) {
    for (const name in r) {
      const t = r[name]!;
      const axis = Object.hasOwn(axes, name) ? axes[name]! : 0;
      if (axis === null) continue; // shared by every item: stacking keeps the first
      if (t.dims[axis] !== 1) return true;
    }
  }
  return false;
}

/**
 * Without the host's axes every tensor is split on dimension 0, but an input the model gives a default has the
 * model's fixed shape: every item shares it. Split too, an `opt [2]` beside a request of 2 rows was cut into two
 * items of one value each (refused, or a wrong answer where the model broadcasts it).
 */
function optionalShared(m: ResolvedGatewayModel): ItemAxes | undefined {
  if (!m.inputs.some((t) => t.optional === true)) return undefined;
  const inputs: Record<string, null> = {};
  for (const t of m.inputs) if (t.optional === true) inputs[t.name] = null;
  return { inputs, outputs: {} };
}

/**
 * How many items a request carries: N when every batched input (its batch axis from `axes`, dimension 0 by
 * default; `null` for an input every item shares) has size N > 1 there; 1 otherwise (sent whole).
 */
function batchItems(inputs: NamedTensors, axes: ItemAxes['inputs'] = {}): number {
  let n: number | undefined;
  for (const name in inputs) {
    const axis = Object.hasOwn(axes, name) ? axes[name]! : 0;
    if (axis === null) continue;
    const size = inputs[name]!.dims[axis];
    if (size === undefined || (n !== undefined && size !== n)) return 1; // no such axis, or sizes that disagree
    n = size;
  }
  return n !== undefined && n > 1 ? n : 1;
}

function checkAgainstMetadata(m: ResolvedGatewayModel, name: string, datatype: string, dims: readonly number[]): void {
  if (m.inputs.length === 0) return; // metadata unknown: the executor checks
  const meta = m.inputs.find((x) => x.name === name);
  if (!meta) throw new EparaError('INVALID_INPUT', `model ${m.name} has no input ${name} (inputs: ${m.inputs.map((x) => x.name).join(', ')})`, { field: 'inputs' });
  if (meta.datatype !== datatype) throw new EparaError('INVALID_INPUT', `input ${name} must be ${meta.datatype}, got ${datatype}`, { field: `${name}.datatype` });
  const fits = meta.anyRank === true || (meta.shape.length === dims.length && meta.shape.every((d, i) => d < 0 || d === dims[i]));
  if (!fits) throw new EparaError('INVALID_INPUT', `input ${name} has shape [${dims.join(',')}] but model ${m.name} expects [${meta.shape.join(',')}] (-1: any size)`, { field: `${name}.shape` });
}

/** Whether the node's view holds a `ready` instance of `serviceId` on a live server (this one or a peer). */
export function readyInView(node: Pick<GatewayNode, 'view'>, serviceId: string): boolean {
  return Object.values(node.view().entries).some((e) => e.alive && e.instances.some((i) => i.serviceId === serviceId && i.status === 'ready'));
}

/**
 * The declared version `version` names: the same text, or — Triton's versions being integers, `/versions/01` its
 * version 1 — a declared version of digits with the same number. `undefined` when the model has none.
 */
function declaredVersion(m: ResolvedGatewayModel, version: string): string | undefined {
  if (m.versions.includes(version)) return version;
  if (!/^\d+$/.test(version)) return undefined;
  const n = BigInt(version);
  return m.versions.find((v) => /^\d+$/.test(v) && BigInt(v) === n);
}

/** The declared version a request runs as: the one it names, or the model's latest when it names none. */
function versionOrLatest(m: ResolvedGatewayModel, version: string | undefined): string {
  return (version ? declaredVersion(m, version) : undefined) ?? m.versions[m.versions.length - 1]!;
}
