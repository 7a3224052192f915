import cliProgress from 'cli-progress';
import type { ProfileSample } from '@epara/core';

/** Progress of a profiling run on a terminal (a bar) or in a log (one line per batch size). */
export interface ProfileProgress {
  sample(done: number, sample: ProfileSample): void;
  stop(): void;
}

/**
 * A bar when `stream` is a TTY; otherwise one line per finished batch size with its median, so CI logs and
 * pipes show progress too (a bar draws nothing there).
 */
export function createProgress(o: { batchSizes: readonly number[]; repetitions: number; stream: NodeJS.WriteStream }): ProfileProgress {
  const total = o.batchSizes.length * o.repetitions;
  if (o.stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'profiling {bar} {value}/{total} runs | batch {batch}: {ms} ms', stream: o.stream },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { batch: '-', ms: '-' });
    return { sample: (done, s) => bar.update(done, { batch: s.batch, ms: s.ms.toFixed(2) }), stop: () => bar.stop() };
  }
  let runs: number[] = [];
  return {
    sample(done, s) {
      runs.push(s.ms);
      if (runs.length < o.repetitions) return;
      const sorted = [...runs].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      o.stream.write(`batch ${s.batch}: median ${median.toFixed(2)} ms of ${runs.length} runs (${done}/${total})\n`);
      runs = [];
    },
    stop: () => undefined,
  };
}
