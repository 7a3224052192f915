import type { InstanceInfo, NetworkModel, ServerEntry } from '@epara/core';
import { indexedNetwork } from '@epara/core/internal';
import { estimateCompletion, profileMs } from '../world/device-model.js';
import type { SimInstance } from '../world/types.js';
import type { World } from '../world/world.js';
import type { PlacementDriver } from './placement-driver.js';

/**
 * What each EPARA server knows exactly about itself: its instances (queue waits, measured load), its
 * arrival rates, its device load, and the entry it writes into the ring. Rates are smoothed over ~10 s.
 */
export class ServerStateBook {
  /** Arrivals since the last entry, flat per (server, service): `server × services + service`. */
  readonly #counts: Float64Array;
  readonly #k: number;
  readonly #serviceIds: readonly string[];
  readonly #rates: Float64Array[];
  readonly #last: Float64Array;
  readonly #busy: Float64Array;
  readonly #load: Float64Array;
  readonly #versions: Int32Array;
  readonly #epochs: Int32Array;
  /** Per server, built on first use (preallocated: filling a sparse array in random order would make it a dictionary). */
  readonly #net: (NetworkModel | undefined)[];
  readonly #zoneIds = new Map<readonly number[], readonly string[]>();

  constructor(
    private readonly world: World,
    private readonly driverOf: (server: number) => PlacementDriver,
    private readonly zoneOf: (server: number) => readonly number[],
    /** Report each (non-LLM) instance's `nextRunMs` (the batch a newcomer would join) next to the full batch's `runMs`. */
    private readonly nextRun = false,
  ) {
    const n = world.servers.length;
    const k = world.services.length;
    this.#counts = new Float64Array(n * k);
    this.#k = k;
    this.#serviceIds = world.services.map((svc) => svc.spec.id);
    this.#rates = Array.from({ length: n }, (_, s) => Float64Array.from(world.services.map((_, j) => world.earlyWindowDemand[j]![s]!)));
    this.#last = new Float64Array(n);
    this.#busy = new Float64Array(n);
    this.#load = new Float64Array(n);
    this.#versions = new Int32Array(n);
    this.#epochs = new Int32Array(n);
    this.#net = new Array<NetworkModel | undefined>(n).fill(undefined);
  }

  /** Counts a request or frame entering the cluster at its access server. */
  countArrival(server: number, service: number): void {
    this.#counts[server * this.#k + service]!++;
  }

  /** Smoothed arrival rate per service at a server, items/s. */
  rates(server: number): Float64Array {
    return this.#rates[server]!;
  }

  /** A server restarted: it rejoins the ring with a new epoch. */
  bumpEpoch(server: number): void {
    this.#epochs[server]!++;
    this.#versions[server] = 0;
  }

  /** Exact info of one local instance (what `LocalExecutor.instances()` would report). */
  info(inst: SimInstance, now: number): InstanceInfo {
    const runMs = profileMs(inst, inst.plan.batchSize);
    // The batch a newcomer would join (the queue's remainder plus itself), as core estimateCompletion counts it.
    // Not for LLM instances: a small LLM batch runs as long as its longest answer, which the profile of the mean
    // understates (measured: reporting it cost llm-chat up to 4 points of attainment and no goodput elsewhere).
    const withNextRun = this.nextRun && inst.svc.llm === undefined;
    const joins = (inst.queue.size % Math.max(1, inst.plan.batchSize)) + 1;
    const nextRunMs = withNextRun ? profileMs(inst, joins) : runMs;
    const wait = Math.max(0, estimateCompletion(inst, now, 0, this.world.interference) - now - nextRunMs);
    const measured = inst.measuredRate < 0 ? 0 : inst.measuredRate;
    const plan = inst.plan;
    const info: { -readonly [K in keyof InstanceInfo]: InstanceInfo[K] } = {
      instanceId: String(inst.id),
      serviceId: inst.svc.spec.id,
      status: inst.status === 'gone' ? 'draining' : inst.status,
      requestStrategy: plan.requestStrategy,
      serviceStrategy: plan.serviceStrategy,
      batchSize: plan.batchSize,
      capacityPerSec: this.driverOf(inst.server).capacityOf(inst),
      loadPerSec: Math.max(measured, inst.pinnedHz),
      waitMs: wait,
      runMs,
    };
    // Set on the literal rather than spread into it: a conditional spread went through the generic clone path
    // per instance per ring pass. The key still comes last, as the spread put it.
    if (withNextRun) info.nextRunMs = nextRunMs;
    return info;
  }

