import { defineConfig } from 'tsup';

export default defineConfig({
  // `internal`: helpers shared by EPARA's own packages only.
  entry: { index: 'src/index.ts', internal: 'src/internal.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
