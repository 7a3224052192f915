// Groups that share one test set run as one Stryker run (SHARED in stryker.config.mjs): one start and one dry run
// instead of one per group, with the same tests per mutant (each group's tests are the same files). The committed
// results stay one file per group (test/mutation/<group>.incremental.json): before such a run `mergeReports` makes the
// run's incremental file from its groups' files, and `splitReports` writes the run's results back into them (the
// checkpoint reporter as the run goes, scripts/run-mutation.mjs when it ends).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
function inGroup(globs, file) {
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
