import { createSeededRandom, invalidOption, systemClock } from '@epara/core';
import { monotonicClock } from '../util/monotonic-clock.js';
import type { Clock, DeviceSpec, LocalExecutor, NetworkModel, Random, ServerId, ServiceSpec } from '@epara/core';
import { resolveCoordinatorOptions } from '../placement/coordinator-options.js';
import type { CoordinatorOptions, ResolvedCoordinatorOptions } from '../placement/coordinator-options.js';
import type { OffloaderFactory } from '../offload/offloader.js';
import type { ProtocolLimits } from '../protocol/protocol-limits.js';
import type { RateLimiterOptions } from '../security/rate-limiter.js';
import type { SyncFaults } from '../sync/sync-faults.js';
import { DEFAULT_DEAD_RETENTION } from '../sync/view-store.js';
import type { ViewSyncFactory } from '../sync/view-sync.js';
import type { Transport } from '../transport/transport.js';
import { silentLogger } from '@epara/core';
import { isLogger } from '@epara/core/internal';
import type { Logger } from '@epara/core';
import { createSystemTimers } from '@epara/core';
import type { Timers } from '@epara/core';

/** How peers prove they belong to the mesh. */
export type NodeSecurity =
  | {
      /** Pre-shared key (≥ 16 bytes) every node holds; peers run a challenge-response before any other message. */
      readonly psk: string | Uint8Array;
      /** Per-peer frame and byte rate limits; `false` disables them. @default the wire layer's defaults */
      readonly rateLimit?: RateLimiterOptions | false;
      /** Handshake deadline, ms. @default 5000 */
      readonly handshakeTimeoutMs?: number;
    }
  | {
      /** No authentication at all: tests and trusted single-host setups only. Must be spelled out. */
      readonly insecure: true;
    };

