import type { SchedulableItem } from '@epara/core/scheduling';

/** The device-side figures {@link admissionCheck} works from, all optimistic (ms, clock ms). */
export interface AdmissionContext {
  /** Earliest time one of the instance's devices can start another batch. */
  readonly startAt: number;
  /** One profiled-size item run alone: the least time any item needs once started. */
  readonly aloneMs: number;
  /** Device time per item at the instance's best throughput (its most efficient batch), over its devices. */
  readonly perItemMs: number;
  /** Run time of the largest batch a backlog may form: a queued item due sooner than this is not waited for. */
  readonly bigBatchMs: number;
}

/** The outcome of {@link admissionCheck}. */
export type AdmissionVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'expired' | 'backlog'; readonly finishAt: number; readonly ahead: number };

/** The verdict of every admitted item (one object: admission runs on every request). */
const ADMITTED: AdmissionVerdict = Object.freeze({ ok: true });

/**
 * Whether a new item (deadline, priority; cost scale relative to the profiled input) can still finish by its
 * deadline on an EDF queue, checked at admission so that a hopeless request is refused at once instead of
 * being queued, pumped and dropped later. The test is deliberately optimistic — it refuses only what even
 * an ideal device could not serve: the items queued ahead of it in EDF order are run back to back at the
 * instance's best per-item throughput, skipping those a big batch holding the new item would pass over
 * (the launch rule's overload choice: they do not delay the new item), then the new item alone. `expired`: it cannot finish
 * even if it started first; `backlog`: the work queued ahead of it leaves no time. Pure; linear in the items
 * ahead of it.
 */
export function admissionCheck(
  queue: readonly SchedulableItem[],
  item: { readonly deadline: number; readonly priority: number; readonly costScale?: number },
  ctx: AdmissionContext,
): AdmissionVerdict {
  const alone = ctx.aloneMs * (item.costScale ?? 1);
  if (item.deadline < ctx.startAt + alone) return { ok: false, reason: 'expired', finishAt: ctx.startAt + alone, ahead: 0 };
  let t = ctx.startAt;
  let ahead = 0;
  for (let i = 0; i < queue.length; i++) {
    const q = queue[i]!;
    // EDF order: the new item goes after every queued item with an earlier deadline, or an equal one and a
    // priority at least as high (it was submitted later).
    if (q.deadline > item.deadline || (q.deadline === item.deadline && q.priority < item.priority)) break;
    const scale = q.costScale ?? 1;
    // An item that could not finish by its own deadline even if it started now will be dropped by the launch
    // rule, not run: it does not delay the new one. (Counting such doomed items — a backlog that built up
    // while the device served a co-located service — refused every new request behind them.)
    if (q.deadline < t + ctx.aloneMs * scale) continue;
    // A big batch starting at `t` that holds the new item passes over an item due before it ends (the launch
    // rule's overload choice): that item does not delay the new one. Without such a batch it does.
    if (q.deadline < t + ctx.bigBatchMs * scale && item.deadline >= t + ctx.bigBatchMs) continue;
    t += ctx.perItemMs * scale;
    ahead++;
  }
  const finishAt = t + alone;
  return item.deadline < finishAt ? { ok: false, reason: 'backlog', finishAt, ahead } : ADMITTED;
}
