import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { EparaError } from '@epara/core';
import { startGcMeter, type GcCounts } from './gc-meter.js';

/** A call from the demo's main process to one of its children. */
export interface CallMessage {
  readonly kind: 'call';
  readonly id: number;
  readonly op: string;
  readonly arg: unknown;
}

/** A child's answer to a {@link CallMessage}, or an event it reports on its own (progress). */
export type ChildMessage =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: { code: string; message: string } }
  | { readonly kind: 'event'; readonly name: string; readonly value: unknown };

/** Handlers of a child process, by operation name. */
export type ChildHandlers = Readonly<Record<string, (arg: never) => unknown>>;

/**
 * The child side of the demo's process protocol: answers calls from the main process over the IPC channel,
 * and leaves when the main process goes away (its channel disconnects — a crash or Ctrl-C of the parent
 * included), so no child outlives the demo. Ctrl-C reaches the whole process group; children ignore it and let
 * the main process stop them in order. `shutdown` runs `onExit` and ends the process.
 */
export function serveChild(handlers: ChildHandlers, onExit: () => Promise<void>): void {
  if (!process.send) throw new EparaError('INTERNAL', 'this module runs as a child process of the demo');
  // tsx turns on Node's source-mapped stack traces, which formats every error's stack through the source maps
  // (hundreds of microseconds each: a dropped stream frame is an error). A deployed node runs compiled code
  // without them; so do the demo's children, both systems alike (EPARA_DEMO_SOURCE_MAPS=1 keeps them).
  if (process.env.EPARA_DEMO_SOURCE_MAPS !== '1') process.setSourceMapsEnabled(false);
  let leaving = false;
  const leave = (code: number): void => {
    if (leaving) return;
    leaving = true;
    // A hung close must not keep the process alive: leave anyway after a grace period.
    setTimeout(() => process.exit(code), 3000).unref();
    onExit().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => leave(0));
  process.on('disconnect', () => leave(0));
  process.on('message', (raw) => {
    const m = raw as CallMessage;
    if (m?.kind !== 'call') return;
    if (m.op === 'shutdown') {
      reply({ kind: 'reply', id: m.id, ok: true, value: null });
      return leave(0);
    }
    const handler = (handlers[m.op] ?? PROFILING[m.op]) as ((arg: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new EparaError('INVALID_OPTIONS', `unknown operation ${m.op}`);
        return handler(m.arg);
      })
      .then(
        (value) => reply({ kind: 'reply', id: m.id, ok: true, value: value ?? null }),
        (err: unknown) => reply({ kind: 'reply', id: m.id, ok: false, error: { code: (err as { code?: string }).code ?? 'INTERNAL', message: err instanceof Error ? err.message : String(err) } }),
      );
  });
}

/** The running GC meter of this process (`gcStart` / `gcStop`), if any. */
let gcMeter: (() => GcCounts) | undefined;

let profiler: { session: Session; heap: boolean; gc: PerformanceObserver; pauses: Record<string, { count: number; ms: number }> } | undefined;

const GC_KINDS: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks' };

/**
 * Operations every child answers besides its own: a V8 CPU profile of its main thread (its event loop; a
 * node's device worker is not in it) between `cpuProfileStart` and `cpuProfileStop`, which writes it to the
 * path given (`.cpuprofile`, readable by Chrome's DevTools and by `cpu-profile.ts`); with `{ heap: true }` also
 * a sampling heap profile (where the garbage collector's work comes from) beside it (`.heapprofile`). The same
 * in every child, so both systems' node processes are profiled alike (`cpu-per-item.ts`). `cpuProfileStop`
 * answers the garbage collector's pauses over the profile, by kind, and the heap's size at the end.
 */
const PROFILING: ChildHandlers = {
  /** Starts counting this process's collections and allocations (gc-meter.ts); a meter already running is dropped. */
  gcStart() {
    gcMeter?.();
    gcMeter = startGcMeter();
  },
  /** The counts since `gcStart`. */
  gcStop(): GcCounts {
    const stop = gcMeter;
    gcMeter = undefined;
    if (!stop) throw new EparaError('INVALID_OPTIONS', 'no GC meter is running');
    return stop();
  },
  async cpuProfileStart(o: { heap?: boolean | 'promoted' } | null) {
    if (profiler) throw new EparaError('INVALID_OPTIONS', 'a CPU profile is already being recorded');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    // 250 µs between samples (V8's default is 1 ms): per-request costs of tens of µs still get samples.
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    const heap = o?.heap === true || o?.heap === 'promoted';
    // Every sampled allocation, also those the collector has freed by the end (the default keeps live ones only);
    // `promoted`: without those a scavenge freed — what outlived the young generation, the full collections' work.
    if (heap) await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: o?.heap !== 'promoted' });
    const pauses: Record<string, { count: number; ms: number }> = {};
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
        const p = (pauses[kind] ??= { count: 0, ms: 0 });
        p.count++;
        p.ms += e.duration;
      }
    });
    gc.observe({ entryTypes: ['gc'] });
    await session.post('Profiler.start');
    profiler = { session, heap, gc, pauses };
  },
  async cpuProfileStop(path: string) {
    const p = profiler;
    if (!p) throw new EparaError('INVALID_OPTIONS', 'no CPU profile is being recorded');
    profiler = undefined;
    const { profile } = await p.session.post('Profiler.stop');
    p.gc.disconnect();
    await writeFile(path, JSON.stringify(profile));
    if (p.heap) {
      const heap = await p.session.post('HeapProfiler.stopSampling');
      await writeFile(path.replace(/\.cpuprofile$/, '') + '.heapprofile', JSON.stringify(heap.profile));
    }
    p.session.disconnect();
    const m = process.memoryUsage();
    return { gc: p.pauses, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, rssBytes: m.rss };
  },
};

/** Sends an event to the main process (ignored when the channel is gone). */
export function emitToParent(name: string, value: unknown): void {
  reply({ kind: 'event', name, value });
}

function reply(m: ChildMessage): void {
  if (process.connected) process.send!(m, undefined, undefined, () => undefined);
}
