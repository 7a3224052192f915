// A Stryker reporter (`reporters: [..., 'epara-checkpoint']` in stryker.config.mjs): keeps the results of a run
// that is stopped half-way. Stryker writes a group's incremental file only when the group finishes, so a run
// stopped after an hour (the session ends, the machine is needed) used to leave nothing to reuse. This reporter
// writes the same file as it goes, in the format Stryker reads back (a mutation-testing report): every mutant
// tested so far, the sources they were tested on, and the tests of the dry run. The next run reuses those
// results (each whose code and covering tests did not change) and tests only the rest; when a run finishes,
// Stryker's own write replaces the checkpoint with the full report.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { GROUPS, RUNS } from '../stryker.config.mjs';
import { splitReport } from './mutation-shared.mjs';

// A run of several groups (RUNS) writes its results into each group's committed file too.
const shared = RUNS[process.env.MUTATION_GROUP ?? ''];
const groupsOfRun = shared === undefined ? undefined : Object.fromEntries(shared.map((g) => [g, GROUPS[g]]));

/** A file's key in a report: its path from the project root, with forward slashes (as Stryker writes them). */
const key = (fileName) => relative(process.cwd(), fileName).split(sep).join('/');
const read = (fileName) => {
  try {
    return readFileSync(resolve(fileName), 'utf8');
  } catch {
    return '';
  }
};
/**
 * How often the checkpoint is rewritten: after this many results, once this many seconds have passed since the last
 * write. A write is the whole report: the four placement groups' run wrote 44 MB for 2,100 mutants (their tests'
 * names in every mutant's `coveredBy`), about 1 s of CPU each time, so a write per 20 results would have cost a
 * from-scratch placement run some 170 s of CPU; one a minute loses at most a minute of results.
 */
const EVERY = Number(process.env.MUTATION_CHECKPOINT_EVERY ?? 20);
const EVERY_MS = 1000 * Number(process.env.MUTATION_CHECKPOINT_SECONDS ?? 60);

class CheckpointReporter {
  static inject = ['options'];
  #file;
  #testFiles = {};
  #files = {};
  #pending = 0;
  #writtenAt = Date.now();

  constructor(options) {
    this.#file = options.incremental ? options.incrementalFile : undefined;
  }

  onDryRunCompleted({ result }) {
    for (const test of result.tests ?? []) {
      if (!test.fileName) continue;
      const k = key(test.fileName);
      this.#testFiles[k] ??= { source: read(test.fileName), tests: [] };
      this.#testFiles[k].tests.push({
        id: test.id,
        name: test.name,
        ...(test.startPosition ? { location: { start: { line: test.startPosition.line + 1, column: test.startPosition.column + 1 } } } : {}),
      });
    }
  }

  onMutationTestingPlanReady({ mutantPlans }) {
    // The sources as they are now, before any mutant is tested: what the results that follow were tested on.
    for (const { mutant } of mutantPlans) {
      const k = key(mutant.fileName);
      this.#files[k] ??= { language: 'typescript', source: read(mutant.fileName), mutants: [] };
    }
  }

  onMutantTested(result) {
    if (!this.#file) return;
    const { fileName, ...mutant } = result;
    const k = key(fileName);
    this.#files[k] ??= { language: 'typescript', source: read(fileName), mutants: [] };
    this.#files[k].mutants.push(mutant);
    if (++this.#pending >= EVERY && Date.now() - this.#writtenAt >= EVERY_MS) this.#write();
  }

  onMutationTestReportReady() {
    // Stryker writes the full report to the same file right after; nothing to add.
    this.#pending = 0;
    this.#file = undefined;
  }

  #write() {
    this.#pending = 0;
    this.#writtenAt = Date.now();
    const files = Object.fromEntries(Object.entries(this.#files).filter(([, f]) => f.mutants.length > 0));
    const report = { schemaVersion: '1.0', thresholds: { high: 80, low: 60 }, files, testFiles: this.#testFiles, projectRoot: process.cwd() };
    mkdirSync(dirname(this.#file), { recursive: true });
    // Written whole, then renamed: a run killed mid-write leaves the previous checkpoint, never half a file.
    writeFileSync(`${this.#file}.tmp`, JSON.stringify(report, null, 2));
    renameSync(`${this.#file}.tmp`, this.#file);
    if (groupsOfRun !== undefined) splitReport(report, groupsOfRun, (g) => resolve(`test/mutation/${g}.incremental.json`));
  }
}

export const strykerPlugins = [{ kind: 'Reporter', name: 'epara-checkpoint', injectableClass: CheckpointReporter }];
