import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { EparaError, isEparaError } from '@epara/core';
import { EXPERIMENTS, runExperiment, type ExperimentId } from '../experiments/registry.js';
import { writeReport } from '../report/write-report.js';
import { simulateInParallel } from '../shard/simulate-in-parallel.js';

const USAGE = `usage:
  epara-sim run <e1..e8|sensitivity> [--seed N] [--out DIR] [--quick] [--no-progress]
      run one experiment and write its report (markdown, JSON, SVG charts) to DIR (default sim-reports/<id>)
  epara-sim scenario <file.json> [--workers N]
      run one scenario file (JSON, see docs/simulator.md) and print its result as JSON; a run whose zones are
      independent spreads them over N worker threads (default: one per core, at most one per zone; the result
      is the same for every N)
  epara-sim list
      list the experiments
  epara-sim --help
      print this help`;

/** Parses the command line and runs it; resolves with the exit code. */
export async function main(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { seed: { type: 'string' }, out: { type: 'string' }, workers: { type: 'string' }, quick: { type: 'boolean' }, 'no-progress': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    } catch (err) {
      throw new EparaError('INVALID_OPTIONS', `${(err as Error).message}\n${USAGE}`, { field: 'argv' });
    }
    const { values, positionals } = parsed;
    const [cmd, arg] = positionals;
    if (values.help === true || cmd === 'help') {
      out(`${USAGE}\n`);
      return 0;
    }
    if (cmd === 'list') {
      for (const [id, e] of Object.entries(EXPERIMENTS)) out(`${id}  ${e.title}\n`);
      return 0;
    }
    if (cmd === 'run') {
      if (arg === undefined || !(arg in EXPERIMENTS)) throw new EparaError('INVALID_OPTIONS', `unknown experiment ${JSON.stringify(arg)}; one of ${Object.keys(EXPERIMENTS).join(', ')}`, { field: 'experiment', value: arg });
      const seed = values.seed === undefined ? 1 : Number(values.seed);
      if (!Number.isInteger(seed)) throw new EparaError('INVALID_OPTIONS', `--seed must be an integer, got ${values.seed}`, { field: 'seed', value: values.seed });
      const quiet = values['no-progress'] === true;
      // A bar draws nothing off a terminal: pipes and CI logs get a line per finished run instead.
      const bar = quiet || !process.stderr.isTTY ? null : new SingleBar({ format: `${arg} [{bar}] {value}/{total} runs`, stream: process.stderr }, Presets.shades_classic);
      let started = false;
      const report = runExperiment(arg as ExperimentId, {
        seed, quick: values.quick === true,
        onRun: (done, planned) => {
          if (!quiet && bar === null) process.stderr.write(`${arg}: run ${done}/${Math.max(planned, done)}\n`);
          if (bar === null) return;
          if (!started) bar.start(planned, 0);
          started = true;
          bar.setTotal(Math.max(planned, done));
          bar.update(done);
        },
      });
      bar?.stop();
      const dir = values.out ?? `sim-reports/${arg}`;
      for (const p of writeReport(report, dir)) out(`wrote ${p}\n`);
      return 0;
    }
    if (cmd === 'scenario') {
      if (arg === undefined) throw new EparaError('INVALID_OPTIONS', 'scenario needs a file', { field: 'file' });
      const workers = values.workers === undefined ? undefined : Number(values.workers);
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new EparaError('INVALID_OPTIONS', `--workers must be an integer >= 1, got ${values.workers}`, { field: 'workers', value: values.workers });
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(arg, 'utf8'));
      } catch (err) {
        throw new EparaError('INVALID_OPTIONS', `cannot read scenario file ${arg}: ${(err as Error).message}`, { field: 'file', value: arg });
      }
      out(`${JSON.stringify(await simulateInParallel(parsed as never, workers === undefined ? {} : { workers }), null, 2)}\n`);
      return 0;
    }
    out(`${USAGE}\n`);
    return cmd === undefined ? 0 : 2;
  } catch (err) {
    if (isEparaError(err)) {
      process.stderr.write(`epara-sim: ${err.code}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
