import { parseArgs } from 'node:util';
import { invalidOption } from '@epara/core';

/** Options of the demo ({@link main}); every field has a default in {@link DEMO_DEFAULTS}. */
export interface DemoOptions {
  /** Seconds of workload per system. @default 30 (3 with `quick`) */
  readonly duration?: number;
  /**
   * Multiplier of every request rate and stream count of the base mix (`BASE_MIX` in workload.ts). The default puts the Triton-like
   * baseline past its capacity on one server while EPARA can still spread the work (docs/demo.md §5).
   * @default 6
   */
  readonly load?: number;
  /** Edge servers (one 1-thread device each). @default 3 */
  readonly nodes?: number;
  /** Seed of the workload and inputs. @default 42 */
  readonly seed?: number;
  /** A short run for tests and smoke checks: fewer profiling repetitions, 3 s of workload. @default false */
  readonly quick?: boolean;
  /** Where lines go. @default console.log */
  readonly log?: (line: string) => void;
  /** Draw a live bar instead of plain lines. @default whether stdout is a terminal */
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
}

/** Defaults of {@link DemoOptions}. */
export const DEMO_DEFAULTS = { duration: 30, quickDuration: 3, load: 6, nodes: 3, seed: 42 } as const;

/** {@link DemoOptions} with defaults filled and checked. */
export interface ResolvedDemoOptions {
  readonly durationMs: number;
  readonly load: number;
  readonly nodes: number;
  readonly seed: number;
  readonly quick: boolean;
  readonly log: (line: string) => void;
  readonly tty: boolean;
  readonly signal: AbortSignal | undefined;
}

/**
 * Fills and validates the demo's options.
 * @throws EparaError `INVALID_OPTIONS` naming the field, its value and what was expected.
 */
export function resolveDemoOptions(o: DemoOptions = {}): ResolvedDemoOptions {
  if (typeof o !== 'object' || o === null) invalidOption('options', o, 'an object');
  const quick = o.quick ?? false;
  const duration = o.duration ?? (quick ? DEMO_DEFAULTS.quickDuration : DEMO_DEFAULTS.duration);
  if (!(typeof duration === 'number' && duration > 0 && duration <= 3600)) invalidOption('duration', duration, 'seconds in (0, 3600]');
  const load = o.load ?? DEMO_DEFAULTS.load;
  if (!(typeof load === 'number' && load > 0 && load <= 20)) invalidOption('load', load, 'a multiplier in (0, 20]');
  const nodes = o.nodes ?? DEMO_DEFAULTS.nodes;
  if (!(Number.isInteger(nodes) && nodes >= 1 && nodes <= 8)) invalidOption('nodes', nodes, 'an integer from 1 to 8');
  const seed = o.seed ?? DEMO_DEFAULTS.seed;
  if (!(Number.isInteger(seed) && seed >= 0)) invalidOption('seed', seed, 'a non-negative integer');
  if (o.log !== undefined && typeof o.log !== 'function') invalidOption('log', o.log, 'a function (line) => void');
  return {
    durationMs: duration * 1000,
    load,
    nodes,
    seed,
    quick,
    log: o.log ?? ((line) => console.log(line)),
    tty: o.tty ?? process.stdout.isTTY === true,
    signal: o.signal,
  };
}

/** Reads `--duration 30 --load 6 --nodes 3 --seed 42 --quick --sweep --loads 1,2,4` from the command line. */
export function parseDemoArgs(argv: readonly string[]): { options: DemoOptions; help: boolean; sweep: boolean; loads: number[] | undefined } {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      duration: { type: 'string' },
      load: { type: 'string' },
      nodes: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean' },
      sweep: { type: 'boolean' },
      loads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const options = {
    ...(values.duration !== undefined ? { duration: num(values.duration)! } : {}),
    ...(values.load !== undefined ? { load: num(values.load)! } : {}),
    ...(values.nodes !== undefined ? { nodes: num(values.nodes)! } : {}),
    ...(values.seed !== undefined ? { seed: num(values.seed)! } : {}),
    ...(values.quick ? { quick: true } : {}),
  };
  const loads = values.loads === undefined ? undefined : values.loads.split(',').map(Number);
  return { options, help: values.help === true, sweep: values.sweep === true || loads !== undefined, loads };
}

/** The `--help` text. */
export const USAGE = `pnpm demo [-- --duration <s>] [--load <x>] [--nodes <n>] [--seed <n>] [--quick]
  --duration  seconds of workload per system (default 30; 3 with --quick)
  --load      multiplier of request rates and stream counts (default 6)
  --nodes     edge servers, one 1-thread device each (default 3)
  --seed      workload and input seed (default 42)
  --quick     short run: 3 timed profiling runs instead of 5, 3 s of workload
  --sweep     instead: short runs at several loads (default 1,2,3,4,5,6; 10 s each), a table of ratios per load
  --loads     the loads of --sweep, e.g. 2,4,6 (implies --sweep)`;
