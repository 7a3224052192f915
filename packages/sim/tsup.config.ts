import { defineConfig } from 'tsup';

export default defineConfig({
  // `zone-worker`: the worker thread of `simulateInParallel`, loaded by file URL (src/shard/worker-url.ts). `engine`: the event queue, event loop and samplers for custom systems and workloads; `analysis`: the loss breakdown.
  entry: { index: 'src/index.ts', engine: 'src/engine.ts', analysis: 'src/analysis.ts', bin: 'src/cli/bin.ts', 'zone-worker': 'src/shard/zone-worker.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
