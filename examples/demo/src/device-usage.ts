/*
 * Where each EPARA node's time went during a run: how busy its device was (any run in flight), how busy its
 * event loop was, and per service the batches it ran, their time inside the backend against the profile's
 * prediction, and how long its items queued before their batch left. Counted from the executor's events, not
 * inferred from end-to-end latency: it tells a device that is full (its queue waits grow with its busy share)
 * from a host that is starved (the backend runs slower than the profile, or the event loop is saturated).
 */

/** One service's work on a node's device. */
export interface ServiceDeviceUsage {
  batches: number;
  items: number;
  /** Time inside the backend, summed over its batches, ms. */
  runMs: number;
  /** The profile's prediction for the same batches (measured at start-up on an idle device), ms. */
  profileMs: number;
  /**
   * The executor's estimate for the same batches when it dispatched them, ms: the profile × what the runtime
   * learned of the time a batch holds the device (so a ratio of run time to it says little about the profile).
   */
  expectedMs: number;
  /** Per item that ran: from queued to its batch leaving for the device, ms. */
  waitsMs: number[];
  /**
   * The batches past the first {@link SKIP_FIRST_BATCHES} of their instance's session (cold sessions and first
   * batches run many times their steady cost): their items, their profile time and the executor's estimate.
   */
  steadyItems: number;
  steadyProfileMs: number;
  steadyExpectedMs: number;
}

/**
 * Batches of an instance's session (from its load) left out of the steady counts: in a 2 s warm-up right after
 * loading, the device wall time per item read 7.3–13.9× the profile on a quiet machine (cold sessions, first
 * batches, and a hold-time estimate still learning from them).
 */
export const SKIP_FIRST_BATCHES = 20;

const emptyUsage = (): ServiceDeviceUsage => ({ batches: 0, items: 0, runMs: 0, profileMs: 0, expectedMs: 0, waitsMs: [], steadyItems: 0, steadyProfileMs: 0, steadyExpectedMs: 0 });

/** One node over one run. */
export interface DeviceUsage {
  wallMs: number;
  /** Wall time with a run in flight on the device (batches and generation steps), ms. */
  busyMs: number;
  /** Wall time the node's event loop was not waiting for I/O, ms (on a machine short of cores, waiting for one counts). */
  loopBusyMs: number;
  services: Record<string, ServiceDeviceUsage>;
}

/** The cumulative readings a {@link DeviceUsageLog} takes differences of. */
export interface UsageClock {
  now(): number;
  /** The device's cumulative busy time, ms. */
  deviceBusyMs(): number;
  /** The event loop's cumulative active time, ms (`performance.eventLoopUtilization().active`). */
  loopActiveMs(): number;
}

/** Counts device use since the last {@link DeviceUsageLog.take}. */
export class DeviceUsageLog {
  readonly #clock: UsageClock;
  #services: Record<string, ServiceDeviceUsage> = {};
  #since: { at: number; busyMs: number; loopMs: number };
  /** Batches dispatched per service since its instance was loaded (kept across takes). */
  readonly #sessionBatches = new Map<string, number>();

  constructor(clock: UsageClock) {
    this.#clock = clock;
    this.#since = this.#reading();
  }

  #reading(): { at: number; busyMs: number; loopMs: number } {
    return { at: this.#clock.now(), busyMs: this.#clock.deviceBusyMs(), loopMs: this.#clock.loopActiveMs() };
  }

  #service(id: string): ServiceDeviceUsage {
    return (this.#services[id] ??= emptyUsage());
  }

  /** The service's instance was (re)loaded: a new session, whose first batches are not steady. */
  loaded(serviceId: string): void {
    this.#sessionBatches.set(serviceId, 0);
  }

