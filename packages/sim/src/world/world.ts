import { createManualClock, createSeededRandom, type ManualClock, type Random } from '@epara/core';
import { EdfQueue, LatencyGuard } from '@epara/core/scheduling';
import { createEventQueue, type EventQueue } from '../engine/event-queue.js';
import type { SimServer } from '../model/hardware.js';
import type { Network } from '../model/network.js';
import { serviceDeadlineMs, type SimService } from '../model/services.js';
import { MetricsCollector } from '../metrics/collector.js';
import type { StreamSession } from '../workload/workload.js';
import { nextArrivalMs } from '../workload/workload.js';
import { EV } from './events.js';
import { enqueue, kickDevice, kickInstance, onDeviceEvent } from './execution.js';
import type { SimSystem, World } from './world-api.js';
import { RequestHeap, type DropReason, type RunningBatch, type SimDevice, type SimInstance, type SimRequest, type SimStream } from './types.js';
import { applyFailure, type FailureEvent } from './failures.js';
import { instanceModes, pickOrigin, type OriginTable, type WorldInit } from './world-init.js';

export type { CompiledTrace, OriginTable, WorldInit } from './world-init.js';
export type { World } from './world-api.js';
export { pickOrigin } from './world-init.js';

/** Shared empty visited list (a request gets its own array on its first forward, never writes this one). */
const NO_VISIT_IDS: string[] = [];

/**
 * The simulated edge cloud ({@link World}): hardware, network, workload, execution and metrics, under the core
 * virtual clock. Workload randomness has its own seeded stream so every system sees exactly the same requests.
 */
export class SimWorld implements World {
  readonly queue: EventQueue = createEventQueue(4096);
  readonly clock: ManualClock = createManualClock(0);
  /** Randomness the system may use (sync noise and loss, tie breaks): separate from the workload's. */
  readonly systemRandom: Random;
  readonly #workRandom: Random;
  readonly servers: readonly SimServer[];
  readonly services: readonly SimService[];
  readonly network: Network;
  /** Server ids by index (`servers[i].spec.id`), flat for hot paths. */
  readonly serverIds: readonly string[];
  readonly serverIndex: ReadonlyMap<string, number>;
  readonly devices: SimDevice[] = [];
  readonly devicesByServer: SimDevice[][];
  readonly serverAlive: boolean[];
  readonly instancesByServer: SimInstance[][];
  readonly metrics: MetricsCollector;
  readonly system: SimSystem;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly earlyWindowDemand: readonly (readonly number[])[];
  readonly earlyWindowSlackMs: readonly (readonly (readonly number[])[])[];
  readonly interference: number;
  readonly freeBatches: RunningBatch[] = [];
  /** Instances by mode per service, taken when the workload stops (see `instanceModes`). */
  modesAtEnd: Record<string, string> = {};
  /** Loads refused because the device memory could not hold them. */
  loadFailures = 0;
  #init: WorldInit;
  #origins: OriginTable;
  #nextRequestId = 0;
  #nextInstanceId = 0;
  #traceCursor = 0;
  memorySamples = 0;
  memoryUsedSum = 0;

  constructor(init: WorldInit) {
    this.#init = init;
    this.servers = init.servers;
    this.serverIds = init.servers.map((s) => s.spec.id);
    this.serverIndex = new Map(init.servers.map((s) => [s.spec.id, s.index]));
    this.services = init.services;
    this.network = init.network;
    this.system = init.system;
    this.durationMs = init.durationMs;
    this.warmupMs = init.warmupMs;
    this.earlyWindowDemand = init.earlyWindowDemand;
    this.earlyWindowSlackMs = init.earlyWindowSlackMs ?? [];
    this.interference = init.interference;
    this.systemRandom = createSeededRandom(init.seed ^ 0x5bd1e995);
    this.#workRandom = createSeededRandom(init.seed);
    this.metrics = new MetricsCollector(init.services.length, init.warmupMs);
    this.serverAlive = init.servers.map(() => true);
    this.instancesByServer = init.servers.map(() => []);
    this.devicesByServer = init.servers.map((s) =>
      s.spec.devices.map((d, local) => {
        const dev: SimDevice = { index: this.devices.length, server: s.index, local, kind: d.kind, memoryBytes: d.memoryBytes, healthy: true, instances: [], running: [], lastUpdate: 0, version: 0, busyMs: 0 };
        this.devices.push(dev);
        return dev;
      }),
    );
    this.#origins = init.origins;
  }

