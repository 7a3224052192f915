import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EparaError, isEparaError, systemClock } from '@epara/core';
import type { Logger, NamedTensors, ServiceSpec } from '@epara/core';
import { createMeshMetrics, createNode, createWebSocketTransport, NODE_DEFAULTS } from '@epara/mesh';
import type { MeshNode } from '@epara/mesh';
import { createExecutor, createRuntimeMetrics } from '@epara/runtime';
import type { Executor, ExecutorServiceOptions } from '@epara/runtime';
import type { Dashboard } from '@epara/dashboard';
import { createGateway } from '../gateway.js';
import type { Gateway, GatewayAddresses } from '../gateway.js';
import { defaultSplitItems, namedItemAxes } from '../gateway-options.js';
import { readyInView } from '../inference/infer-core.js';
import { peerItems } from '../inference/peer-items.js';
import type { GatewayModel, HttpHandler, ItemAxes, ModelControl } from '../gateway-options.js';
import type { ServeConfig } from './config-schema.js';
import { declaredSample, readModelIo, undersampledInputs } from './model-metadata.js';
import type { ModelIo } from './model-metadata.js';
import { createLineLogger } from './serve-logger.js';
import { readDashboardToken, readSecurity } from './read-secrets.js';
import { collectExecutionStatistics } from './execution-statistics.js';
import { metricsHandler } from './metrics-handler.js';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Relative model and key paths are resolved against it (the config file's folder). @default process.cwd() */
  readonly baseDir?: string;
  /** Environment for `psk: { env }`. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Extra HTTP handlers (e.g. a dashboard), tried before the protocol routes. @default [] */
  readonly handlers?: readonly HttpHandler[];
  /** Logger of the executor and the node. @default JSON lines on stderr at the config's `log.level` */
  readonly logger?: Logger;
  /** Called once the gateway listens (live, not ready yet), before the models load, with the addresses it bound. */
  readonly onLive?: (addresses: GatewayAddresses) => void;
}

/** A running `epara serve`: executor, mesh node and gateway of one server. */
export interface RunningServer {
  readonly node: MeshNode;
  readonly executor: Executor;
  readonly gateway: Gateway;
  readonly addresses: GatewayAddresses & { readonly mesh: string | undefined };
  /** Not ready at once, finish or hand off accepted work within `drainTimeoutMs`, then close everything. */
  drain(): Promise<void>;
  /** Closes everything now. */
  close(): Promise<void>;
}

/**
 * Starts one server from a validated config: the gateway listens first (live, not ready), then the executor
 * loads its services and the node joins the mesh; the gateway is ready once both are done (and, with seeds,
 * once a peer is alive in the view).
 *
 * @throws EparaError `INVALID_OPTIONS` (a missing key file or variable…), `LOAD_FAILED`.
 */