/** Options of {@link createNode}. */
export interface NodeOptions {
  /** This server's id; ids order the ring and elect the placement leader (lowest alive id). */
  readonly id: ServerId;
  readonly transport: Transport;
  /** The local executor port (e.g. `@epara/runtime`'s `createExecutor`); the host wires it in. */
  readonly executor: LocalExecutor;
  /** Required: `{ psk }`, or `{ insecure: true }` spelled out. */
  readonly security: NodeSecurity;
  /** Addresses of peers to join through. @default [] */
  readonly seeds?: readonly string[];
  /**
   * The address peers should dial to reach this node, announced in the cluster view (e.g. `ws://10.0.0.1:7400`
   * when the transport binds `0.0.0.0`, or a container's service name). @default the transport's own address
   */
  readonly advertise?: string;
  /** {@link MeshNode.drain} waits at most this for accepted work before closing, ms. @default 10000 */
  readonly drainTimeoutMs?: number;
  /** The service catalog (the same on every node): SLOs for default deadlines, specs for placement. @default [] */
  readonly services?: readonly ServiceSpec[];
  /** This server's devices, reported to the placement leader. Empty: this server is never given instances. @default [] */
  readonly devices?: readonly DeviceSpec[];
  /** Ring sync period, ms. @default 500 */
  readonly syncPeriodMs?: number;
  /** A successor that does not acknowledge a token within this is retried, then bypassed, ms. @default 250 */
  readonly syncAckTimeoutMs?: number;
  /** Sends to a ring successor before suspecting it (it is then bypassed for that token). @default 2 */
  readonly syncAttempts?: number;
  /**
   * A suspected successor is marked dead only when no sign of life from it (a message of its own, or a fresher
   * stamp of its entry carried by anyone's token) is younger than this, ms. Longer: fewer false deaths under
   * message loss, slower detection of a hung server (a crashed one is seen at once by its closed link).
   * @default max(3 × syncPeriodMs, 2 × syncAttempts × syncAckTimeoutMs)
   */
  readonly syncSuspicionMs?: number;
  /** Every this many rounds the token carries every entry in full. @default 20 */
  readonly fullSyncEvery?: number;
  /**
   * A server held dead is forgotten (dropped from the view, the tokens and the probes of the dead) once its
   * last stamp of its own is this old, ms; it is taken in again like a new server if it comes back. @default 3 600 000
   */
  readonly deadRetentionMs?: number;
  /** At most this many dead servers are kept in the view; past it the longest-silent are forgotten. @default 256 */
  readonly maxDeadEntries?: number;
  /**
   * Bytes allowed to wait unsent on one peer link. A peer that stops reading (its replies pile up) is answered
   * `OVERLOADED` past this and its link is cut, so it cannot grow this node's memory. @default 32 MiB
   */
  readonly maxLinkBufferedBytes?: number;
  /**
   * Backoff for a peer address whose handshake failed authentication (a wrong pre-shared key, a peer announcing
   * another id, a handshake that timed out): after the n-th failure in a row it is not dialed again for
   * `min(maxMs, initialMs × 2^(n-1))` times a random factor in [0.5, 1); an authenticated link with that peer,
   * in either direction, clears it. Other dial failures (refused, unreachable) are not backed off here.
   * @default { initialMs: 1000, maxMs: 30000 }
   */
  readonly authRetry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Injected sync errors (loss, delay, noise) for experiments. @default none */
  readonly syncFaults?: SyncFaults;
  /**
   * Replaces the ring with another view synchronization (e.g. NATS KV); ring messages from peers are then
   * ignored. @default the token ring
   */
  readonly viewSync?: ViewSyncFactory;
  /**
   * Offloads through this instead of transport links (e.g. NATS queue groups: `(ctx) => createNatsOffloader({
   * ...ctx, connection })`): called once with the node's id, executor, hop limit, guard, clock and logger. The
   * node keeps it serving the services its executor hosts (re-read every `syncPeriodMs`), forwards through
   * it when routing says forward or finds no instance in the view, and closes it on `close()`. Streams still
   * use links. @default links
   */
  readonly offloader?: OffloaderFactory;
  /**
   * Placement coordinator: `false` turns it off; otherwise core `placeServices` options plus `minDemandPerSec`,
   * `initialDelayMs` (first placement) and `demand` (the host's forecast). @default {}
   */
  readonly placement?: false | CoordinatorOptions;
  /** Placement period, ms. @default 30000 */
  readonly placementPeriodMs?: number;
  /** Most forwards per request. @default 2 */
  readonly hopLimit?: number;
  /** Margin before a deadline that routing keeps, ms. @default 1 */
  readonly guardMs?: number;
  /** One-way network time assumed to a peer when routing, ms (for peers {@link network} does not list). @default 1 */
  readonly hopDelayMs?: number;
  /**
   * What the host knows of its links: one-way delay (ms) and bandwidth (bytes/ms) to each peer. Request routing
   * and stream admission price a peer with them (a 20 ms peer is no longer taken for a 1 ms one), and a stream
   * pinned to a peer is opened there with its staleness budget less the round trip. Peers not listed cost
   * {@link hopDelayMs} and core routing's default bandwidth (125 000 bytes/ms). @default {}
   */
  readonly network?: NetworkModel;
  /**
   * How long an observation of a local request's real wait against the executor's estimate corrects later
   * estimates, ms; `0` turns the correction off. Routing scales the local estimate's wait by the median of the
   * recent ratios (at least 1, at most 4), and the view announces the instances' waits scaled the same way, so
   * neither this server nor its peers admit work on a figure that leaves out what the host adds to each batch
   * (see docs/mesh.md, "Measured waits"). @default 2000
   */
  readonly estimateCorrectionMs?: number;
  /**
   * Where a stream entering this server is pinned. `'local-first'`: a local instance with room, else the peer with
   * the lowest round trip. `'least-wait'`: the instance with room whose frames would wait least behind the other
   * services' work on its server, counting a peer's round trip (core's `admitStream` with `priceWaitBehind`; this
   * server on a tie, and again when every such peer refuses): a server busy with image batches sends its streams to
   * a quieter neighbour instead of stacking one-frame packs between them. @default 'local-first'
   */
  readonly streamAdmission?: 'local-first' | 'least-wait';
  /**
   * The rate capacity stream admission reads for this server's instances. `'executor'`: as the executor announces
   * it (the runtime's is its largest fresh pack at the hold time it learned on this host, net of the device's other
   * work). `'host-ratio'`: divided by how much longer than estimated this server's requests waited (the
   * {@link estimateCorrectionMs} observations) — for an executor that announces its profiles' capacity; over the
   * runtime's, the slowdown counted twice and a wait behind a burst of requests read as lost capacity, refusing
   * streams whole that the device had room for. @default 'executor'
   */
  readonly streamCapacity?: 'executor' | 'host-ratio';
  /** How long after its deadline a silent peer's request is given up, ms. @default 1000 */
  readonly responseGraceMs?: number;
  /** `close()` waits at most this for local work before rejecting it with `CLOSED`, ms. @default 5000 */
  readonly closeTimeoutMs?: number;
  /** Deadline budget for a submit without one when the service has no latency SLO, ms. @default 1000 */
  readonly defaultDeadlineMs?: number;
  /** The epoch this run announces; a restarted server must use a larger one. @default the clock's now */
  readonly epoch?: number;
  readonly limits?: ProtocolLimits;
  /**
   * The clock deadlines are on: `submit`'s `deadline`, the deadlines handed to the executor, and the view's
   * `updatedAt` as {@link MeshNode.view} shows it. It may follow the wall clock. @default systemClock
   */
  readonly clock?: Clock;
  /**
   * The clock that measures time between events — peer liveness (suspicion, death, probes), the age of view
   * entries, the sync timers' lateness, arrival rates, round trips — and so must never step: a wall-clock step
   * would otherwise declare live peers dead or keep dead ones alive. @default {@link clock} when that option
   * is given (a test's manual clock drives both), else the exported `monotonicClock`
   */
  readonly monotonicClock?: Clock;
  /** @default createSystemTimers() */
  readonly timers?: Timers;
  /** Random source for injected faults. @default seeded from the id */
  readonly random?: Random;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
}

