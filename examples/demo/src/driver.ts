import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { toEparaError } from '@epara/core';
import { budgetOf, type DemoServiceInfo, type DemoServiceId } from './catalog.js';
import type { InputFactory } from './inputs.js';
import type { ServingStream, ServingSystem } from './system.js';
import type { Tally } from './tally.js';
import type { RequestArrival, StreamSession, Workload } from './workload.js';

type Event =
  | { readonly at: number; readonly kind: 'request'; readonly r: RequestArrival }
  | { readonly at: number; readonly kind: 'open'; readonly s: StreamSession }
  | { readonly at: number; readonly kind: 'frame'; readonly s: StreamSession; readonly k: number };

interface OpenStream {
  stream?: ServingStream;
  failed?: string;
  readonly waiting: { k: number; at: number }[];
}

/** Options of {@link drive}. */
export interface DriveOptions {
  readonly system: ServingSystem;
  readonly workload: Workload;
  readonly catalog: readonly DemoServiceInfo[];
  readonly inputs: InputFactory;
  readonly tally: Tally;
  readonly signal?: AbortSignal;
}

function timeline(w: Workload): Event[] {
  const events: Event[] = w.requests.map((r) => ({ at: r.atMs, kind: 'request', r }));
  for (const s of w.streams) {
    events.push({ at: s.startMs, kind: 'open', s });
    for (let k = 0; k < s.frames; k++) events.push({ at: s.startMs + (k * 1000) / s.rateHz, kind: 'frame', s, k });
  }
  // Opens sort before a frame at the same instant (stable sort keeps insertion order otherwise).
  return events.sort((a, b) => a.at - b.at || (a.kind === 'open' ? -1 : b.kind === 'open' ? 1 : 0));
}

/**
 * Replays a workload against a serving system in real time: requests at their arrival times, streams opened at
 * their start and fed at their rate. Every item is counted once as offered and once as good, late or dropped by
 * code. Resolves when every item has settled and every stream is closed.
 */
export async function drive(o: DriveOptions): Promise<void> {
  const { system, tally } = o;
  const budget = new Map(o.catalog.map((s) => [s.id, budgetOf(s)]));
  const pending = new Set<Promise<void>>();
  const streams = new Map<string, OpenStream>();
  const track = (p: Promise<void>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const t0 = performance.now();

  const pushFrame = (s: StreamSession, st: OpenStream, k: number, at: number): void => {
    const stream = st.stream!;
    try {
      stream.push(o.inputs.get(s.serviceId, k), (outcome) => {
        const latencyMs = performance.now() - at;
        if (outcome.ok) tally.completed(s.serviceId, latencyMs);
        else tally.dropped(s.serviceId, outcome.code, 1, latencyMs);
        tally.frameSettled(s.serviceId, stream.servedAt, outcome.ok ? latencyMs : undefined);
      });
      if (stream.servedAt !== s.node) tally.offloaded(s.serviceId);
      tally.served(s.serviceId, stream.servedAt);
    } catch (err) {
      tally.dropped(s.serviceId, toEparaError(err).code);
    }
  };

  const handle = (e: Event): void => {
    const at = t0 + e.at;
    if (e.kind === 'request') {
      const id = e.r.serviceId;
      tally.offered(id);
      const deadline = Date.now() + budget.get(id)! - (performance.now() - at);
      track(
        system.submit(e.r.node, id, o.inputs.get(id, e.r.variant), deadline).then(
          () => tally.completed(id, performance.now() - at),
          (err: unknown) => tally.dropped(id, toEparaError(err).code, 1, performance.now() - at),
        ),
      );
    } else if (e.kind === 'open') {
      const st: OpenStream = { waiting: [] };
      streams.set(e.s.id, st);
      track(
        system.openStream(e.s.node, e.s.serviceId, e.s.rateHz).then(
          (stream) => {
            st.stream = stream;
            for (const w of st.waiting.splice(0)) pushFrame(e.s, st, w.k, w.at);
          },
          (err: unknown) => {
            st.failed = toEparaError(err).code;
            tally.dropped(e.s.serviceId, st.failed, st.waiting.splice(0).length);
          },
        ),
      );
    } else {
      tally.offered(e.s.serviceId);
      const st = streams.get(e.s.id)!;
      if (st.failed !== undefined) tally.dropped(e.s.serviceId, st.failed);
      else if (st.stream) pushFrame(e.s, st, e.k, at);
      else st.waiting.push({ k: e.k, at });
    }
  };

  const events = timeline(o.workload);
  let i = 0;
  while (i < events.length && !o.signal?.aborted) {
    const wait = t0 + events[i]!.at - performance.now();
    // Always yield while nothing is due (never spin): timers fire at ms granularity, a few ms late at worst.
    if (wait > 0) await sleep(Math.min(wait, 50));
    const now = performance.now() - t0;
    while (i < events.length && events[i]!.at <= now) handle(events[i++]!);
  }
  for (; i < events.length; i++) if (events[i]!.kind !== 'open') tallyAborted(events[i]!, tally);
  while (pending.size > 0) await Promise.all([...pending]);
  await Promise.all([...streams.values()].map((st) => st.stream?.close().catch(() => undefined)));
}

function tallyAborted(e: Event, tally: Tally): void {
  const id: DemoServiceId = e.kind === 'request' ? e.r.serviceId : e.kind === 'frame' ? e.s.serviceId : e.s.serviceId;
  tally.offered(id);
  tally.dropped(id, 'ABORTED');
}