  /** Schedules the workload, failures and sampling, then lets the system start. */
  start(): void {
    const { sources, trace, sessions, failures } = this.#init;
    sources.forEach((s, i) => this.queue.push(nextArrivalMs(s, 0, this.#workRandom), EV.SOURCE, i));
    if (trace !== null && trace.times.length > 0) this.queue.push(trace.times[0]!, EV.TRACE, 0);
    for (const s of sessions) if (s.startMs < this.durationMs) this.queue.push(s.startMs, EV.STREAM_START, 0, s);
    for (const f of failures) this.queue.push(f.atMs, EV.FAILURE, 0, f);
    this.queue.push(this.warmupMs, EV.SAMPLE, 0);
    this.queue.push(Math.max(0, this.durationMs - 1), EV.SNAPSHOT, 0);
    this.system.start(this);
  }

  handle(kind: number, a: number, ref: unknown): void {
    switch (kind) {
      case EV.SOURCE: return this.#onSource(a);
      case EV.TRACE: return this.#onTrace();
      case EV.STREAM_START: return this.#onStreamStart(ref as StreamSession);
      case EV.FRAME: return this.#onFrame(ref as SimStream);
      case EV.AT_SERVER: return this.#onAtServer(a, ref as SimRequest);
      case EV.DEVICE: return onDeviceEvent(this, this.devices[a]!, ref as number);
      case EV.TIMER: {
        const inst = ref as SimInstance;
        if (inst.timerVersion === a) {
          inst.timerAt = -1;
          kickInstance(this, inst);
        }
        return;
      }
      case EV.READY: return this.#onReady(ref as SimInstance);
      case EV.FAILURE: return applyFailure(this, ref as FailureEvent);
      case EV.SAMPLE: return this.#onSample();
      case EV.SNAPSHOT: return void (this.modesAtEnd = instanceModes(this));
      default: return this.system.onEvent(this, kind, a, ref);
    }
  }

  /** Schedules an event (systems use kinds ≥ `EV.SYSTEM`). */
  schedule(atMs: number, kind: number, a: number, ref?: unknown): void {
    this.queue.push(atMs, kind, a, ref);
  }

  /** Sends a request from `from` to `to` over the network (one offload hop). */
  forward(req: SimRequest, from: number, to: number): void {
    req.hops++;
    // The request owns its list after its first forward (nothing else keeps it): later hops append in place.
    if (req.visitedIds.length === 0) req.visitedIds = [this.serverIds[from]!];
    else req.visitedIds.push(this.serverIds[from]!);
    this.queue.push(this.network.send(from, to, this.payloadOf(req), this.clock.now()), EV.AT_SERVER, to, req);
  }

  /** Upload bytes of a request: the service's payload, or for LLM services 4 bytes per prompt token plus framing. */
  payloadOf(req: SimRequest): number {
    return req.promptTokens > 0 ? 512 + 4 * req.promptTokens : this.services[req.service]!.payloadBytes;
  }

  /**
   * Delivers a finished item's result from `server` to its client over the contended links, through the access
   * server the client sent it by; a result that reaches a failed server is lost with it (`PEER_UNAVAILABLE`), as
   * a request is (its client, failed over to another access server, no longer listens there).
   */
  deliver(req: SimRequest, server: number): void {
    if (!this.serverAlive[req.origin]) return this.dropItem(req, 'PEER_UNAVAILABLE');
    const bytes = req.outputTokens > 0 ? 256 + 4 * req.outputTokens : this.services[req.service]!.responseBytes;
    const now = this.clock.now();
    const atAccess = server === req.origin ? now : this.network.send(server, req.origin, bytes, now);
    this.metrics.complete(req, this.network.sendDown(req.origin, bytes, atAccess));
  }

  /** Queues a request at an instance. */
  enqueue(inst: SimInstance, req: SimRequest): void {
    enqueue(this, inst, req);
  }

  /** Settles an item without a result. */
  dropItem(req: SimRequest, reason: DropReason): void {
    this.metrics.drop(req, req.stream !== null && reason === 'DEADLINE_EXCEEDED' ? 'STALE_FRAME' : reason);
  }

  /** Creates an instance on devices of a server; `warm` instances are ready at once, others load first. */
  createInstance(init: Pick<SimInstance, 'service' | 'server' | 'devices' | 'plan' | 'policy'>, warm: boolean): SimInstance | null {
    const svc = this.services[init.service]!;
    // Device memory is enforced at load: a model that does not fit next to what the device holds fails to load.
    for (const d of init.devices) {
      if (!d.healthy || this.memoryUsed(d) + init.plan.memoryPerDeviceBytes > d.memoryBytes) {
        this.loadFailures++;
        return null;
      }
    }
    // Every field is written out, not spread from `init`: V8 gives an object built by a spread a map outside the
    // literal's transition tree, and turns it into a dictionary the first time one of its fields changes
    // representation (a small integer field first given a fraction, `recentArrivals` at the second enqueue): every
    // read of an instance on the hot paths was then a hash lookup, and every number written a fresh heap number.
    const inst: SimInstance = {
      id: this.#nextInstanceId++, service: init.service, svc, server: init.server, devices: init.devices, profile: svc.spec.profiles[init.devices[0]!.kind]!, plan: init.plan, policy: init.policy,
      status: warm ? 'ready' : 'loading', queue: init.policy.kind === 'deadline' ? new EdfQueue<SimRequest>() : new RequestHeap(), guard: init.policy.kind === 'deadline' && init.policy.learnedGuard === true ? new LatencyGuard(init.policy.guardOptions) : null,
      freeAt: [], running: 0, timerVersion: 0, timerAt: -1, pinnedHz: 0, arrivals: 0, measuredRate: -1, recentArrivals: -1, recentArrivalsAt: 0, packHz: -1, packN: 0,
    };
    for (const d of inst.devices) d.instances.push(inst);
    this.instancesByServer[inst.server]!.push(inst);
    if (!warm) this.queue.push(this.clock.now() + (svc.spec.loadTimeMs ?? 0), EV.READY, 0, inst);
    return inst;
  }

  /** Bytes of a device held by its instances (loading, ready or draining). */
  memoryUsed(d: SimDevice): number {
    let used = 0;
    for (const inst of d.instances) used += inst.plan.memoryPerDeviceBytes;
    return used;
  }

  /** Stops routing to an instance; it finishes its queue, then frees its devices. */
  drainInstance(inst: SimInstance): void {
    if (inst.status === 'gone' || inst.status === 'draining') return;
    if (inst.status === 'loading') return this.#remove(inst);
    inst.status = 'draining';
    this.system.onInstanceChange(this, inst);
    kickInstance(this, inst);
    this.maybeFree(inst);
  }

  /** Frees a draining instance once it has no queued or running work. */
  maybeFree(inst: SimInstance): void {
    if (inst.status === 'draining' && inst.queue.size === 0 && inst.running === 0) this.#remove(inst);
  }

  /** Removes an instance at once, dropping what it still holds with `reason`. */
  killInstance(inst: SimInstance, reason: DropReason): void {
    for (const r of inst.queue.drain()) this.dropItem(r, reason);
    this.#remove(inst);
  }

  #remove(inst: SimInstance): void {
    if (inst.status === 'gone') return;
    inst.status = 'gone';
    for (const d of inst.devices) d.instances = d.instances.filter((x) => x !== inst);
    const list = this.instancesByServer[inst.server]!;
    list.splice(list.indexOf(inst), 1);
    this.system.onInstanceChange(this, inst);
  }

  #onReady(inst: SimInstance): void {
    if (inst.status !== 'loading') return;
    inst.status = 'ready';
    this.system.onInstanceChange(this, inst);
    kickInstance(this, inst);
  }

  /** The access server a client of `origin` reaches: itself, or the next alive server if it is down. */
  accessServer(origin: number): number {
    const n = this.servers.length;
    for (let i = 0; i < n; i++) {
      const s = (origin + i) % n;
      if (this.serverAlive[s]) return s;
    }
    return origin;
  }

  #newRequest(service: number, origin: number, stream: SimStream | null, promptTokens = -1, outputTokens = -1): SimRequest {
    const svc = this.services[service]!;
    const now = this.clock.now();
    const llm = svc.llm;
    const rnd = this.#workRandom;
    const prompt = llm ? (promptTokens >= 0 ? promptTokens : Math.round(llm.promptTokensMean * (1 - llm.spread + 2 * llm.spread * rnd.next()))) : 0;
    const out = llm ? (outputTokens >= 0 ? Math.max(1, outputTokens) : Math.max(1, Math.round(llm.outputTokensMean * (1 - llm.spread + 2 * llm.spread * rnd.next())))) : 0;
    const id = this.#nextRequestId++;
    const req: SimRequest = {
      id, seq: id, priority: 0, service, origin: this.accessServer(origin), emitAt: now, dueAt: now + serviceDeadlineMs(svc.spec),
      promptTokens: prompt, outputTokens: out, stream, hops: 0, visitedIds: NO_VISIT_IDS, enqueuedAt: 0, deadline: 0, settled: false,
    };
    this.metrics.offer(req);
    return req;
  }