/** Defaults of {@link NodeOptions}. */
export const NODE_DEFAULTS = {
  syncPeriodMs: 500,
  syncAckTimeoutMs: 250,
  syncAttempts: 2,
  fullSyncEvery: 20,
  deadRetentionMs: DEFAULT_DEAD_RETENTION.retentionMs,
  maxDeadEntries: DEFAULT_DEAD_RETENTION.maxDead,
  maxLinkBufferedBytes: 32 * 1024 * 1024,
  placementPeriodMs: 30_000,
  hopLimit: 2,
  guardMs: 1,
  hopDelayMs: 1,
  responseGraceMs: 1000,
  estimateCorrectionMs: 2000,
  streamAdmission: 'local-first',
  streamCapacity: 'executor',
  closeTimeoutMs: 5000,
  drainTimeoutMs: 10_000,
  defaultDeadlineMs: 1000,
  authRetry: { initialMs: 1000, maxMs: 30_000 },
} as const;

/** {@link NodeOptions} after defaults and validation. */
export type ResolvedNodeOptions = Required<Omit<NodeOptions, 'placement' | 'syncFaults' | 'limits' | 'viewSync' | 'offloader' | 'advertise' | 'authRetry'>> & {
  readonly advertise: string | undefined;
  readonly authRetry: { readonly initialMs: number; readonly maxMs: number };
  readonly viewSync: ViewSyncFactory | undefined;
  readonly offloader: OffloaderFactory | undefined;
  readonly placement: false | ResolvedCoordinatorOptions;
  readonly syncFaults: SyncFaults;
  readonly limits: ProtocolLimits;
};

/**
 * Fills and validates {@link NodeOptions}.
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field, its value and what was expected.
 */