export async function startServer(config: ServeConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  const baseDir = options.baseDir ?? process.cwd();
  const at = (p: string): string => resolve(baseDir, p);
  const io = new Map<string, ModelIo>(config.services.map((s) => [s.id, readModelIo(at(s.model), s)]));
  const security = readSecurity(config, at, options.env ?? process.env);
  const logger = options.logger ?? createLineLogger(config.log.level, (line) => void process.stderr.write(line));
  // A model with a tensor type EPARA does not carry is left out of the executor and the node: the server serves
  // the others, and the gateway answers this one LOAD_FAILED with the reason.
  const served = config.services.filter((s) => {
    const why = io.get(s.id)!.unavailable;
    if (why !== undefined) logger.warn({ serviceId: s.id }, why);
    return why === undefined;
  });
  for (const s of served) {
    const small = undersampledInputs(io.get(s.id)!);
    if (s.devices.length > 0 && small.length > 0) {
      logger.warn(
        { serviceId: s.id, inputs: small },
        `service ${s.id} is profiled on a sample of size 1 in its free dimensions (${small.join(', ')}; larger if that fails): the cost of a larger request is not known, and it is priced as the sample's; declare inputs.<name>.sampleDims with a typical size`,
      );
    }
  }
  const workerUrl = runtimeWorkerUrl();
  const executor = createExecutor({
    logger,
    devices: config.devices.map((d) => ({ id: d.id, provider: d.provider, threads: d.threads, ...(workerUrl !== undefined ? { workerUrl } : {}), ...(d.ordinal !== undefined ? { ordinal: d.ordinal } : {}), ...(d.memoryBytes !== undefined ? { memoryBytes: d.memoryBytes } : {}) })),
    // No devices here: start() would stop at the first model onnxruntime cannot load; each is loaded alone below.
    services: served.map((s) => ({ ...executorService(s, at(s.model), io.get(s.id)!), devices: [] })),
    profiling: { warmup: config.executor.profiling.warmup, repetitions: config.executor.profiling.repetitions, ...(config.executor.profiling.warmShapesMs !== undefined ? { warmShapesMs: config.executor.profiling.warmShapesMs } : {}) },
    launchWhenIdle: config.executor.launchWhenIdle,
    ...(config.executor.maxQueue !== undefined ? { maxQueue: config.executor.maxQueue } : {}),
    // A response may be as large as a request: the gateway's body limit, unless the config sets its own.
    maxResponseBytes: config.executor.maxResponseBytes ?? config.gateway.maxBodyBytes,
  });
  const node = createNode({
    id: config.node.id,
    transport: createWebSocketTransport({ host: config.node.listen.host, port: config.node.listen.port, ...(security.tls ? { tls: security.tls } : {}) }),
    executor,
    security: security.node,
    seeds: config.node.seeds,
    services: served.map(serviceSpec),
    ...(config.node.advertise !== undefined ? { advertise: config.node.advertise } : {}),
    ...(config.node.syncPeriodMs !== undefined ? { syncPeriodMs: config.node.syncPeriodMs } : {}),
    ...(config.node.hopLimit !== undefined ? { hopLimit: config.node.hopLimit } : {}),
    placement: config.node.placement ? {} : false,
    drainTimeoutMs: config.drainTimeoutMs,
    logger,
  });
  let loaded = false;
  let joined = config.node.seeds.length === 0;
  // Joined is latched: a node that saw a peer (or waited joinTimeoutMs for one) keeps serving when peers leave.
  // The wait is a timer (the monotonic clock: a wall clock stepped back must not hold readiness off), the one that
  // says the server serves alone: it is said before the server is ready alone.
  let waited = false;
  const isJoined = (): boolean => (joined ||= waited || node.stats().alivePeers > 0);
  const handlers = [...(options.handlers ?? [])];
  const metrics = config.metrics.enabled ? await startMetrics(executor, node, config.metrics.path) : undefined;
  if (metrics) handlers.push(metrics.handler);
  const dashboard = await startDashboard(config, node, options.env ?? process.env);
  if (dashboard) handlers.push((req, res) => dashboard.handle(req, res));
  // With no instance here, the axes a peer publishes; without them, those the model's dim names give (an output
  // `[3, N]` batched on axis 1), or dimension 0 of a model whose inputs' first dims carry one name.
  const itemAxes = (serviceId: string): ItemAxes | undefined => {
    if (executor.itemSeparability(serviceId) === 'separable') return executor.batchAxes(serviceId);
    if (executor.batchAxes(serviceId) !== undefined) return undefined;
    const peers = peerItems(node.view(), serviceId);
    if (peers?.separability === 'separable') return peers.batchAxes;
    const model = io.get(serviceId)!;
    return namedItemAxes(model) ?? (model.sameFirstDim && defaultSplitItems(model) ? firstDimAxes(model) : undefined);
  };
  const statistics = collectExecutionStatistics(executor);
  const gateway = createGateway({
    node,
    executionStatistics: (m) => statistics.of(m.serviceId),
    // Every model may be split; canSplitItems decides per request (the executor's check, or the metadata).
    models: config.services.map((s) => gatewayModel(s, io.get(s.id)!)),
    http: config.gateway.http,
    grpc: config.gateway.grpc,
    maxBodyBytes: config.gateway.maxBodyBytes,
    maxBatchItems: config.gateway.maxBatchItems,
    maxConnections: config.gateway.maxConnections,
    requestTimeoutMs: config.gateway.requestTimeoutMs,
    idleTimeoutMs: config.gateway.idleTimeoutMs,
    handlers,
    drainTimeoutMs: config.drainTimeoutMs,
    // A server none of whose models is ready anywhere (each failed to load here and no peer serves it) is live
    // but not ready: a load balancer must not send it traffic it can only refuse.
    isReady: () => loaded && isJoined() && (config.services.length === 0 || config.services.some((s) => readyInView(node, s.id))),
    // Splitting a request into items is wrong exactly where stacking items into a batch is: the executor's
    // numeric check knows, and splits along the batch axes it reads from the model (batchAxes). A local instance
    // that has not checked gets the request whole. With none here (a peer serves the model), the peers' executors
    // decide: each publishes in its view entry whether the items are separable and along which axes. Before one
    // has checked, the request goes whole, and is split only when the peer refuses it whole, which its instance does
    // when it stacks requests one item each — only where its check found the rows separable (the entry then splits
    // along the axes the peer publishes, or the dim names give).
    canSplitItems: (m) => {
      const known = executor.itemSeparability(m.serviceId);
      if (known !== undefined) return known === 'separable';
      // A local instance that has not checked (its check waits for a first request, or it never stacks) runs a
      // whole request as the model does: split by the names instead, a model that mixes rows under batch-like
      // names (a running sum down the batch) answered its first requests wrong — here, and through a peer.
      if (executor.batchAxes(m.serviceId) !== undefined) return false;
      const peers = peerItems(node.view(), m.serviceId);
      if (peers !== undefined) return peers.separability === 'separable';
      return io.get(m.serviceId)!.splitItems === false ? false : 'if-refused-whole';
    },
    batchAxes: (m) => itemAxes(m.serviceId),
    // Refused whole by a peer whose entry does not say yet (it checked on a first request, and its entry travels
    // each sync period) and whose dim names do not give the axes: its entry is waited for, a few sync periods at
    // most (and the request's deadline). Before, such a request was answered 400.
    axesWhenRefusedWhole: async (m, { deadline, signal }) => {
      const known = itemAxes(m.serviceId);
      if (known !== undefined) return known;
      const timeoutMs = Math.min(PEER_ITEMS_WAIT_PERIODS * (config.node.syncPeriodMs ?? NODE_DEFAULTS.syncPeriodMs), deadline === undefined ? Infinity : Math.max(0, deadline - systemClock.now()));
      await node.whenView((v) => peerItems(v, m.serviceId) !== undefined, { timeoutMs, ...(signal ? { signal } : {}) }).catch(() => undefined);
      return itemAxes(m.serviceId);
    },
    // A load reads the model file again: one replaced since the server started is served only where its inputs
    // and outputs are still those the gateway announces (and checks requests against).
    modelControl: modelControl({ executor, node, services: served, logger, signatureChange: (s) => signatureChange(io.get(s.id)!, () => readModelIo(at(s.model), s)) }),
  });
  const addresses = await gateway.start().catch(async (err: unknown) => {
    // Nothing else started yet: the collectors and handlers made above are all there is to stop.
    statistics.close();
    metrics?.close();
    dashboard?.close();
    await gateway.close();
    throw err;
  });
  options.onLive?.(addresses);
  try {
    await executor.start();
    await loadEach(executor, served, logger);
    await node.start().catch((err: unknown) => {
      // The mesh's listener is the config's node.listen: say so, as the gateway names http.port and grpc.port.
      if (!isEparaError(err) || !err.message.includes('cannot listen')) throw err;
      throw new EparaError(err.code, `${err.message} (node.listen)`, { ...err.details, field: 'node.listen' }, { cause: err });
    });
  } catch (err) {
    await Promise.allSettled([gateway.close(), node.close(), executor.close()]);
    throw err;
  }
  loaded = true;
  const lonely = watchJoin(config, node, logger, () => (waited = true));
  let closeP: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closeP ??= (async () => {
      clearTimeout(lonely);
      // The dashboard first: it ends its event streams, whose connections the HTTP server would otherwise wait for.
      dashboard?.close();
      await gateway.close();
      await node.close();
      await executor.close();
      statistics.close();
      metrics?.close();
    })());
  return {
    node,
    executor,
    gateway,
    addresses: { ...addresses, mesh: node.address },
    async drain() {
      // Gateway first (not ready, no new requests, wait for those in flight), then the node (no new submits,
      // its accepted work finishes; peers' requests still running are answered CLOSED and retried elsewhere).
      // One bound for both: the node gets what the gateway's wait left of `drainTimeoutMs` (each had waited the
      // whole of it, so a drain could take twice the configured bound).
      const started = performance.now();
      await gateway.drain({ timeoutMs: config.drainTimeoutMs });
      await node.drain({ timeoutMs: Math.max(0, config.drainTimeoutMs - (performance.now() - started)) });
      await close();
    },
    close,
  };
}

