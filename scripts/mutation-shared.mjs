// The groups of one Stryker run (RUNS in stryker.config.mjs): one start and one dry run instead of one per group, each
// mutant running only tests of its own group (`dropOtherGroupsCoverage`, which test/setup/mutant-run-coverage.ts applies
// to the dry run's coverage). The committed results stay one file per group (test/mutation/<group>.incremental.json):
// before such a run `mergeReports` makes the run's incremental file from its groups' files, and `splitReports` writes
// the run's results back into them (the checkpoint reporter as the run goes, scripts/run-mutation.mjs when it ends).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A `mutate` glob of stryker.config.mjs as a regular expression (the forms it uses: `**` and `*`). */
function globToRegExp(glob) {
  const body = glob
    .split('**/')
    .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
    .join('(?:.*/)?');
  return new RegExp(`^${body}$`);
}

/** Whether a report's file (its path from the project root) is one the group mutates. */
export function inGroup(globs, file) {
  return globs.some((g) => globToRegExp(g).test(file));
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
function writeWhole(path, report) {
  mkdirSync(dirname(path), { recursive: true });
  // Written whole, then renamed: a run stopped mid-write leaves the previous file, never half of one.
  writeFileSync(`${path}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${path}.tmp`, path);
}
const readSource = (root, file) => {
  try {
    return readFileSync(join(root, file), 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * One incremental report from the groups' reports (those that exist). Every test is named `<file>#<name>` (Stryker
 * keys a test by its file and name: the vitest runner reports no location). A test file that the groups' reports hold
 * in different versions keeps one, the one equal to the file now if a report has it: a mutant of a report that holds
 * another version loses its references to that file's tests, so Stryker sees them as changed (a killed mutant whose
 * killing test is gone, or a surviving one with a new covering test, is tested again) — as it would have in that
 * group's own run, where a test file's change also changes every test in it.
 */
export function mergeReports(reportPaths, root) {
  const reports = reportPaths.filter((p) => existsSync(p)).map(readJson);
  const chosen = {};
  for (const report of reports) {
    for (const [file, entry] of Object.entries(report.testFiles ?? {})) {
      const now = readSource(root, file);
      if (chosen[file] === undefined || (chosen[file].source !== now && entry.source === now)) chosen[file] = entry;
    }
  }
  const testFiles = {};
  for (const [file, entry] of Object.entries(chosen)) {
    const names = [...new Set(entry.tests.map((t) => t.name))];
    testFiles[file] = { source: entry.source, tests: names.map((name) => ({ id: `${file}#${name}`, name })) };
  }
  const files = {};
  for (const report of reports) {
    // This report's test ids, as merged ids: only the tests of the version of their file the merge kept.
    const ids = new Map();
    for (const [file, entry] of Object.entries(report.testFiles ?? {})) {
      if (entry.source !== chosen[file].source) continue;
      for (const t of entry.tests) ids.set(t.id, `${file}#${t.name}`);
    }
    const map = (list) => (list === undefined ? undefined : [...new Set(list.map((id) => ids.get(id)).filter((id) => id !== undefined))]);
    for (const [file, entry] of Object.entries(report.files)) {
      files[file] = { ...entry, mutants: entry.mutants.map((m) => ({ ...m, coveredBy: map(m.coveredBy), killedBy: map(m.killedBy) })) };
    }
  }
  const first = reports[0] ?? {};
  return { schemaVersion: first.schemaVersion ?? '1.0', thresholds: first.thresholds ?? { high: 80, low: 60 }, files, testFiles, projectRoot: root };
}

/** Writes `report`'s results into each group's file: the files the group mutates, and the tests (shared by all). */
export function splitReport(report, groups, pathOf) {
  for (const [group, globs] of Object.entries(groups)) {
    const files = Object.fromEntries(Object.entries(report.files).filter(([file]) => inGroup(globs, file)));
    writeWhole(pathOf(group), { ...report, files });
  }
}

/** Reads the run's incremental file and splits it into its groups' files (nothing when there is none). */
export function splitFile(path, groups, pathOf) {
  if (!existsSync(path)) return false;
  splitReport(readJson(path), groups, pathOf);
  return true;
}

export { writeWhole as writeReport };

/**
 * Per group of a run (`groups`: group → its `mutate` globs), the ids of the mutants Stryker placed in its files, read
 * from the instrumented sources under `root` (the sandbox): each mutant's switch (`stryMutAct_9fa48("12")`) and
 * coverage call (`stryCov_9fa48("12", "13")`) name it.
 */
export function mutantIdsByGroup(root, groups) {
  const out = {};
  for (const [group, globs] of Object.entries(groups)) {
    const ids = new Set();
    for (const glob of globs) {
      const base = glob.includes('*') ? glob.slice(0, glob.indexOf('*')).replace(/\/[^/]*$/, '') : glob;
      let files;
      try {
        files = glob.includes('*') ? readdirSync(join(root, base), { recursive: true }).map((f) => `${base}/${String(f).split('\\').join('/')}`) : [glob];
      } catch {
        continue;
      }
      for (const file of files) {
        if (!inGroup([glob], file)) continue;
        const text = readSource(root, file);
        if (text === undefined || !text.includes('stryMutAct_9fa48')) continue;
        for (const [, args] of text.matchAll(/stry(?:MutAct|Cov)_9fa48\(([^)]*)\)/g)) for (const [, id] of args.matchAll(/"([^"]+)"/g)) ids.add(id);
      }
    }
    out[group] = ids;
  }
  return out;
}

/**
 * Drops from a dry run's per-test coverage (`perTest`: test id → mutant id → hits) what the tests of `testFile` (its
 * path from the project root; `idPrefix`, how Stryker's test ids of that file begin) reached of groups whose tests
 * (`testsOf`: group → its TESTS globs) do not hold that file: a mutant of a run of several groups then runs only its
 * own group's tests, as in the group's own run. Returns how many entries went.
 */
export function dropOtherGroupsCoverage(perTest, testFile, idPrefix, idsByGroup, testsOf) {
  const foreign = new Set();
  for (const [group, ids] of Object.entries(idsByGroup)) if (!inGroup(testsOf[group] ?? [], testFile)) for (const id of ids) foreign.add(id);
  if (foreign.size === 0) return 0;
  let dropped = 0;
  for (const [testId, hits] of Object.entries(perTest)) {
    if (!testId.startsWith(idPrefix)) continue;
    for (const id of Object.keys(hits)) if (foreign.has(id)) (delete hits[id], dropped++);
  }
  return dropped;
}