  /** The entry `server` writes into the ring now (measurements since its last entry, optionally noisy). */
  entry(server: number, noise: number): ServerEntry {
    const world = this.world;
    const now = world.clock.now();
    const dt = Math.max(1, now - this.#last[server]!);
    const alpha = Math.min(1, dt / 10_000);
    const rates: Record<string, number> = {};
    const r = this.#rates[server]!;
    const counts = this.#counts;
    const ids = this.#serviceIds;
    const base = server * this.#k;
    for (let k = 0; k < r.length; k++) {
      r[k] = alpha * ((counts[base + k]! * 1000) / dt) + (1 - alpha) * r[k]!;
      counts[base + k] = 0;
      if (r[k]! > 0) rates[ids[k]!] = this.#noisy(r[k]!, noise);
    }
    let busy = 0;
    let free = 0;
    for (const d of world.devicesByServer[server]!) {
      busy += d.busyMs;
      if (!d.healthy) continue;
      free += d.memoryBytes;
      for (const inst of d.instances) free -= inst.plan.memoryPerDeviceBytes;
    }
    const devices = world.devicesByServer[server]!.length;
    this.#load[server] = Math.min(1, (busy - this.#busy[server]!) / (dt * devices));
    this.#busy[server] = busy;
    this.#last[server] = now;
    const instances: InstanceInfo[] = [];
    for (const inst of world.instancesByServer[server]!) {
      const measured = (inst.arrivals * 1000) / dt;
      inst.arrivals = 0;
      // Kept on the instance (a map keyed by instance cost two lookups per instance per ring pass, and never forgot one).
      inst.measuredRate = alpha * measured + (1 - alpha) * (inst.measuredRate < 0 ? measured : inst.measuredRate);
      const info = this.info(inst, now);
      instances.push(noise > 0 ? { ...info, waitMs: Math.max(0, this.#noisy(info.waitMs, noise)), loadPerSec: Math.max(0, this.#noisy(info.loadPerSec, noise)) } : info);
    }
    return {
      serverId: world.serverIds[server]!,
      epoch: this.#epochs[server]!,
      version: ++this.#versions[server]!,
      updatedAt: now,
      alive: world.serverAlive[server]!,
      instances,
      load: Math.max(0, this.#noisy(this.#load[server]!, noise)),
      freeMemoryBytes: Math.max(0, free),
      arrivalRates: rates,
    };
  }

  /** `x × (1 + U[−noise, noise])` from the system's random stream (x itself without noise). */
  #noisy(x: number, noise: number): number {
    return noise > 0 ? x * (1 + noise * (2 * this.world.systemRandom.next() - 1)) : x;
  }

  /**
   * The network model one server routes with (its zone's peers, in zone order: a peer's slot is its position in
   * the zone, as in the ring's tables, so routing reads a slice's figures by slot).
   */
  network(server: number): NetworkModel {
    let m = this.#net[server];
    if (m === undefined) {
      const zone = this.zoneOf(server);
      const ids = this.#idsOf(zone);
      const delayMs = new Float64Array(zone.length);
      const bandwidthBytesPerMs = new Float64Array(zone.length);
      // A plain loop: a closure capturing `server` would make every call allocate a context, the cached ones too.
      for (let i = 0; i < zone.length; i++) {
        const peer = zone[i]!;
        // Its own slot too, which routing never reads (it skips itself).
        if (peer === server) {
          bandwidthBytesPerMs[i] = Infinity;
          continue;
        }
        delayMs[i] = this.world.network.delayMs(server, peer);
        // transferMs = delay + bytes/bw: recover bw from a 1 MB probe.
        bandwidthBytesPerMs[i] = 1e6 / (this.world.network.transferMs(server, peer, 1e6) - delayMs[i]!);
      }
      m = indexedNetwork({ ids, delayMs, bandwidthBytesPerMs });
      this.#net[server] = m;
    }
    return m;
  }

  /** A zone's server ids in zone order, one frozen list shared by its members' network models. */
  #idsOf(zone: readonly number[]): readonly string[] {
    let ids = this.#zoneIds.get(zone);
    if (ids === undefined) {
      ids = Object.freeze(zone.map((peer) => this.world.servers[peer]!.spec.id));
      this.#zoneIds.set(zone, ids);
    }
    return ids;
  }
}
