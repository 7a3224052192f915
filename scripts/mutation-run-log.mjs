// A vitest reporter for mutation runs (vitest.mutation.config.ts adds it when MUTATION_RUN_LOG names a file): one
// JSON line per vitest run of a Stryker test process — the dry run and every mutant's run — with what the run cost
// in counts and CPU rather than wall time: the mutant, the test files and tests run, each file's test time, and the
// CPU of the test process (its worker thread included) during the run and since the previous one ended (Stryker's
// own work between runs). `node scripts/mutation-run-cost.mjs <log>` adds the lines up per source file and test file.
// Several test processes may append to one file: a line is written with one appendFileSync call.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';

/** How test/setup/mutant-loop-bound.ts's error begins. */
const LOOP_BOUND = 'Mutation loop bound';

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** A test's name as Stryker's vitest runner gives it (its `collectTestName`): the suites' names and its own. */
const strykerName = (task) => {
  const parts = [task.name];
  for (let suite = task.suite; suite; suite = suite.suite) parts.unshift(suite.name);
  return parts.join(' ').trim();
};

export class MutationRunLog {
  #file;
  #ctx;
  #cpuAtStart = 0;
  #cpuAtLastEnd = cpuMs();
  #wallAtStart = 0;

  constructor(file) {
    this.#file = file;
  }

  onInit(ctx) {
    this.#ctx = ctx;
  }

  onTestRunStart() {
    this.#cpuAtStart = cpuMs();
    this.#wallAtStart = performance.now();
  }

  onTestRunEnd(testModules, unhandledErrors) {
    const cpu = cpuMs();
    const provided = this.#ctx?.getRootProject().getProvidedContext() ?? {};
    const root = this.#ctx?.config.root ?? process.cwd();
    const files = testModules.map((module) => {
      const tests = [...module.children.allTests()];
      const states = tests.map((t) => t.result().state);
      return {
        file: relative(root, module.moduleId),
        ran: states.filter((s) => s === 'passed' || s === 'failed').length,
        failed: states.filter((s) => s === 'failed').length,
        testMs: Math.round(tests.reduce((sum, t) => sum + (t.diagnostic()?.duration ?? 0), 0)),
        moduleMs: Math.round(module.diagnostic().duration),
        // Tests the loop bound threw out of (test/setup/mutant-loop-bound.ts): the run reports a Timeout.
        loopBound: tests.filter((t) => t.result().errors?.some((e) => String(e.message).startsWith(LOOP_BOUND)) === true).length,
        // The most any test of the file needed of the loop bound's factor (test/setup/mutant-loop-bound.ts: its reads of
        // the mutant switch over the floor, per dry-run most of the file); mutant runs only.
        ...(provided.mode === 'mutant' ? { loopFactor: Math.max(0, ...tests.map((t) => Number(t.meta()?.mutationLoopFactor ?? 0))) } : {}),
        // The slowest test of the file in a mutant's run: beside the dry run's, what the hung-test bound must allow
        // (test/setup/mutant-test-timeout.ts).
        ...(provided.mode === 'mutant' ? { slowestMs: Math.round(Math.max(0, ...tests.map((t) => t.diagnostic()?.duration ?? 0))) } : {}),
        // The dry run's time of each test, by the name Stryker's report gives it (its file's `testFiles` entry): what
        // scripts/mutation-estimate.mjs multiplies by the tests each mutant runs. Mutant runs leave it out.
        ...(provided.mode === 'mutant' ? {} : { tests: Object.fromEntries(tests.map((t) => [strykerName(t.task), Math.round(10 * (t.diagnostic()?.duration ?? 0)) / 10])) }),
      };
    });
    const line = {
      pid: process.pid,
      mode: provided.mode ?? null,
      mutant: provided.activeMutant ?? null,
      files,
      errors: unhandledErrors.length,
      cpuMs: Math.round(cpu - this.#cpuAtStart),
      cpuBetweenMs: Math.round(this.#cpuAtStart - this.#cpuAtLastEnd),
      wallMs: Math.round(performance.now() - this.#wallAtStart),
    };
    this.#cpuAtLastEnd = cpu;
    appendFileSync(this.#file, `${JSON.stringify(line)}\n`);
  }
}
