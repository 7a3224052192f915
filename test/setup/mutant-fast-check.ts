/*
 * Mutation runs only (vitest.mutation.config.ts): a fast-check property that fails while Stryker runs a mutant stops
 * at its first counterexample instead of shrinking it (`endOnFailure`). Stryker needs only that the test fails; the
 * shrinking that follows reran the property's predicate tens to thousands of times for a message nobody reads, and
 * was the costliest part of a killed mutant's run in the scheduling and placement properties. Whether a property
 * fails does not change (the same seed, the same cases up to the first failure), so neither does any mutant's status.
 * The dry run and a plain `vitest run` shrink as before. Runs after test/setup/fast-check.ts, which sets the seed
 * and FC_RUNS for every file.
 */
import fc from 'fast-check';
import { inject } from 'vitest';

// Stryker's vitest runner provides `mode` ('dry-run' or 'mutant') to every run; a plain vitest run has none.
if ((inject as (key: string) => unknown)('mode') === 'mutant' && process.env['MUTATION_SHRINK'] !== '1') {
  fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });
}
