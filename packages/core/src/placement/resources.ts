import { cycleLimitMs, PLACEMENT_TOLERANCE, sharedClaimLimit, sharedRun, sharedWaitFits, type CycleItem } from './duty-cycle.js';
import type { DeviceNode } from './model.js';

/** One item's per-device footprint: memory, time share and exclusivity. */
export interface ItemFootprint extends CycleItem {
  readonly service: number;
  /** Bytes on each device it uses: weights (or a stage) plus per-item working memory × batch. */
  readonly memBytes: number;
  /** Data/model-parallel groups (or any item when multi-task is off) hold their devices alone. */
  readonly exclusive: boolean;
}

/** Residual device memory and time share while a placement is built. */
export interface Resources {
  /**
   * True when `item` can join `device`: healthy, memory, exclusivity, one instance per service, duty cycle, and the
   * residual-blocking price of the latency items sharing it (`sharedWaitFits`).
   */
  fits(device: number, item: ItemFootprint): boolean;
  add(devices: readonly number[], item: ItemFootprint): void;
  remove(devices: readonly number[], item: ItemFootprint): void;
  isEmpty(device: number): boolean;
  usedBytes(device: number): number;
  /** The device's round-robin cycle `Σ L_k(b_k)`, ms (with interference when it holds two or more items). */
  cycleMs(device: number): number;
  /**
   * The largest rate `item` (placed on `device`) may claim while the latency items beside it keep their
   * residual-blocking budget (`sharedClaimLimit`); Infinity when none limits it.
   */
  claimLimit(device: number, item: ItemFootprint): number;
}

/** Creates an empty {@link Resources} over the model's devices. */
export function createResources(devices: readonly DeviceNode[]): Resources {
  const n = devices.length;
  const used = new Float64Array(n);
  const sumRun = new Float64Array(n);
  /** Σ of alone run times (a lone item's cycle). */
  const soloRun = new Float64Array(n);
  const limit = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const exclusive = new Uint8Array(n);
  const items: ItemFootprint[][] = Array.from({ length: n }, () => []);

  const recompute = (d: number): void => {
    let run = 0;
    let solo = 0;
    let lim = Number.POSITIVE_INFINITY;
    let mem = 0;
    let excl = 0;
    for (const it of items[d]!) {
      run += sharedRun(it);
      solo += it.runMs;
      lim = Math.min(lim, cycleLimitMs(it));
      mem += it.memBytes;
      if (it.exclusive) excl = 1;
    }
    sumRun[d] = run;
    soloRun[d] = solo;
    limit[d] = lim;
    used[d] = mem;
    exclusive[d] = excl;
  };

  return {
    fits(d, item) {
      const dev = devices[d]!;
      if (!dev.healthy) return false;
      const list = items[d]!;
      if (list.length > 0 && (item.exclusive || exclusive[d] === 1)) return false;
      if (used[d]! + item.memBytes > dev.usableBytes * (1 + PLACEMENT_TOLERANCE)) return false;
      if (list.length === 0) return true;
      for (const it of list) if (it.service === item.service) return false;
      const cycle = sumRun[d]! + sharedRun(item);
      return cycle <= Math.min(limit[d]!, cycleLimitMs(item)) * (1 + PLACEMENT_TOLERANCE) && sharedWaitFits(list, item);
    },
    add(ds, item) {
      for (const d of ds) {
        items[d]!.push(item);
        used[d] = used[d]! + item.memBytes;
        sumRun[d] = sumRun[d]! + sharedRun(item);
        soloRun[d] = soloRun[d]! + item.runMs;
        limit[d] = Math.min(limit[d]!, cycleLimitMs(item));
        if (item.exclusive) exclusive[d] = 1;
      }
    },
    remove(ds, item) {
      for (const d of ds) {
        const list = items[d]!;
        const i = list.indexOf(item);
        if (i >= 0) list.splice(i, 1);
        recompute(d);
      }
    },
    isEmpty: (d) => items[d]!.length === 0,
    usedBytes: (d) => used[d]!,
    cycleMs: (d) => (items[d]!.length > 1 ? sumRun[d]! : soloRun[d]!),
    claimLimit(d, item) {
      const list = items[d]!;
      const i = list.indexOf(item);
      return i < 0 ? Number.POSITIVE_INFINITY : sharedClaimLimit(list, i);
    },
  };
}
