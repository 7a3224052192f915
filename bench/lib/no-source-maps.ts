/**
 * Turns off the source maps `tsx` enables, before anything else is imported (import it first). With them on,
 * the first error whose stack is read (every `EparaError` formats its stack when made) has Node parse the
 * source map of each file in the stack — the built packages' maps and their embedded sources, 1.5 MB of JSON —
 * and keep the result: about 15 MB of live heap the host thread's mark-compact collections then mark every
 * time, and the old-generation growth that starts them. A host running the built package with plain `node`
 * carries none of it (its live heap is about 7 MB with an executor loaded, against 28 MB under `tsx`), so the
 * benches measuring the host thread's collections and lag run without them.
 */
process.setSourceMapsEnabled(false);
