/*
 * A virtual-time model of one demo device: a pure function of its inputs (and of a seed, through the arrivals
 * built by `modelArrivals`), for deciding placement and packing policy without wall-time runs on a shared
 * machine. The device runs one batch at a time and cannot interrupt it; every batch holds it for its run time
 * **plus a fixed hand-off** (`handoffMs`: the messages to and from the device's thread and the wait for a core,
 * which the profiles do not see and which a larger pack shares). Launch rule, as the demo's executors run it
 * (`launchWhenIdle`): when the device idles, the lane whose earliest queued item is due first launches at once,
 * its items in deadline order up to its largest batch (one frame per stateful stream), the batch shrunk until its
 * first item still finishes in time; an item that cannot finish by its deadline even alone is dropped unrun.
 * With `packWaitMs`, a stream lane instead waits, up to that long after its oldest frame arrived, for a frame of
 * each of its streams before it launches (the rule "pack when the device is contended" would add).
 */

/** One queued item of the model. */
export interface ModelItem {
  /** When it reaches the device, ms. */
  readonly at: number;
  /** When its answer must be back at the device's host, ms. */
  readonly deadline: number;
  /** The stream it belongs to (frames of a stateful stream are never packed together). */
  readonly stream?: number;
}

/** One service on the modelled device. */
export interface ModelLane {
  readonly id: string;
  /** Run time of a batch of `n` on this device (inside the backend), ms. */
  readonly latencyMs: (n: number) => number;
  readonly maxBatch: number;
  /** One frame per stream per pack. */
  readonly stateful?: boolean;
  /** Streams the lane serves (for `packWaitMs`); 0 or absent for requests. */
  readonly streams?: number;
  readonly items: readonly ModelItem[];
}

/** What one lane got. */
export interface ModelLaneResult {
  readonly offered: number;
  /** Finished by their deadline. */
  readonly good: number;
  readonly batches: number;
  /** Items that ran (good or late). */
  readonly ran: number;
}

/** The model's inputs besides the lanes. */
export interface DeviceModelOptions {
  /** Device time every batch holds beyond its run, ms. */
  readonly handoffMs: number;
  /** A stream lane waits up to this long after its oldest frame for a frame of each stream. @default 0 (launch at once) */
  readonly packWaitMs?: number;
}