  #send(req: SimRequest): void {
    const skips = this.system.skipsUpload;
    if (skips !== undefined) {
      const now = this.clock.now();
      if (skips.call(this.system, this, req, now + this.network.upBacklogMs(req.origin, now) + this.network.uplinkMs(req.origin, this.payloadOf(req)))) return this.dropItem(req, 'DEADLINE_INFEASIBLE');
    }
    const at = this.network.sendUp(req.origin, this.payloadOf(req), this.clock.now(), req.dueAt);
    // The client's access link is so backed up that the upload could not arrive in time: it skips the item.
    if (at < 0) return this.dropItem(req, 'DEADLINE_INFEASIBLE');
    this.queue.push(at, EV.AT_SERVER, req.origin, req);
  }

  #pickOrigin(): number {
    return pickOrigin(this.#origins, this.clock.now(), this.#workRandom);
  }

  #onSource(i: number): void {
    const src = this.#init.sources[i]!;
    this.#send(this.#newRequest(src.service, this.#pickOrigin(), null));
    const next = nextArrivalMs(src, this.clock.now(), this.#workRandom);
    if (next < this.durationMs) this.queue.push(next, EV.SOURCE, i);
  }

  #onTrace(): void {
    const t = this.#init.trace!;
    const now = this.clock.now();
    while (this.#traceCursor < t.times.length && t.times[this.#traceCursor]! <= now) {
      const c = this.#traceCursor++;
      const origin = t.origins[c]!;
      this.#send(this.#newRequest(t.services[c]!, origin >= 0 ? origin : this.#pickOrigin(), null, t.promptTokens[c]!, t.outputTokens[c]!));
    }
    if (this.#traceCursor < t.times.length && t.times[this.#traceCursor]! < this.durationMs) this.queue.push(t.times[this.#traceCursor]!, EV.TRACE, 0);
  }

  #onStreamStart(s: StreamSession): void {
    const stream: SimStream = { id: s.id, service: s.service, origin: this.accessServer(s.origin), startMs: s.startMs, endMs: Math.min(s.endMs, this.durationMs), rateHz: s.rateHz, seq: 0, pinned: null, ended: false };
    this.system.onStreamStart(this, stream);
    this.queue.push(this.clock.now(), EV.FRAME, 0, stream);
  }

  #onFrame(stream: SimStream): void {
    const now = this.clock.now();
    if (now >= stream.endMs) {
      stream.ended = true;
      this.system.onStreamEnd(this, stream);
      return;
    }
    if (!this.serverAlive[stream.origin]) stream.origin = this.accessServer(stream.origin);
    stream.seq++;
    const frame = this.#newRequest(stream.service, stream.origin, stream);
    if (this.system.holdsFrame?.(this, stream) === true) this.dropItem(frame, 'OVERLOADED');
    else this.#send(frame);
    this.queue.push(now + 1000 / stream.rateHz, EV.FRAME, 0, stream);
  }

  #onAtServer(server: number, req: SimRequest): void {
    if (!this.serverAlive[server]) return this.dropItem(req, 'PEER_UNAVAILABLE');
    this.system.onRequest(this, req, server);
  }

  #onSample(): void {
    let used = 0;
    let total = 0;
    for (const d of this.devices) {
      if (!d.healthy) continue;
      total += d.memoryBytes;
      used += this.memoryUsed(d);
    }
    if (total > 0) {
      this.memoryUsedSum += Math.min(1, used / total);
      this.memorySamples++;
    }
    if (this.clock.now() + 1000 < this.durationMs) this.queue.push(this.clock.now() + 1000, EV.SAMPLE, 0);
  }

  /** Lets every device of a server try to start work (after a recovery or a placement). */
  kickServer(server: number): void {
    for (const d of this.devicesByServer[server]!) kickDevice(this, d);
  }
}