/** How many sync periods a request refused whole waits for the refusing peer's view entry. */
const PEER_ITEMS_WAIT_PERIODS = 10;

/** The longest a timer waits (a longer one fires at once). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * With seeds, calls `waited` once `joinTimeoutMs` has passed since the node started (never for a wait longer than
 * a timer takes: the server then waits for a peer), and says so when no peer is alive then: the server serves
 * alone, and before, nothing said why — a seed down or unreachable, one that accepts the connection and never
 * answers, or a peer started with this server's own `node.id` (the mesh takes a link to its own id for a dial of
 * itself and drops it in silence: the second server never saw the first).
 */
function watchJoin(config: ServeConfig, node: MeshNode, logger: Logger, waited: () => void): ReturnType<typeof setTimeout> | undefined {
  const { seeds, joinTimeoutMs, id } = config.node;
  if (seeds.length === 0 || !(joinTimeoutMs <= MAX_TIMER_MS)) return undefined;
  const timer = setTimeout(() => {
    waited();
    if (node.stats().alivePeers > 0) return;
    logger.warn(
      { seeds, joinTimeoutMs, code: 'PEER_UNAVAILABLE' },
      `no peer joined through node.seeds (${seeds.join(', ')}) within node.joinTimeoutMs (${joinTimeoutMs} ms): serving alone, still dialing them. A seed may be down, unreachable or not answering, may refuse this node's key, or may run with this node's id (${id}): each server needs its own node.id`,
    );
  }, joinTimeoutMs);
  timer.unref();
  return timer;
}

