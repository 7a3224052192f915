import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { LOG_LEVELS } from './serve-logger.js';
import { zodToJsonSchema } from 'zod-to-json-schema';

const port = z.number().int().min(0).max(65535);
const listen = z.object({ host: z.string().min(1).default('127.0.0.1'), port }).strict();
const tensorType = z.enum(['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool', 'float16', 'int16', 'uint16', 'uint32', 'uint64']);

/** A secret read from the environment or a file (never written in the config itself). */
const secret = z.union([
  z.object({ env: z.string().min(1).describe('name of an environment variable holding the key') }).strict(),
  z.object({ file: z.string().min(1).describe('path of a file holding the key (trailing newline ignored)') }).strict(),
]);

/** A positive number that is finite: YAML's `.inf` (or 1e400) parses to Infinity, which no deadline or rate can be. */
const positive = (): z.ZodNumber => z.number().positive().finite();

/** A peer's mesh address: what the WebSocket transport dials (anything else was dialled in silence for ever). */
const meshUrl = z
  .string()
  .url()
  .refine((u) => /^wss?:\/\//i.test(u), 'a ws:// or wss:// address, e.g. ws://10.0.0.2:7400/epara');

const slo = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('latency'), deadlineMs: positive() }).strict(),
  z.object({ kind: z.literal('frequency'), rateHz: positive(), stalenessMs: positive() }).strict(),
]);

/** One service of the model repository: the runtime's service options (model, SLO, inputs, devices, batching). */
const service = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
      // `.` and `..` are path segments a client resolves away: /v2/models/../infer is sent as /v2/infer.
      .refine((id) => !/^\.+$/.test(id), 'not only dots: no URL can name such a model')
      .describe('service id; also the model name on the protocol'),
    model: z.string().min(1).describe('ONNX file, relative to the config file'),
    versions: z.array(z.string().min(1)).min(1).default(['1']).describe('versions reported in the model metadata'),
    sensitivity: z.enum(['latency', 'frequency']),
    slo,
    devices: z.array(z.string().min(1)).default([]).describe('devices of this node to load an instance on at start; none: served by peers'),
    inputs: z
      .record(
        z
          .object({
            type: tensorType.optional(),
            dims: z.array(z.number().int().min(1).nullable()).optional(),
            batchAxis: z.number().int().min(0).nullable().optional(),
            sampleDims: z
              .array(z.number().int().min(1))
              .optional()
              .describe('shape of the one-item sample the model is profiled with at load (a typical size for its free dims; default 1 each): larger requests are estimated from it'),
          })
          .strict(),
      )
      .optional()
      .describe('input expectations overriding the model (null dims: any size)'),
    outputNames: z.array(z.string()).optional(),
    maxBatch: z.number().int().min(1).optional().describe('largest batch the profiler measures (bounds batching)'),
    plan: z.object({ batchSize: z.number().int().min(1).optional() }).strict().optional().describe('batching override'),
    memoryBytes: z.number().int().min(0).optional(),
    maxResponseBytes: z.number().int().min(1).optional().describe("largest output one request may get, bytes (default: executor.maxResponseBytes); larger: OUT_OF_MEMORY, before the outputs reach the host"),
    networkBudgetMs: z.number().min(0).finite().optional(),
    weight: positive().optional().describe('relative importance in placement'),
  })
  .strict();

const device = z
  .object({
    id: z.string().min(1),
    provider: z.enum(['cpu', 'cuda']).default('cpu'),
    ordinal: z.number().int().min(0).optional().describe('the CUDA device index'),
    threads: z.number().int().min(1).default(1).describe("intra-op threads of the device's sessions: at most the machine's cores"),
    memoryBytes: z.number().positive().optional(),
    kind: z.enum(['cpu', 'cuda']).optional().describe('deprecated: the former name of provider'),
    deviceId: z.number().int().min(0).optional().describe('deprecated: the former name of ordinal'),
  })
  .strict()
  // Files written before the rename keep working: `kind` was the provider, `deviceId` the ordinal.
  .transform(({ kind, deviceId, ...d }) => {
    const ordinal = d.ordinal ?? deviceId;
    return { ...d, provider: kind ?? d.provider, ...(ordinal !== undefined ? { ordinal } : {}) };
  });

