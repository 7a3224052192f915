import { EdfQueue } from '@epara/core/scheduling';
import type { BatchDone, Lane } from '../batching/lane.js';
import type { WorkItem } from '../batching/work-item.js';

/**
 * What {@link fakeLane} builds a lane from: any {@link Lane} member to replace, and the usual knobs of the device
 * scheduler's tests. A test helper (not part of the package's API).
 */
export interface FakeLaneOptions extends Partial<Omit<Lane, 'arrivalsPerMs' | 'queue'>> {
  /** A batch of `n`'s run time, ms: what `latencyMs` and (for one item) `dropLatencyMs` answer. @default 10 */
  readonly runMs?: number | ((n: number) => number);
  /** The lane's arrival rate, items/ms (`arrivalsPerMs` answers it whatever the time). @default undefined */
  readonly arrivalsPerMs?: number;
  /** Where `earliestStart` asks when its device is free (its scheduler, made after the lane). @default now */
  readonly freeAt?: () => { freeAt(now: number): number };
}

/**
 * A fake lane for the device scheduler's tests, whose batches end when the test says so: `finish[i]()` ends the
 * i-th batch run (reporting `runMs` of compute when given). Defaults: lane `i` of service `s`, batches of 2, no
 * guard, launched when the device is idle, run times of `runMs` (10 ms), nothing dropped or recorded.
 *
 * @example
 * ```ts
 * let sch!: DeviceScheduler;
 * const { lane, finish } = fakeLane({ batchSize: 4, runMs: (n) => 2 + n, freeAt: () => sch });
 * sch = new DeviceScheduler({ device: { id: 'd0' } as DeviceHandle, clock, timers, onDispatch: () => undefined });
 * sch.attach(lane);
 * ```
 */
export function fakeLane(o: FakeLaneOptions = {}): { lane: Lane & { readonly queue: EdfQueue<WorkItem> }; finish: ((runMs?: number) => void)[] } {
  const { runMs = 10, arrivalsPerMs, freeAt, ...members } = o;
  const ms = typeof runMs === 'number' ? (): number => runMs : runMs;
  const finish: ((runMs?: number) => void)[] = [];
  const batchSize = o.batchSize ?? 2;
  // A member given as undefined keeps its default.
  for (const k of Object.keys(members) as (keyof typeof members)[]) if (members[k] === undefined) delete members[k];
  const lane = {
    id: 'i',
    serviceId: 's',
    queue: new EdfQueue<WorkItem>(),
    batchSize,
    maxBatchSize: batchSize,
    guardMs: 0,
    launchWhenIdle: true,
    arrivalsPerMs: () => arrivalsPerMs,
    loadShare: () => 0,
    latencyMs: (_deviceId: string, n: number) => ms(n),
    dropLatencyMs: () => ms(1),
    earliestStart: (now: number) => (freeAt === undefined ? now : freeAt().freeAt(now)),
    drop: () => undefined,
    run: (_items: WorkItem[], _device: unknown, _startedAt: number, done: BatchDone) => void finish.push((runMs) => done.batchEnded(runMs)),
    onBatchDone: () => undefined,
    ...members,
  };
  return { lane, finish };
}

let nextSeq = 0;

/** A queued request of `fakeLane`'s service (key `k`) due at `deadline`, with any field replaced. */
export function fakeItem(deadline: number, o: Partial<WorkItem> = {}): WorkItem {
  return { seq: nextSeq++, serviceId: 's', inputs: {}, key: 'k', deadline, priority: 0, enqueuedAt: 0, frame: false, settle: () => undefined, ...o };
}