/** Runs the device over every lane's items; per lane what it served. */
export function runDeviceModel(lanes: readonly ModelLane[], o: DeviceModelOptions): Record<string, ModelLaneResult> {
  const queues = lanes.map(() => [] as ModelItem[]);
  const next = lanes.map(() => 0);
  const sorted = lanes.map((l) => [...l.items].sort((a, b) => a.at - b.at));
  const out = lanes.map(() => ({ offered: 0, good: 0, batches: 0, ran: 0 }));
  const wait = o.packWaitMs ?? 0;
  let now = 0;
  const admit = (): void => {
    lanes.forEach((_, i) => {
      const items = sorted[i]!;
      while (next[i]! < items.length && items[next[i]!]!.at <= now) {
        queues[i]!.push(items[next[i]!]!);
        out[i]!.offered++;
        next[i]!++;
      }
      queues[i]!.sort((a, b) => a.deadline - b.deadline);
    });
  };
  const nextArrival = (): number => Math.min(...sorted.map((items, i) => items[next[i]!]?.at ?? Number.POSITIVE_INFINITY));
  for (;;) {
    admit();
    // Drop what cannot finish by its deadline even alone.
    lanes.forEach((l, i) => {
      queues[i] = queues[i]!.filter((x) => x.deadline >= now + l.latencyMs(1) + o.handoffMs);
    });
    // A stream lane waiting for its pack is not eligible until it has a frame of each stream or waited enough.
    let readyAt = Number.POSITIVE_INFINITY;
    let pick = -1;
    lanes.forEach((l, i) => {
      const q = queues[i]!;
      if (q.length === 0) return;
      if (wait > 0 && (l.streams ?? 0) > 1) {
        const oldest = Math.min(...q.map((x) => x.at));
        const streams = new Set(q.map((x) => x.stream)).size;
        const due = Math.min(oldest + wait, q[0]!.deadline - l.latencyMs(Math.min(l.maxBatch, l.streams!)) - o.handoffMs);
        if (streams < Math.min(l.maxBatch, l.streams!) && now < due) {
          readyAt = Math.min(readyAt, due);
          return;
        }
      }
      if (pick < 0 || q[0]!.deadline < queues[pick]![0]!.deadline) pick = i;
    });
    if (pick < 0) {
      const t = Math.min(nextArrival(), readyAt);
      if (!Number.isFinite(t)) break;
      now = Math.max(now, t);
      continue;
    }
    const l = lanes[pick]!;
    const q = queues[pick]!;
    const batch: ModelItem[] = [];
    const streams = new Set<number | undefined>();
    for (const x of q) {
      if (batch.length >= l.maxBatch) break;
      if (l.stateful === true && streams.has(x.stream)) continue;
      batch.push(x);
      streams.add(x.stream);
    }
    while (batch.length > 1 && now + l.latencyMs(batch.length) + o.handoffMs > batch[0]!.deadline) batch.pop();
    const end = now + l.latencyMs(batch.length) + o.handoffMs;
    const taken = new Set(batch);
    queues[pick] = q.filter((x) => !taken.has(x));
    const r = out[pick]!;
    r.batches++;
    r.ran += batch.length;
    r.good += batch.filter((x) => end <= x.deadline).length;
    now = end;
  }
  return Object.fromEntries(lanes.map((l, i) => [l.id, out[i]!]));
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How the items of a lane arrive. */
export type ModelTraffic =
  | {
      readonly kind: 'requests';
      /** Mean items/s. */
      readonly perSec: number;
      readonly deadlineMs: number;
      /** Bursts as the demo's edge world has them: `factor` × the mean for a tenth of every `periodMs` (the mean kept). */
      readonly burst?: { readonly factor: number; readonly periodMs: number };
    }
  | {
      readonly kind: 'streams';
      readonly streams: number;
      readonly rateHz: number;
      readonly stalenessMs: number;
      /** One-way delay between the stream's entry and this device, ms (0: served where it enters). */
      readonly linkMs?: number;
    };

/** The items of one lane over `durationMs`, a pure function of `seed`. */
export function modelArrivals(t: ModelTraffic, durationMs: number, seed: number): ModelItem[] {
  const rnd = seededRandom(seed);
  const items: ModelItem[] = [];
  if (t.kind === 'requests') {
    const burst = t.burst;
    // In a burst the rate is factor × mean; outside it, lowered so that the mean is kept.
    const rateAt = (ms: number): number => {
      if (burst === undefined) return t.perSec / 1000;
      const inBurst = ms % burst.periodMs < burst.periodMs / 10;
      return ((inBurst ? burst.factor : (1 - burst.factor / 10) / 0.9) * t.perSec) / 1000;
    };
    // Thinning of a Poisson process at the largest rate.
    const top = burst === undefined ? t.perSec / 1000 : (Math.max(burst.factor, 1) * t.perSec) / 1000;
    for (let ms = 0; ; ) {
      ms += -Math.log(1 - rnd()) / top;
      if (ms >= durationMs) break;
      if (rnd() < rateAt(ms) / top) items.push({ at: ms, deadline: ms + t.deadlineMs });
    }
    return items;
  }
  const period = 1000 / t.rateHz;
  const link = t.linkMs ?? 0;
  for (let s = 0; s < t.streams; s++) {
    const phase = rnd() * period;
    // A frame captured at `c` reaches the device a link later, and its answer must be back at the entry by c + staleness.
    for (let c = phase; c < durationMs; c += period) items.push({ at: c + link, deadline: c + t.stalenessMs - link, stream: s });
  }
  return items;
}
