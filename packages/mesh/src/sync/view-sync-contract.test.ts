import { EventEmitter } from 'eventemitter3';
import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import type { Clock, ClusterView, ServerEntry, ServerId, Timers } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import { RingSync } from './ring-sync.js';
import { createFaultInjector } from './sync-faults.js';
import type { SelfState } from './view-store.js';
import type { ViewSync, ViewSyncEvents } from './view-sync.js';
import { runViewSyncContract } from './view-sync-contract.js';
import type { ViewSyncCluster } from './view-sync-contract.js';

const selfState = (id: ServerId): SelfState => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id });

/** Runs `timers` forward in 10 ms steps until `done()` or `ms` elapsed. */
async function runVirtual(timers: ReturnType<typeof createManualTimers>, ms: number, done: () => boolean): Promise<void> {
  for (let t = 0; t < ms && !done(); t += 10) timers.advance(10);
}

// The token ring on virtual time; messages take 1 ms, and a killed member neither sends nor receives.
runViewSyncContract('ring', {
  createCluster: async (ids) => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const dead = new Set<ServerId>();
    const selves = new Map(ids.map((id) => [id, selfState(id)]));
    const syncs = new Map<ServerId, RingSync>();
    for (const [i, id] of ids.entries()) {
      const sync = new RingSync({
        selfId: id,
        epoch: 1,
        clock,
        timers,
        periodMs: 500,
        ackTimeoutMs: 50,
        attempts: 2,
        fullEvery: 10,
        seeds: i === 0 ? [] : [ids[0]!],
        faults: createFaultInjector({}, createSeededRandom(i + 1)),
        logger: silentLogger,
        readSelf: () => selves.get(id)!,
        send: (to, message) => {
          const target = to.id ?? to.address!;
          timers.setTimeout(() => {
            if (dead.has(target) || dead.has(id)) return;
            syncs.get(target)?.receive(message, (reply) => timers.setTimeout(() => !dead.has(id) && syncs.get(id)?.receive(reply, () => undefined), 1));
          }, 1);
        },
      });
      syncs.set(id, sync);
    }
    for (const s of syncs.values()) s.start();
    const cluster: ViewSyncCluster = {
      syncs,
      run: (ms, done) => runVirtual(timers, ms, done),
      setSelf: (id, patch) => void selves.set(id, { ...selves.get(id)!, ...patch }),
      kill: async (id) => {
        dead.add(id);
        syncs.get(id)!.stop();
      },
      close: async () => {
        for (const s of syncs.values()) s.stop();
      },
    };
    return cluster;
  },
});

/**
 * A fake sync over a shared in-process registry (a key-value store with watches, in miniature): each member
 * writes its entry every period and reads everyone's; entries not rewritten for `ttlMs` read as dead.
 */
function registrySync(options: { selfId: ServerId; registry: Map<ServerId, ServerEntry>; clock: Clock; timers: Timers; readSelf: () => SelfState }): ViewSync {
  const { selfId, registry, clock, timers } = options;
  const periodMs = 100;
  const ttlMs = 500;
  const events = new EventEmitter<ViewSyncEvents>();
  const reported = new Set<ServerId>();
  let version = 0;
  let tick: { cancel(): void } | undefined;
  let stopped = false;
  const read = (id: ServerId): ServerEntry | undefined => {
    const e = registry.get(id);
    if (!e) return undefined;
    const alive = id === selfId || (e.alive && !reported.has(id) && clock.now() - e.updatedAt <= ttlMs);
    return alive === e.alive ? e : { ...e, alive };
  };
  const view = (): ClusterView => ({ entries: Object.fromEntries([...registry.keys()].map((id) => [id, read(id)!])) });
  const write = (): void => {
    if (stopped) return;
    registry.set(selfId, { serverId: selfId, epoch: 1, version: ++version, updatedAt: clock.now(), alive: true, ...options.readSelf() });
    events.emit('viewUpdated');
    tick = timers.setTimeout(write, periodMs);
  };
  return {
    on: (event, listener) => events.on(event, listener),
    store: { view, get: read, get self() { return read(selfId)!; } },
    start: () => write(),
    stop: () => {
      stopped = true;
      tick?.cancel();
    },
    reportDead: (id, reason = 'reported') => {
      if (reported.has(id) || id === selfId) return;
      reported.add(id);
      events.emit('peerLeft', { serverId: id, reason });
    },
  };
}

runViewSyncContract('in-process registry (fake)', {
  createCluster: async (ids) => {
    const clock = createManualClock(1000);
    const timers = createManualTimers(clock);
    const registry = new Map<ServerId, ServerEntry>();
    const selves = new Map(ids.map((id) => [id, selfState(id)]));
    const syncs = new Map(ids.map((id) => [id, registrySync({ selfId: id, registry, clock, timers, readSelf: () => selves.get(id)! })]));
    for (const s of syncs.values()) await s.start();
    return {
      syncs,
      run: (ms, done) => runVirtual(timers, ms, done),
      setSelf: (id, patch) => void selves.set(id, { ...selves.get(id)!, ...patch }),
      kill: async (id) => void (await syncs.get(id)!.stop()),
      close: async () => {
        for (const s of syncs.values()) await s.stop();
      },
    };
  },
});