/**
 * Loads each service on its devices, one at a time as `executor.start()` would. A model that fails on its
 * default load-time sample (zeros, each free data dimension 1: an integer input it divides by, a window wider
 * than one element) is profiled on the first other sample the executor's load finds it runs on (ones, larger free
 * dimensions), which it keeps as the service's. A model onnxruntime cannot load (an operator it lacks, a
 * malformed graph), or that runs on no sample tried, is logged and left without a local instance: the server
 * serves the others, and requests for it are answered `NO_INSTANCE` unless a peer serves it.
 * @throws whatever a load rejects with otherwise (out of memory, a bad plan…).
 */
async function loadEach(executor: Executor, services: ServeConfig['services'], logger: Logger): Promise<void> {
  for (const s of services) {
    if (s.devices.length === 0) continue;
    try {
      await loadService(executor, s);
    } catch (err) {
      if (!isEparaError(err) || !(err.code === 'LOAD_FAILED' || err.code === 'MODEL_ERROR' || sampleRefusal(err))) throw err;
      logger.error({ serviceId: s.id, code: err.code }, `service ${s.id} is not served here: ${err.message}${sampleHint(err)}`);
    }
  }
}

/** Whether a load failed because the model ran on no load-time sample tried (the executor names `sampleInputs`). */
function sampleRefusal(err: EparaError): boolean {
  return err.code === 'INVALID_OPTIONS' && String(err.details['field'] ?? '').startsWith('sampleInputs.');
}

