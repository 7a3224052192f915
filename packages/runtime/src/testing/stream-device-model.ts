import { admitStream, createSeededRandom, createView, latencyAt, type InstanceInfo, type LatencyProfile, type ParallelPlan } from '@epara/core';
import type { ExecutorServiceOptions } from '../executor/executor-options.js';
import type { HoldCorrections } from '../executor/hold-corrections.js';
import { InstanceSizing } from '../executor/instance-sizing.js';

/** One device that streams ask to be admitted to, run in virtual time ({@link runStreamDeviceModel}). */
export interface StreamDeviceModel {
  /** Places the admitted streams' frames in time. */
  readonly seed: number;
  readonly profile: LatencyProfile;
  readonly rateHz: number;
  readonly stalenessMs: number;
  readonly maxBatch: number;
  /** Core's multi-frame plan (the batch size and run time admission reads). */
  readonly plan: ParallelPlan;
  /** The plan the instance's capacity is sized from. @default plan */
  readonly sizingPlan?: Partial<ParallelPlan>;
  /** What the runtime learned the device's hold times with; read by the capacity and the drop of stale frames. */
  readonly corrections: HoldCorrections;
  /** A pack of `n` frames: how long it holds the device, and the backend's part of it when the device reports it. */
  readonly pack: (n: number) => { readonly holdMs: number; readonly runMs?: number };
  /** Streams asking to be admitted, one every `requestEveryMs` from the start. */
  readonly requested: number;
  readonly requestEveryMs: number;
  readonly durationMs: number;
  /** Admit every stream whatever the capacity (to see what the device does past it). @default false */
  readonly admitAll?: boolean;
}

/** What a run of the model admitted and served. */
export interface StreamModelOutcome {
  admitted: number;
  refused: number;
  frames: number;
  /** Frames whose pack ended within their staleness bound of their arrival. */
  fresh: number;
  /** Frames per pack run. */
  meanPack: number;
}

/**
 * Stream admission on one device in virtual time, deterministic: each stream asking is admitted against the
 * capacity the runtime reports at that moment (`InstanceSizing.capacityPerSec` at `HoldCorrections.packOf`) less
 * the rate already admitted, through core's `admitStream`. The device runs frames the way the executor does with
 * `launchWhenIdle`: when it idles, the frames queued by then go as one pack (up to the largest batch), frames that
 * can no longer be fresh even alone at their learned time dropped first; every pack's hold is folded into the
 * corrections.
 */
export function runStreamDeviceModel(o: StreamDeviceModel): StreamModelOutcome {
  const random = createSeededRandom(o.seed);
  const { profile, rateHz, stalenessMs, plan, corrections } = o;
  const service: ExecutorServiceOptions = { id: 'video', model: 'video.onnx', sensitivity: 'frequency', slo: { kind: 'frequency', rateHz, stalenessMs }, maxBatch: o.maxBatch };
  let admittedRate = 0;
  const sizing = new InstanceSizing({ service, plan: o.sizingPlan ?? plan, devices: 1, profile: () => profile, batchable: () => true, streamRateHz: () => admittedRate });
  const view = createView([]);
  const streams: number[] = []; // next frame time of each admitted stream
  const queue: number[] = []; // arrival times, oldest first
  let busyUntil = Number.POSITIVE_INFINITY;
  let running: number[] = [];
  let runMs: number | undefined;
  let runStart = 0;
  let nextRequest = 0;
  let requested = 0;
  let packs = 0;
  const out: StreamModelOutcome = { admitted: 0, refused: 0, frames: 0, fresh: 0, meanPack: 0 };

  const launch = (now: number): void => {
    const oneMs = latencyAt(profile, 1) * corrections.of('d0', 1, now);
    while (queue.length > 0 && now + oneMs > queue[0]! + stalenessMs) queue.shift();
    if (queue.length === 0) return;
    running = queue.splice(0, sizing.sizes().maxBatchSize);
    runStart = now;
    const held = o.pack(running.length);
    runMs = held.runMs;
    busyUntil = now + held.holdMs;
    packs++;
    out.meanPack += running.length;
  };

  for (;;) {
    const nextFrame = streams.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...streams);
    const now = Math.min(nextFrame, busyUntil, requested < o.requested ? nextRequest : Number.POSITIVE_INFINITY);
    if (now >= o.durationMs) break;
    if (now === busyUntil) {
      for (const at of running) if (now - at <= stalenessMs) out.fresh++;
      corrections.observe(profile, 'd0', running.length, now - runStart, now, runMs);
      running = [];
      busyUntil = Number.POSITIVE_INFINITY;
      launch(now);
    } else if (now === nextFrame) {
      const k = streams.indexOf(nextFrame);
      streams[k] = nextFrame + 1000 / rateHz;
      queue.push(now);
      out.frames++;
      if (running.length === 0) launch(now);
    } else {
      requested++;
      nextRequest = now + o.requestEveryMs;
      const capacityPerSec = sizing.capacityPerSec((n) => 1 / corrections.packOf(profile, 'd0', n, now));
      const info: InstanceInfo = { instanceId: 'video-0', serviceId: 'video', status: 'ready', requestStrategy: 'multi-frame', serviceStrategy: 'single', batchSize: plan.batchSize, capacityPerSec, loadPerSec: admittedRate, waitMs: 0, runMs: plan.runMs };
      const decision = admitStream({ stream: { serviceId: 'video', rateHz, stalenessMs }, localInstances: [info], view, self: 'edge-0', now });
      if (decision.action === 'local' || o.admitAll === true) {
        out.admitted++;
        admittedRate += rateHz;
        streams.push(now + random.next() * (1000 / rateHz));
      } else out.refused++;
    }
  }
  out.meanPack = packs === 0 ? 0 : out.meanPack / packs;
  return out;
}