  /** A batch left for the device: the profile's time for its size and the executor's estimate of it. */
  dispatched(e: { readonly serviceId: string; readonly size: number; readonly expectedMs: number; readonly profileMs: number }): void {
    const s = this.#service(e.serviceId);
    s.expectedMs += e.expectedMs;
    s.profileMs += e.profileMs;
    const n = (this.#sessionBatches.get(e.serviceId) ?? 0) + 1;
    this.#sessionBatches.set(e.serviceId, n);
    if (n <= SKIP_FIRST_BATCHES) return;
    s.steadyItems += e.size;
    s.steadyProfileMs += e.profileMs;
    s.steadyExpectedMs += e.expectedMs;
  }

  /** A batch finished: its time inside the backend. */
  completed(e: { readonly serviceId: string; readonly size: number; readonly runMs: number; readonly ok: boolean }): void {
    if (!e.ok) return;
    const s = this.#service(e.serviceId);
    s.batches++;
    s.items += e.size;
    s.runMs += e.runMs;
  }

  /** One item settled: its queue wait, when it ran. */
  settled(e: { readonly serviceId: string; readonly enqueuedAt: number; readonly startedAt?: number }): void {
    if (e.startedAt !== undefined) this.#service(e.serviceId).waitsMs.push(e.startedAt - e.enqueuedAt);
  }

  /** The counts since the last take; starts new ones. */
  take(): DeviceUsage {
    const now = this.#reading();
    const out = { wallMs: now.at - this.#since.at, busyMs: now.busyMs - this.#since.busyMs, loopBusyMs: now.loopMs - this.#since.loopMs, services: this.#services };
    this.#since = now;
    this.#services = {};
    return out;
  }
}

/** Sums per-node usage over several runs (node by node). */
export function sumDeviceUsage(runs: readonly (readonly DeviceUsage[])[]): DeviceUsage[] {
  const out: DeviceUsage[] = [];
  for (const run of runs) {
    run.forEach((u, node) => {
      const into = (out[node] ??= { wallMs: 0, busyMs: 0, loopBusyMs: 0, services: {} });
      into.wallMs += u.wallMs;
      into.busyMs += u.busyMs;
      into.loopBusyMs += u.loopBusyMs;
      for (const [id, s] of Object.entries(u.services)) {
        const t = (into.services[id] ??= emptyUsage());
        t.batches += s.batches;
        t.items += s.items;
        t.runMs += s.runMs;
        t.expectedMs += s.expectedMs;
        t.profileMs += s.profileMs;
        t.steadyItems += s.steadyItems;
        t.steadyProfileMs += s.steadyProfileMs;
        t.steadyExpectedMs += s.steadyExpectedMs;
        t.waitsMs.push(...s.waitsMs);
      }
    });
  }
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const pct = (part: number, whole: number): string => `${((100 * part) / Math.max(1e-9, whole)).toFixed(1)}%`;

/**
 * Rows per node: its device's and event loop's busy shares of the run, then per service the share of the run its
 * batches spent in the backend, that time against the profile's prediction (on an idle device), the executor's
 * estimate of the same batches against the profile (what the runtime learned), and its items' queue waits. What the
 * device was busy with beyond the services' batches (generation steps, which run outside the batch events) is
 * the `steps and hand-offs` row (device busy is
 * wall time from a dispatch to its outputs on the host; run time is inside the backend).
 */
export function deviceUsageRows(perNode: readonly DeviceUsage[], nodeIds: readonly string[]): string[][] {
  const rows: string[][] = [['node', 'service', 'device busy', 'event loop busy', 'items', 'mean batch', 'run ÷ profile', 'estimate ÷ profile', 'queue wait p50/p90 ms']];
  const times = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : '-');
  perNode.forEach((u, node) => {
    const id = nodeIds[node] ?? String(node);
    rows.push([id, '(all)', pct(u.busyMs, u.wallMs), pct(u.loopBusyMs, u.wallMs), '', '', '', '', '']);
    let batchMs = 0;
    for (const [serviceId, s] of Object.entries(u.services).sort((a, b) => a[0].localeCompare(b[0]))) {
      batchMs += s.runMs;
      const waits = [...s.waitsMs].sort((a, b) => a - b);
      const wait = waits.length === 0 ? '-' : `${quantile(waits, 0.5).toFixed(0)}/${quantile(waits, 0.9).toFixed(0)}`;
      rows.push([id, serviceId, pct(s.runMs, u.wallMs), '', String(s.items), (s.items / Math.max(1, s.batches)).toFixed(2), times(s.runMs, s.profileMs), times(s.expectedMs, s.profileMs), wait]);
    }
    if (u.busyMs - batchMs > 0.005 * u.wallMs) rows.push([id, 'steps and hand-offs', pct(u.busyMs - batchMs, u.wallMs), '', '', '', '', '', '']);
  });
  return rows;
}
