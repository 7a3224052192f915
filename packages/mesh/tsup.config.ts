import { defineConfig } from 'tsup';

export default defineConfig({
  // Subpaths: `wire` for transport/sync authors (and @epara/mesh-nats), `testing` for the fake executor and the transport contract.
  entry: { index: 'src/index.ts', wire: 'src/wire.ts', testing: 'src/testing.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // vitest and fast-check are optional peers of the testing subpath only.
  external: ['vitest', 'fast-check'],
});
