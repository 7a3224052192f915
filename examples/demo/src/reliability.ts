import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

/** CPU time counters at one instant (Linux `/proc`), in clock ticks. */
interface CpuSample {
  readonly at: number;
  /** Busy ticks of the whole machine (all cores). */
  readonly busy: number;
  /** Busy ticks of the demo's own processes (user + system, all their threads). */
  readonly ours: number;
}

/** How much of the machine other processes used while the demo measured. */
export interface MachineLoad {
  /** Share of the machine's total CPU (0–1) used by processes that are not the demo's, during the trials. */
  readonly otherShare: number | null;
  /** Share used by the demo's own processes. */
  readonly demoShare: number | null;
  /** 1-minute load average at the end. */
  readonly loadAvg1: number;
  readonly cores: number;
  /** False when other processes took more than {@link OTHER_LOAD_LIMIT} of the machine. */
  readonly reliable: boolean;
}

/**
 * Above this share of the machine's CPU taken by other processes during the trials, the run is flagged
 * unreliable: on 2 cores, a quarter of the machine is half a core that the demo's nodes did not get, which
 * moved ratios by tens of percent in the measurements of docs/demo.md.
 */
export const OTHER_LOAD_LIMIT = 0.25;

const TICKS_PER_SEC = 100;

/** Busy CPU time of the whole machine so far (all cores, all processes), ms; `null` without `/proc`. */
export function machineBusyMs(): number | null {
  const ticks = machineBusy();
  return ticks === null ? null : (ticks * 1000) / TICKS_PER_SEC;
}

/**
 * CPU time of each thread of a process so far (user + system), ms, by thread id (`/proc/<pid>/task/<tid>/stat`;
 * the main thread's id is the pid). Empty when the process is gone or without `/proc`.
 */
export function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out[tid] = (processBusy(pid, `/proc/${pid}/task/${tid}/stat`) * 1000) / TICKS_PER_SEC;
  } catch {
    // gone, or no /proc
  }
  return out;
}

function machineBusy(): number | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    return cpu.slice(0, 8).reduce((a, v, i) => (i === 3 || i === 4 ? a : a + v), 0);
  } catch {
    return null;
  }
}

/** CPU time a process has used so far (user + system, all its threads), ms; 0 when it is gone or without `/proc`. */
export function processCpuMs(pid: number): number {
  return (processBusy(pid) * 1000) / TICKS_PER_SEC;
}

/**
 * CPU time of a process's main thread (its event loop; the worker threads, such as a node's device, are the
 * rest of {@link processCpuMs}), in ms; 0 without `/proc`.
 */
export function mainThreadCpuMs(pid: number): number {
  return (processBusy(pid, `/proc/${pid}/task/${pid}/stat`) * 1000) / TICKS_PER_SEC;
}

function processBusy(pid: number, path = `/proc/${pid}/stat`): number {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return 0; // gone: its time up to now is lost to the count, a small error
  }
}

/**
 * Accumulates CPU accounting over the measured intervals (the trials): call {@link CpuMeter.begin} and
 * {@link CpuMeter.end} around each, with the demo's pids (this process and every child).
 */
export class CpuMeter {
  #start: CpuSample | undefined;
  #wall = 0;
  #busy = 0;
  #ours = 0;
  #available = true;

  #sample(pids: readonly number[]): CpuSample | undefined {
    const busy = machineBusy();
    if (busy === null) return undefined;
    return { at: performance.now(), busy, ours: pids.reduce((a, p) => a + processBusy(p), 0) };
  }

  begin(pids: readonly number[]): void {
    this.#start = this.#sample(pids);
    if (!this.#start) this.#available = false;
  }

  end(pids: readonly number[]): void {
    const s = this.#start;
    const e = this.#sample(pids);
    this.#start = undefined;
    if (!s || !e) return;
    this.#wall += (e.at - s.at) / 1000;
    this.#busy += e.busy - s.busy;
    this.#ours += e.ours - s.ours;
  }

  /** The verdict over every interval measured so far. */
  result(): MachineLoad {
    const cores = availableParallelism();
    const loadAvg1 = loadavg()[0]!;
    if (!this.#available || this.#wall === 0) {
      // No /proc: fall back on the load average, less the demo's own threads (about one per node and client).
      return { otherShare: null, demoShare: null, loadAvg1, cores, reliable: loadAvg1 < cores * 1.5 };
    }
    const capacity = this.#wall * TICKS_PER_SEC * cores;
    const otherShare = Math.max(0, (this.#busy - this.#ours) / capacity);
    return { otherShare, demoShare: this.#ours / capacity, loadAvg1, cores, reliable: otherShare <= OTHER_LOAD_LIMIT };
  }
}
