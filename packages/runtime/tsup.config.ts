import { defineConfig } from 'tsup';

export default defineConfig({
  // The device worker is its own entry: worker threads load it by file URL (see src/devices/worker-url.ts).
  entry: { index: 'src/index.ts', 'device-worker': 'src/devices/device-worker.ts', 'profile-cli': 'src/profiling/profile-cli.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  // No clean: tests and benches in other processes load dist/device-worker.js while a rebuild runs.
  clean: false,
  target: 'node20',
});
