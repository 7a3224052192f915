import { defineConfig } from 'tsup';

export default defineConfig({
  // The device worker is its own entry: worker threads load it by file URL (see src/devices/worker-url.ts).
  entry: { index: 'src/index.ts', 'device-worker': 'src/devices/device-worker.ts', 'profile-cli': 'src/profiling/profile-cli.ts' },
  format: ['esm'],
  // Each entry stands alone (no shared chunks): a bundled host copies dist/device-worker.js next to its bundle,
  // and that one file must be the whole worker.
  splitting: false,
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  // No clean: tests and benches in other processes load dist/device-worker.js while a rebuild runs.
  clean: false,
  target: 'node20',
});
