import { defineConfig } from 'tsup';

export default defineConfig({
  // `scheduling`: the request-level scheduler; `internal`: helpers shared by EPARA's own packages only;
  // `testing`: exact placement references.
  entry: { index: 'src/index.ts', scheduling: 'src/scheduling.ts', internal: 'src/internal.ts', testing: 'src/testing.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