export function resolveNodeOptions(o: NodeOptions): ResolvedNodeOptions {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  if (typeof o.id !== 'string' || o.id === '') invalidOption('id', o.id, 'a non-empty string');
  if (!o.transport || typeof o.transport.connect !== 'function') invalidOption('transport', o.transport, 'a Transport');
  const ex = o.executor as Partial<LocalExecutor> | undefined;
  if (!ex || typeof ex.submit !== 'function' || typeof ex.estimate !== 'function' || typeof ex.instances !== 'function') {
    invalidOption('executor', o.executor, 'a LocalExecutor');
  }
  resolveSecurity(o.security);
  const d = NODE_DEFAULTS;
  const clock = o.clock ?? systemClock;
  if (typeof clock?.now !== 'function') invalidOption('clock', o.clock, 'a Clock with now()');
  const steady = o.monotonicClock ?? (o.clock === undefined ? monotonicClock : o.clock);
  if (typeof steady?.now !== 'function') invalidOption('monotonicClock', o.monotonicClock, 'a Clock with now()');
  const syncPeriodMs = positive('syncPeriodMs', o.syncPeriodMs ?? d.syncPeriodMs);
  const r: ResolvedNodeOptions = {
    ...o,
    seeds: o.seeds ?? [],
    services: o.services ?? [],
    devices: o.devices ?? [],
    syncPeriodMs,
    syncAckTimeoutMs: positive('syncAckTimeoutMs', o.syncAckTimeoutMs ?? d.syncAckTimeoutMs),
    syncAttempts: integer('syncAttempts', o.syncAttempts ?? d.syncAttempts, 1),
    syncSuspicionMs: positive('syncSuspicionMs', o.syncSuspicionMs ?? Math.max(3 * syncPeriodMs, 2 * (o.syncAttempts ?? d.syncAttempts) * (o.syncAckTimeoutMs ?? d.syncAckTimeoutMs))),
    fullSyncEvery: integer('fullSyncEvery', o.fullSyncEvery ?? d.fullSyncEvery, 1),
    deadRetentionMs: positive('deadRetentionMs', o.deadRetentionMs ?? d.deadRetentionMs),
    maxDeadEntries: integer('maxDeadEntries', o.maxDeadEntries ?? d.maxDeadEntries, 1),
    maxLinkBufferedBytes: integer('maxLinkBufferedBytes', o.maxLinkBufferedBytes ?? d.maxLinkBufferedBytes, 0),
    authRetry: resolveAuthRetry(o.authRetry),
    syncFaults: o.syncFaults ?? {},
    viewSync: o.viewSync,
    offloader: o.offloader,
    placement: o.placement === false ? false : resolveCoordinatorOptions(o.placement ?? {}, { services: o.services ?? [], syncPeriodMs }),
    placementPeriodMs: positive('placementPeriodMs', o.placementPeriodMs ?? d.placementPeriodMs),
    hopLimit: integer('hopLimit', o.hopLimit ?? d.hopLimit, 0),
    guardMs: nonNegative('guardMs', o.guardMs ?? d.guardMs),
    hopDelayMs: nonNegative('hopDelayMs', o.hopDelayMs ?? d.hopDelayMs),
    network: resolveNetwork(o.network),
    responseGraceMs: nonNegative('responseGraceMs', o.responseGraceMs ?? d.responseGraceMs),
    streamAdmission: oneOf('streamAdmission', o.streamAdmission ?? d.streamAdmission, ['local-first', 'least-wait'] as const),
    streamCapacity: oneOf('streamCapacity', o.streamCapacity ?? d.streamCapacity, ['executor', 'host-ratio'] as const),
    estimateCorrectionMs: nonNegative('estimateCorrectionMs', o.estimateCorrectionMs ?? d.estimateCorrectionMs),
    closeTimeoutMs: nonNegative('closeTimeoutMs', o.closeTimeoutMs ?? d.closeTimeoutMs),
    drainTimeoutMs: nonNegative('drainTimeoutMs', o.drainTimeoutMs ?? d.drainTimeoutMs),
    advertise: o.advertise,
    defaultDeadlineMs: positive('defaultDeadlineMs', o.defaultDeadlineMs ?? d.defaultDeadlineMs),
    epoch: integer('epoch', o.epoch ?? Math.max(1, Math.floor(clock.now())), 0),
    limits: o.limits ?? {},
    clock,
    monotonicClock: steady,
    timers: o.timers ?? createSystemTimers(clock),
    random: o.random ?? createSeededRandom(hash(o.id)),
    logger: o.logger ?? silentLogger,
  };
  if (!Array.isArray(r.seeds) || r.seeds.some((s) => typeof s !== 'string')) invalidOption('seeds', o.seeds, 'an array of addresses');
  if (r.advertise !== undefined && (typeof r.advertise !== 'string' || r.advertise === '')) invalidOption('advertise', o.advertise, 'a non-empty address string');
  if (r.viewSync !== undefined && typeof r.viewSync !== 'function') invalidOption('viewSync', o.viewSync, 'a function (context) => ViewSync');
  if (r.offloader !== undefined && typeof r.offloader !== 'function') invalidOption('offloader', o.offloader, 'a function (context) => Offloader');
  if (!isLogger(r.logger)) invalidOption('logger', o.logger, 'a pino-compatible logger');
  return r;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) invalidOption(field, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return value as T;
}

