import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { Tally } from './tally.js';

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** `EPARA` or `Triton-like`. */
  readonly label: string;
  readonly durationMs: number;
  readonly tally: Tally;
  /** Offloads so far (the system's own counter: forwards for EPARA, remote replicas for the baseline). */
  readonly offloads: () => number;
  /** Draw a live bar (a TTY), or print plain lines through `log` every `plainEveryMs`. */
  readonly tty: boolean;
  readonly log: (line: string) => void;
  readonly plainEveryMs: number;
}

function snapshot(o: ProgressOptions, startedAt: number, elu: EventLoopUtilization): Record<string, string | number> {
  const t = o.tally.totals();
  const busy = performance.eventLoopUtilization(elu).utilization;
  const elapsed = (performance.now() - startedAt) / 1000;
  return {
    label: o.label.padEnd(11),
    secs: Math.min(elapsed, o.durationMs / 1000).toFixed(1),
    total: (o.durationMs / 1000).toFixed(0),
    done: t.settled,
    offered: t.offered,
    goodput: (t.good / Math.max(elapsed, 0.001)).toFixed(1),
    offloads: o.offloads(),
    drops: t.dropped,
    loop: `${Math.round(100 * busy)}%`,
  };
}

/**
 * The live view of a run: a cli-progress bar redrawn in place on a terminal (elapsed, items done, goodput/s,
 * offloads, drops, and how busy the main thread's event loop is), or plain periodic lines when output is not a terminal (CI logs, pipes, tests).
 * Returns a stop function that draws the final state and frees the timer.
 */
export function startProgress(o: ProgressOptions): () => void {
  const startedAt = performance.now();
  const elu = performance.eventLoopUtilization();
  if (!o.tty) {
    const line = (): void => {
      const s = snapshot(o, startedAt, elu);
      o.log(`  ${String(s['label']).trim()} ${s['secs']}/${s['total']} s  done ${s['done']}/${s['offered']}  goodput ${s['goodput']}/s  offloads ${s['offloads']}  drops ${s['drops']}  main thread ${s['loop']}`);
    };
    const timer = setInterval(line, o.plainEveryMs);
    return () => {
      clearInterval(timer);
      line();
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: '{label} [{bar}] {secs}/{total} s | done {done}/{offered} | goodput {goodput}/s | offloads {offloads} | drops {drops} | main thread {loop}',
      barsize: 24,
      hideCursor: true,
      stream: process.stdout,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(o.durationMs, 0, snapshot(o, startedAt, elu));
  const timer = setInterval(() => bar.update(Math.min(o.durationMs, performance.now() - startedAt), snapshot(o, startedAt, elu)), 200);
  return () => {
    clearInterval(timer);
    bar.update(o.durationMs, snapshot(o, startedAt, elu));
    bar.stop();
  };
}
