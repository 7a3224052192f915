import { defineConfig } from 'tsup';

const common = {
  format: ['esm'] as const,
  // Each entry stands alone (no shared chunks): a bundled host copies dist/device-worker.js next to its bundle,
  // and that one file must be the whole worker.
  splitting: false,
  sourcemap: true,
  // No clean: tests and benches in other processes load dist/device-worker.js while a rebuild runs.
  clean: false,
  dts: false,
  target: 'node20' as const,
};

export default defineConfig([
  { ...common, entry: { index: 'src/index.ts', 'profile-cli': 'src/profiling/profile-cli.ts' } },
  // The device worker is its own entry: worker threads load it by file URL (see src/devices/worker-url.ts). It
  // carries its one pure-JavaScript dependency (protobufjs, which reads a model's graph where onnxruntime's
  // metadata is silent) inside, so that a bundled host that copies the file needs only @epara/core and
  // onnxruntime-node beside it, as docs/install.md says.
  { ...common, entry: { 'device-worker': 'src/devices/device-worker.ts' }, noExternal: ['protobufjs'] },
]);