/** What to declare, for a model that failed on its load-time samples. */
function sampleHint(err: EparaError): string {
  const declare = 'declare the sizes its inputs run with, services[].inputs.<name>.sampleDims, or fix them with dims';
  const tried = err.details['sample'];
  if (typeof tried === 'string') return ` (the model failed on its load-time sample, zeros shaped ${tried}, and on the larger or non-zero samples tried after it: ${declare})`;
  return err.code === 'MODEL_ERROR' ? ` (the model failed on its load-time sample: ${declare})` : '';
}

/**
 * Loads a service on its devices; the executor searches its load-time sample where the config declares none
 * (`sampleDims`) and keeps the one it ran on for the service's later loads (a placement move, a repository load).
 * @throws what the load rejects with (`MODEL_ERROR` or `INVALID_OPTIONS` naming `sampleInputs` when no sample runs, `LOAD_FAILED`…).
 */
async function loadService(executor: Executor, s: ServeConfig['services'][number]): Promise<void> {
  await executor.load({ ...s.plan, serviceId: s.id }, { deviceIds: s.devices });
}

/**
 * Triton's repository load and unload on this server: load brings up the model's instances on the devices its
 * service names (nothing when one is loaded or loading; refused for a service with no devices here, or a model
 * EPARA cannot serve), unload drains and frees every instance of it here. One at a time, in order. Each answers
 * once the node's view shows the change: readiness is read from the view, which takes this server's own entry
 * from the executor once per gossip round, so a client that loaded a model and asked at once whether it is
 * ready was told no (and yes after an unload) until then.
 */
function modelControl(o: {
  executor: Executor;
  node: MeshNode;
  services: ServeConfig['services'];
  logger: Logger;
  /** How the model file's inputs and outputs now differ from those served, `undefined` when they do not. */
  signatureChange: (s: ServeConfig['services'][number]) => string | undefined;
}): ModelControl {
  const { executor, node, services, logger } = o;
  const byId = new Map(services.map((s) => [s.id, s]));
  let queue: Promise<unknown> = Promise.resolve();
  const inOrder = (run: () => Promise<void>): Promise<void> => {
    const p = queue.then(run);
    queue = p.catch(() => undefined);
    return p;
  };
  return {
    load: (m) =>
      inOrder(async () => {
        const s = byId.get(m.serviceId);
        if (!s) throw new EparaError('LOAD_FAILED', m.unavailable ?? `model ${m.name} cannot be served here`, { model: m.name });
        if (s.devices.length === 0) throw new EparaError('INVALID_INPUT', `model ${m.name} names no devices of this server (services[].devices): its peers serve it`, { model: m.name, field: 'devices' });
        if (executor.instances().some((i) => i.serviceId === s.id && i.status !== 'draining')) return;
        const changed = o.signatureChange(s);
        if (changed !== undefined) {
          throw new EparaError('LOAD_FAILED', `model ${m.name}: its file now has other inputs or outputs than the server serves (${changed}); restore the file, or restart the server to serve the new ones`, { model: m.name, path: s.model });
        }
        await loadService(executor, s);
        await shownInView(node, (own) => own.some((i) => i.serviceId === s.id && i.status === 'ready'), logger);
        logger.info({ serviceId: s.id }, `service ${s.id} loaded (repository load)`);
      }),
    unload: (m) =>
      inOrder(async () => {
        await Promise.all(executor.instances().filter((i) => i.serviceId === m.serviceId).map((i) => executor.unload(i.instanceId)));
        await shownInView(node, (own) => !own.some((i) => i.serviceId === m.serviceId), logger);
        logger.info({ serviceId: m.serviceId }, `service ${m.serviceId} unloaded here (repository unload)`);
      }),
  };
}

