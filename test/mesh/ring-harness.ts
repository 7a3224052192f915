import { createManualClock, createSeededRandom, silentLogger } from '@epara/core';
import { createManualTimers } from '@epara/core/testing';
import type { Timers } from '@epara/core';
import type { ManualTimers } from '@epara/core/testing';
import { RingSync } from '@epara/mesh';
import { createFaultInjector } from '@epara/mesh/testing';
import type { RingSyncConfig, SyncFaults } from '@epara/mesh';

/**
 * An in-process ring of {@link RingSync}s on one manual clock: delivery takes 1 ms, and a node can be paused
 * the way SIGSTOP pauses a process — its timers and incoming messages wait (the kernel would buffer them) and
 * all run, in order, when it resumes.
 */
export interface PausableRing {
  readonly timers: ManualTimers;
  readonly nodes: Map<string, RingSync>;
  readonly ids: readonly string[];
  pause(id: string): void;
  resume(id: string): void;
  /** Drops every message to or from `id` (its timers keep running) until {@link heal}. */
  isolate(id: string): void;
  heal(id: string): void;
  /** Messages sent to each server so far (lost ones included). */
  readonly sentTo: Map<string, number>;
  /** True when every server's view has every server alive. */
  complete(): boolean;
}

export interface RingSpec {
  readonly periodMs?: number;
  readonly ackTimeoutMs?: number;
  readonly attempts?: number;
  readonly faults?: SyncFaults;
  readonly seed?: number;
  readonly sync?: Partial<RingSyncConfig>;
}

export function createPausableRing(ids: readonly string[], spec: RingSpec = {}): PausableRing {
  const clock = createManualClock(1000);
  const timers = createManualTimers(clock);
  const nodes = new Map<string, RingSync>();
  const paused = new Map<string, (() => void)[]>();
  const isolated = new Set<string>();
  const sentTo = new Map<string, number>();
  /** Runs `fn` for `id` now, or when it resumes if it is paused. */
  const run = (id: string, fn: () => void): void => {
    const held = paused.get(id);
    if (held) held.push(fn);
    else fn();
  };
  /** A node's timers: they fire through {@link run}, so a paused node's timers wait for it to resume. */
  const nodeTimers = (id: string): Timers => {
    const wrap = (fn: () => void): { fn: () => void; cancelled: { value: boolean } } => {
      const cancelled = { value: false };
      return { fn: () => run(id, () => !cancelled.value && fn()), cancelled };
    };
    return {
      setTimeout: (fn, ms) => {
        const w = wrap(fn);
        const inner = timers.setTimeout(w.fn, ms);
        return { cancel: () => ((w.cancelled.value = true), inner.cancel()) };
      },
      at: (at, fn) => {
        const w = wrap(fn);
        const inner = timers.at(at, w.fn);
        return { cancel: () => ((w.cancelled.value = true), inner.cancel()) };
      },
    };
  };
  let n = 0;
  for (const id of ids) {
    const sync = new RingSync({
      selfId: id,
      epoch: 1,
      clock,
      timers: nodeTimers(id),
      periodMs: spec.periodMs ?? 500,
      ackTimeoutMs: spec.ackTimeoutMs ?? 250,
      attempts: spec.attempts ?? 2,
      fullEvery: 20,
      seeds: id === ids[0] ? [] : [ids[0]!],
      faults: faultInjector(spec.faults ?? {}, (spec.seed ?? 1) * 1000 + n++),
      logger: silentLogger,
      readSelf: () => ({ instances: [], load: 0, freeMemoryBytes: 1e9, arrivalRates: {}, address: id }),
      send: (to, message) => {
        const target = to.id ?? to.address!;
        sentTo.set(target, (sentTo.get(target) ?? 0) + 1);
        if (isolated.has(id) || isolated.has(target)) return;
        timers.setTimeout(
          () =>
            run(target, () =>
              nodes.get(target)?.receive(message, (reply) => timers.setTimeout(() => run(id, () => nodes.get(id)?.receive(reply, () => undefined)), 1)),
            ),
          1,
        );
      },
      ...spec.sync,
    });
    nodes.set(id, sync);
  }
  for (const s of nodes.values()) s.start();
  return {
    timers,
    nodes,
    ids,
    sentTo,
    pause: (id) => void paused.set(id, []),
    resume: (id) => {
      const held = paused.get(id) ?? [];
      paused.delete(id);
      for (const fn of held) fn();
    },
    isolate: (id) => void isolated.add(id),
    heal: (id) => void isolated.delete(id),
    complete: () => [...nodes.values()].every((s) => s.store.aliveIds().length === ids.length),
  };
}

/** The same injector a node builds from `syncFaults`, drawing from a seeded source. */
function faultInjector(faults: SyncFaults, seed: number): RingSyncConfig['faults'] {
  return createFaultInjector(faults, createSeededRandom(seed));
}

/** Fraction of 10 ms samples over `ms` at which every view was complete. */
export function completeFraction(ring: PausableRing, ms: number): number {
  let complete = 0;
  let samples = 0;
  for (let t = 0; t < ms; t += 10) {
    ring.timers.advance(10);
    samples++;
    if (ring.complete()) complete++;
  }
  return complete / samples;
}
