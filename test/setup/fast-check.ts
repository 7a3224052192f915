/*
 * Every fast-check property in the suite runs from one fixed seed, so a run is reproducible and a failure
 * replays exactly; fast-check's failure message names the seed and the shrunk path. Explore other inputs
 * with FC_SEED=<n> (and FC_RUNS=<n>); a property that fixes its own seed keeps it.
 */
import fc from 'fast-check';

const seed = Number(process.env['FC_SEED'] ?? 20261204);
const numRuns = process.env['FC_RUNS'] === undefined ? undefined : Number(process.env['FC_RUNS']);
fc.configureGlobal({ seed, ...(numRuns === undefined ? {} : { numRuns }) });
