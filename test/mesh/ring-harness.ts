import { createManualClock, createSeededRandom } from '@epara/core';
import { RingSync, createManualScheduler, silentLogger } from '@epara/mesh';
import { createFaultInjector } from '@epara/mesh/testing';
import type { ManualScheduler, RingSyncConfig, Scheduler, SyncFaults, TimerHandle } from '@epara/mesh';

/**
 * An in-process ring of {@link RingSync}s on one manual clock: delivery takes 1 ms, and a node can be paused
 * the way SIGSTOP pauses a process — its timers and incoming messages wait (the kernel would buffer them) and
 * all run, in order, when it resumes.
 */
export interface PausableRing {
  readonly scheduler: ManualScheduler;
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
  const scheduler = createManualScheduler(clock);
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
  const nodeScheduler = (id: string): Scheduler => {
    const cancelled = new Set<TimerHandle>();
    return {
      setTimeout: (fn, ms) => {
        const box = {};
        const inner = scheduler.setTimeout(() => run(id, () => !cancelled.has(box) && fn()), ms);
        handles.set(box, inner);
        return box;
      },
      clearTimeout: (h) => {
        cancelled.add(h);
        const inner = handles.get(h);
        if (inner) scheduler.clearTimeout(inner);
      },
    };
  };
  const handles = new Map<TimerHandle, TimerHandle>();
  let n = 0;
  for (const id of ids) {
    const sync = new RingSync({
      selfId: id,
      epoch: 1,
      clock,
      scheduler: nodeScheduler(id),
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
        scheduler.setTimeout(
          () =>
            run(target, () =>
              nodes.get(target)?.receive(message, (reply) => scheduler.setTimeout(() => run(id, () => nodes.get(id)?.receive(reply, () => undefined)), 1)),
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
    scheduler,
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
    ring.scheduler.advance(10);
    samples++;
    if (ring.complete()) complete++;
  }
  return complete / samples;
}
