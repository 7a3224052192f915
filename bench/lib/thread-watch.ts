/**
 * Where the process's CPU went over a window, thread by thread (Linux `/proc/self/task/<tid>/schedstat`:
 * nanoseconds on a CPU and nanoseconds waiting in the run queue, per thread). It separates the two causes of
 * host event-loop lag that a wall-clock histogram cannot tell apart: the main thread *running* (its own work,
 * the collector's pauses on it) and the main thread *runnable but not running* (the scheduler gave its core to
 * another thread: a device's onnxruntime, V8's helper threads, another process). Threads are grouped by name
 * (`comm`): the main thread is the one whose id is the process id.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One thread group's times over the window, ms. */
export interface ThreadTimes {
  readonly threads: number;
  /** Time on a CPU. */
  readonly cpuMs: number;
  /** Time runnable but waiting for a CPU. */
  readonly waitMs: number;
}

/** The window's per-thread-group times; undefined off Linux. */
export interface ThreadSummary {
  readonly main: ThreadTimes;
  /** Every other thread of the process, by name (`node` worker threads, `libuv-worker`, `V8 DefaultWorke`…). */
  readonly others: ReadonlyMap<string, ThreadTimes>;
  /** The busiest other threads one by one (CPU time, ms), to tell a device's compute thread from helpers. */
  readonly busiest: readonly ThreadTimes[];
  readonly wallMs: number;
}

type Sample = Map<number, { name: string; cpuNs: number; waitNs: number }>;

function sample(): Sample | undefined {
  const out: Sample = new Map();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    try {
      const [cpu, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ');
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      out.set(Number(tid), { name, cpuNs: Number(cpu), waitNs: Number(wait) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** Starts a window; the returned function ends it (undefined where `/proc` has no schedstat). */
export function startThreadWatch(): () => ThreadSummary | undefined {
  const before = sample();
  const t0 = performance.now();
  return () => {
    const after = sample();
    if (before === undefined || after === undefined || !after.has(process.pid)) return undefined;
    const others = new Map<string, { threads: number; cpuMs: number; waitMs: number }>();
    let main: ThreadTimes = { threads: 1, cpuMs: 0, waitMs: 0 };
    const each: ThreadTimes[] = [];
    for (const [tid, a] of after) {
      const b = before.get(tid);
      // A thread born inside the window counts from zero.
      const cpuMs = (a.cpuNs - (b?.cpuNs ?? 0)) / 1e6;
      const waitMs = (a.waitNs - (b?.waitNs ?? 0)) / 1e6;
      if (tid === process.pid) {
        main = { threads: 1, cpuMs, waitMs };
        continue;
      }
      each.push({ threads: 1, cpuMs, waitMs });
      const g = others.get(a.name) ?? { threads: 0, cpuMs: 0, waitMs: 0 };
      g.threads++;
      g.cpuMs += cpuMs;
      g.waitMs += waitMs;
      others.set(a.name, g);
    }
    each.sort((x, y) => y.cpuMs - x.cpuMs);
    return { main, others, busiest: each.slice(0, 4), wallMs: performance.now() - t0 };
  };
}

/** One line for the bench's output. */
export function describeThreads(s: ThreadSummary | undefined): string {
  if (s === undefined) return 'threads: per-thread times unavailable (no /proc schedstat)';
  const f = (t: ThreadTimes): string => `${t.cpuMs.toFixed(0)} ms on CPU, ${t.waitMs.toFixed(0)} ms waiting for one`;
  const rest = [...s.others]
    .filter(([, t]) => t.cpuMs >= 1)
    .sort((a, b) => b[1].cpuMs - a[1].cpuMs)
    .map(([name, t]) => `${name} ×${t.threads}: ${f(t)}`)
    .join('; ');
  const top = s.busiest.map((t) => `${t.cpuMs.toFixed(0)}/${t.waitMs.toFixed(0)}`).join(', ');
  return `threads over ${s.wallMs.toFixed(0)} ms: main ${f(s.main)}; ${rest} (busiest, CPU/wait ms: ${top})`;
}