/** The schema of an `epara serve` config file (YAML or JSON). */
export const serveConfigSchema = z
  .object({
    node: z
      .object({
        id: z.string().min(1).describe('server id; orders the ring and the leader election'),
        listen: listen.default({ host: '127.0.0.1', port: 7400 }).describe('mesh transport (WebSocket) listener'),
        advertise: meshUrl.optional().describe('address peers dial, e.g. ws://10.0.0.1:7400/epara (needed when binding 0.0.0.0)'),
        seeds: z.array(meshUrl).default([]).describe('mesh addresses of peers to join through, e.g. ws://10.0.0.2:7400/epara'),
        joinTimeoutMs: z.number().min(0).default(5000).describe('with seeds: not ready until a peer is seen or this long after start (then it warns that no peer joined and serves alone)'),
        syncPeriodMs: z.number().positive().max(2_147_483_647).optional().describe('view gossip period (at most 2^31 - 1 ms: a longer timer fires every millisecond)'),
        hopLimit: z.number().int().min(0).optional(),
        placement: z.boolean().default(false).describe('run the placement coordinator (services then move between nodes)'),
      })
      .strict(),
    security: z.union([
      z
        .object({
          psk: secret,
          tls: z
            .object({ key: z.string().optional(), cert: z.string().optional(), ca: z.string().optional(), requestCert: z.boolean().optional(), rejectUnauthorized: z.boolean().optional() })
            .strict()
            .optional()
            .describe('PEM files for wss:// between nodes'),
        })
        .strict(),
      z.object({ insecure: z.literal(true) }).strict(),
    ]),
    // The executor needs a device even when every service is served by peers (it then loads nothing).
    devices: z.array(device).min(1, 'at least one device: the executor needs one, even on a node whose services are all served by peers').default([]),
    executor: z
      .object({
        launchWhenIdle: z.boolean().default(true).describe('launch a partial batch as soon as a device idles (Triton max_queue_delay 0); false: wait for the batch to fill while deadlines allow'),
        maxQueue: z.number().int().min(1).optional().describe('queued items per instance before OVERLOADED'),
        maxResponseBytes: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("largest output one request may get, bytes, for services that set none (default: gateway.maxBodyBytes, the largest request: a response may be as large); larger: OUT_OF_MEMORY"),
        profiling: z
          .object({
            warmup: z.number().int().min(0).default(1),
            repetitions: z.number().int().min(1).default(3),
            warmShapesMs: z
              .number()
              .min(0)
              .finite()
              .optional()
              .describe("host time each instance may spend at load running every batch size it may launch (onnxruntime's first run at a new shape is slow), ms (default 1000); 0 turns it off"),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    services: z.array(service).min(1),
    gateway: z
      .object({
        http: z.union([listen, z.literal(false)]).default({ host: '127.0.0.1', port: 8000 }),
        grpc: z.union([listen, z.literal(false)]).default({ host: '127.0.0.1', port: 8001 }),
        maxBodyBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
        maxBatchItems: z.number().int().min(1).default(1024).describe('largest batch one request may carry (items split along the batch axis); larger: 400 INVALID_INPUT'),
        maxConnections: z.number().int().min(1).default(10_000).describe('most connections open at once on each of the HTTP and gRPC ports; more: 503 OVERLOADED / UNAVAILABLE and closed (keep ulimit -n above twice this)'),
        requestTimeoutMs: z.number().int().min(1).max(2_147_483_647).default(300_000).describe('a request not fully received by then: HTTP 408 / gRPC DEADLINE_EXCEEDED'),
        idleTimeoutMs: z.number().int().min(1).max(2_147_483_647).default(300_000).describe('the longest a request or its answer may make no progress: a body (HTTP) or message (gRPC) that stops arriving this long is refused (408 / DEADLINE_EXCEEDED), an answer the client stops reading this long has its connection (HTTP) or stream (gRPC) closed, and a gRPC connection without calls or traffic this long is closed; slow but progressing clients and running models are not cut'),
      })
      .strict()
      .default({}),
    metrics: z.object({ enabled: z.boolean().default(true), path: z.string().startsWith('/').default('/metrics') }).strict().default({}),
    dashboard: z
      .object({
        enabled: z.boolean().default(true).describe('serve the live cluster page on the HTTP port'),
        path: z.string().startsWith('/').default('/dashboard'),
        tokenEnv: z.string().min(1).optional().describe('environment variable holding the access token (at least 16 characters); required when the node has a PSK or TLS client auth'),
      })
      .strict()
      .default({}),
    log: z.object({ level: z.enum(LOG_LEVELS).default('info').describe('JSON lines on stderr at this level and above') }).strict().default({}),
    drainTimeoutMs: z.number().min(0).max(2_147_483_647).default(10_000).describe('SIGTERM: longest wait for accepted work before exit (at most 2^31 - 1 ms, the longest a timer waits)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const deviceIds = new Set<string>();
    c.devices.forEach((d, i) => {
      if (deviceIds.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device ${d.id} is declared twice` });
      deviceIds.add(d.id);
      if (d.threads > cores()) ctx.addIssue({ code: 'custom', path: ['devices', i, 'threads'], message: threadsMessage(d.threads) });
    });
    samePorts(c, ctx);
    routePaths(c, ctx);
    advertised(c, ctx);
    const ids = new Set<string>();
    c.services.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['services', i, 'id'], message: `service ${s.id} is declared twice` });
      ids.add(s.id);
      s.devices.forEach((d, j) => {
        if (!c.devices.some((x) => x.id === d)) ctx.addIssue({ code: 'custom', path: ['services', i, 'devices', j], message: `no device ${d} in devices` });
      });
      if (s.slo.kind !== s.sensitivity) ctx.addIssue({ code: 'custom', path: ['services', i, 'slo', 'kind'], message: `slo.kind must match sensitivity (${s.sensitivity})` });
    });
  });

type Ctx = z.RefinementCtx;

/** The cores this process may run on (the bound of a device's `threads`). */
const cores = (): number => availableParallelism();

/**
 * A device's intra-op threads run at once only on as many cores as the machine has: more only take turns on them
 * (every batch then waits for its slowest thread to get a core back). `threads: 100000` was accepted, and the
 * first model's load on that device had not finished after three minutes, its memory growing (500 MB in 30 s).
 */
function threadsMessage(threads: number): string {
  const n = cores();
  return `${threads} threads on a machine of ${n} core${n === 1 ? '' : 's'}: at most ${n} (a device's intra-op threads run at once only on as many cores as there are; more only take turns)`;
}
interface ParsedListeners {
  node: { listen: { host: string; port: number } };
  gateway: { http: { host: string; port: number } | false; grpc: { host: string; port: number } | false };
}

/** Hosts that may collide: equal, or one of them every interface. */
const overlaps = (a: string, b: string): boolean => a === b || [a, b].some(unspecified);

/** Two listeners of one server on one fixed port: the second failed at start (after the models loaded, for the mesh). */
function samePorts(c: ParsedListeners, ctx: Ctx): void {
  const listeners: { path: (string | number)[]; name: string; at: { host: string; port: number } }[] = [];
  if (c.gateway.http) listeners.push({ path: ['gateway', 'http', 'port'], name: 'gateway.http', at: c.gateway.http });
  if (c.gateway.grpc) listeners.push({ path: ['gateway', 'grpc', 'port'], name: 'gateway.grpc', at: c.gateway.grpc });
  listeners.push({ path: ['node', 'listen', 'port'], name: 'node.listen', at: c.node.listen });
  listeners.forEach((l, i) => {
    const other = listeners.slice(0, i).find((o) => o.at.port !== 0 && o.at.port === l.at.port && overlaps(o.at.host, l.at.host));
    if (other) ctx.addIssue({ code: 'custom', path: l.path, message: `port ${l.at.port} is already ${other.name}'s: each listener needs its own port (or 0: any free one)` });
  });
}

const unspecified = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]';

/**
 * A mesh listener on every interface is dialled at the address it advertises: without one it advertised
 * ws://0.0.0.0:…, which a peer dials as itself. An advertised unspecified address is the same mistake.
 */
function advertised(c: { node: { listen: { host: string; port: number }; advertise?: string | undefined } }, ctx: Ctx): void {
  const { listen, advertise } = c.node;
  if (advertise === undefined) {
    if (unspecified(listen.host)) ctx.addIssue({ code: 'custom', path: ['node', 'advertise'], message: `node.listen binds ${listen.host}: say which address peers dial, e.g. advertise: ws://10.0.0.1:${listen.port || 7400}/epara` });
    return;
  }
  if (URL.canParse(advertise) && unspecified(new URL(advertise).hostname)) ctx.addIssue({ code: 'custom', path: ['node', 'advertise'], message: `${advertise}: peers dial this address; give the machine's name or IP, not ${new URL(advertise).hostname}` });
}

interface ParsedRoutes {
  gateway: { http: unknown };
  metrics: { enabled: boolean; path: string };
  dashboard: { enabled: boolean; path: string };
}

/** The dashboard's and the metrics' paths on the HTTP port: neither may hide the other or the protocol's /v2 routes. */
function routePaths(c: ParsedRoutes, ctx: Ctx): void {
  const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(prefix === '/' ? prefix : `${prefix}/`);
  const routes = [
    ...(c.metrics.enabled ? [{ field: 'metrics', path: c.metrics.path }] : []),
    ...(c.dashboard.enabled ? [{ field: 'dashboard', path: c.dashboard.path }] : []),
  ];
  for (const r of routes) {
    if (r.path !== '/' && (r.path.endsWith('/') || r.path.includes('//'))) ctx.addIssue({ code: 'custom', path: [r.field, 'path'], message: `${r.path}: no trailing or doubled slash` });
    else if (under(r.path, '/v2')) ctx.addIssue({ code: 'custom', path: [r.field, 'path'], message: `${r.path} would hide the protocol's routes (/v2/…): choose another path` });
    else if (r.field === 'dashboard' && r.path === '/') ctx.addIssue({ code: 'custom', path: [r.field, 'path'], message: 'the dashboard needs a path of its own (its page, script and event stream live under it), e.g. /dashboard' });
  }
  const [metrics, dashboard] = [routes.find((r) => r.field === 'metrics'), routes.find((r) => r.field === 'dashboard')];
  if (metrics && dashboard && under(metrics.path, dashboard.path)) ctx.addIssue({ code: 'custom', path: ['dashboard', 'path'], message: `${dashboard.path} would hide the metrics at ${metrics.path}: choose another path` });
}

/** A validated config (defaults filled). */
export type ServeConfig = z.infer<typeof serveConfigSchema>;
/** One service of a {@link ServeConfig}. */
export type ServeServiceConfig = ServeConfig['services'][number];

/** The config schema as JSON Schema (draft 7), for editors (`epara serve --schema`). */
export function serveConfigJsonSchema(): object {
  return zodToJsonSchema(serveConfigSchema, { name: 'EparaServeConfig', $refStrategy: 'none' });
}