/**
 * How a model file's inputs and outputs (names, data types, shapes as announced) differ from those the server
 * read at start, in words, or `undefined` when they are the same.
 */
function signatureChange(served: ModelIo, read: () => ModelIo): string | undefined {
  let now: ModelIo;
  try {
    now = read();
  } catch (err) {
    // A file that cannot be read fails the load as it is (LOAD_FAILED); one the config's inputs no longer fit has changed.
    if (isEparaError(err) && err.code === 'LOAD_FAILED') throw err;
    return err instanceof Error ? err.message : String(err);
  }
  const show = (io: ModelIo, side: 'inputs' | 'outputs'): string => io[side].map((t) => `${t.name} ${t.datatype} [${t.shape.join(',')}]`).join(', ');
  for (const side of ['inputs', 'outputs'] as const) {
    if (show(served, side) !== show(now, side)) return `${side} ${show(now, side) || 'none'}, served: ${show(served, side) || 'none'}`;
  }
  return undefined;
}

/** The longest a repository load or unload waits for the view to show it (a node whose gossip stalls). */
const VIEW_WAIT_MS = 30_000;

/**
 * Resolves once this server's own entry in the node's view satisfies `check` (the ring announces its own entry's
 * changes at once), or after {@link VIEW_WAIT_MS} (logged: the change is made, the view is late), or when the node
 * closes meanwhile.
 */
async function shownInView(node: MeshNode, check: (own: readonly { serviceId: string; status: string }[]) => boolean, logger: Logger): Promise<void> {
  try {
    await node.whenView((view) => check(view.entries[node.id]?.instances ?? []), { timeoutMs: VIEW_WAIT_MS });
  } catch (err) {
    const code = isEparaError(err) ? err.code : undefined;
    if (code === 'CLOSED') return;
    if (code !== 'DEADLINE_EXCEEDED') throw err;
    logger.warn({ code }, `the node's view did not show the repository change within ${VIEW_WAIT_MS} ms`);
  }
}

/** Every input on dimension 0 (one with a default shared by the items), every output on dimension 0. */
function firstDimAxes(io: ModelIo): ItemAxes {
  return { inputs: Object.fromEntries(io.inputs.map((t) => [t.name, t.optional === true ? null : 0])), outputs: Object.fromEntries(io.outputs.map((t) => [t.name, 0])) };
}

function gatewayModel(s: ServeConfig['services'][number], io: ModelIo): GatewayModel {
  return {
    name: s.id,
    versions: s.versions,
    inputs: io.inputs.map(({ name, datatype, shape, anyRank, optional }) => ({ name, datatype, shape, ...(anyRank ? { anyRank } : {}), ...(optional ? { optional } : {}) })),
    outputs: io.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
    splitItems: true,
    ...(io.unavailable !== undefined ? { unavailable: io.unavailable } : {}),
  };
}

function executorService(s: ServeConfig['services'][number], model: string, io: ModelIo): ExecutorServiceOptions {
  // Inputs of open rank (onnxruntime reports them as scalars) take any shape, unless the config declares their dims.
  const anyRank = io.inputs.filter((i) => i.anyRank).map((i) => i.name);
  return {
    id: s.id,
    model,
    sensitivity: s.sensitivity,
    slo: s.slo,
    devices: s.devices,
    ...sampleOf(io),
    ...(s.inputs !== undefined || anyRank.length > 0 ? { inputs: { ...runtimeInputs(s.inputs), ...Object.fromEntries(anyRank.map((name) => [name, { ...runtimeInputs(s.inputs)[name], anyRank: true }])) } } : {}),
    ...(s.outputNames !== undefined ? { outputNames: s.outputNames } : {}),
    ...(s.maxBatch !== undefined ? { maxBatch: s.maxBatch } : {}),
    ...(s.plan !== undefined ? { plan: s.plan } : {}),
    ...(s.memoryBytes !== undefined ? { memoryBytes: s.memoryBytes } : {}),
    ...(s.maxResponseBytes !== undefined ? { maxResponseBytes: s.maxResponseBytes } : {}),
    ...(s.networkBudgetMs !== undefined ? { networkBudgetMs: s.networkBudgetMs } : {}),
  };
}