/** Checks each per-peer figure of {@link NodeOptions.network}: delays ≥ 0, bandwidths > 0, all finite. */
function resolveNetwork(n: NetworkModel | undefined): NetworkModel {
  if (n === undefined) return {};
  if (typeof n !== 'object' || n === null) invalidOption('network', n, 'an object { delayMs?, bandwidthBytesPerMs? }');
  const check = (field: 'delayMs' | 'bandwidthBytesPerMs', ok: (v: number) => boolean, want: string): void => {
    const row = n[field];
    if (row === undefined) return;
    if (typeof row !== 'object' || row === null) invalidOption(`network.${field}`, row, 'an object of numbers per peer id');
    for (const [peer, v] of Object.entries(row)) if (!(typeof v === 'number' && Number.isFinite(v) && ok(v))) invalidOption(`network.${field}.${peer}`, v, want);
  };
  check('delayMs', (v) => v >= 0, 'a finite number >= 0');
  check('bandwidthBytesPerMs', (v) => v > 0, 'a finite number > 0');
  return n;
}

function resolveSecurity(s: NodeSecurity | undefined): void {
  if (typeof s !== 'object' || s === null) invalidOption('security', s, '{ psk } or { insecure: true }');
  if ('insecure' in s) {
    if (s.insecure !== true) invalidOption('security.insecure', s.insecure, 'true');
    return;
  }
  const psk = (s as { psk?: unknown }).psk;
  const len = typeof psk === 'string' ? Buffer.byteLength(psk) : psk instanceof Uint8Array ? psk.byteLength : -1;
  if (len < 16) invalidOption('security.psk', typeof psk === 'string' || psk instanceof Uint8Array ? '<redacted>' : psk, 'a key of at least 16 bytes');
}

function resolveAuthRetry(a: NodeOptions['authRetry']): ResolvedNodeOptions['authRetry'] {
  if (a !== undefined && (typeof a !== 'object' || a === null)) invalidOption('authRetry', a, 'an object { initialMs, maxMs }');
  const initialMs = positive('authRetry.initialMs', a?.initialMs ?? NODE_DEFAULTS.authRetry.initialMs);
  const maxMs = positive('authRetry.maxMs', a?.maxMs ?? Math.max(initialMs, NODE_DEFAULTS.authRetry.maxMs));
  if (maxMs < initialMs) invalidOption('authRetry.maxMs', maxMs, `a number >= authRetry.initialMs (${initialMs})`);
  return { initialMs, maxMs };
}

function positive(field: string, v: number): number {
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) invalidOption(field, v, 'a positive finite number');
  return v;
}

function nonNegative(field: string, v: number): number {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) invalidOption(field, v, 'a finite number >= 0');
  return v;
}

function integer(field: string, v: number, min: number): number {
  if (!(Number.isInteger(v) && v >= min)) invalidOption(field, v, `an integer >= ${min}`);
  return v;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