/** The sample the config declares (`sampleDims`), as the executor takes it: the load finds the rest. */
function sampleOf(io: ModelIo): { sampleInputs?: NamedTensors } {
  const sample = declaredSample(io);
  return sample === undefined ? {} : { sampleInputs: sample };
}

/** The config's input overrides as the runtime takes them (`sampleDims` shapes the gateway's sample only). */
function runtimeInputs(inputs: ServeConfig['services'][number]['inputs']): Record<string, Omit<NonNullable<typeof inputs>[string], 'sampleDims'>> {
  return Object.fromEntries(Object.entries(inputs ?? {}).map(([name, { sampleDims: _, ...rest }]) => [name, rest]));
}

function serviceSpec(s: ServeConfig['services'][number]): ServiceSpec {
  return {
    id: s.id,
    sensitivity: s.sensitivity,
    slo: s.slo,
    memory: { weightsBytes: s.memoryBytes ?? 0, perItemBytes: 0 },
    profiles: {},
    ...(s.networkBudgetMs !== undefined ? { networkBudgetMs: s.networkBudgetMs } : {}),
    ...(s.weight !== undefined ? { weight: s.weight } : {}),
  };
}

async function startMetrics(executor: Executor, node: MeshNode, path: string): Promise<{ handler: HttpHandler; close(): void } | undefined> {
  let Registry: typeof import('prom-client').Registry;
  try {
    ({ Registry } = await import('prom-client'));
  } catch {
    return undefined; // prom-client is an optional peer: no metrics without it
  }
  const registry = new Registry();
  const runtime = await createRuntimeMetrics({ executor, registry });
  const mesh = await createMeshMetrics({ node, registry });
  return { handler: metricsHandler(registry, path), close: () => (runtime.close(), mesh.close()) };
}

/**
 * The device worker script of the `@epara/runtime` this package depends on (`dist/device-worker.js` beside its
 * entry point), or `undefined` when it is not found there (the runtime then looks for its own). The `epara` command
 * bundles the runtime's code into its own files, from where the runtime's own search (up from its module to its
 * package) does not reach the runtime's package.
 */
function runtimeWorkerUrl(): URL | undefined {
  try {
    const worker = join(dirname(createRequire(import.meta.url).resolve('@epara/runtime')), 'device-worker.js');
    return existsSync(worker) ? pathToFileURL(worker) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The live dashboard on the gateway's HTTP port. A node that authenticates its peers shows its cluster only
 * behind a token: without `dashboard.tokenEnv` set to one, the page is not served.
 *
 * @throws EparaError `INVALID_OPTIONS` when `tokenEnv` names an unset variable or a token under 16 characters.
 */
async function startDashboard(config: ServeConfig, node: MeshNode, env: Readonly<Record<string, string | undefined>>): Promise<Dashboard | undefined> {
  const d = config.dashboard;
  if (!d.enabled || config.gateway.http === false) return undefined;
  const token = readDashboardToken(config, env);
  if (token === undefined && node.authenticatesPeers) return undefined;
  // Loaded only to serve it (the `epara` command leaves it out of its bundle: it reads its page's assets beside its module).
  const { createDashboard } = await import('@epara/dashboard');
  if (token !== undefined) return createDashboard({ node, prefix: d.path, auth: { token }, services: config.services.map(serviceSpec) });
  return createDashboard({ node, prefix: d.path, auth: false, services: config.services.map(serviceSpec) });
}
