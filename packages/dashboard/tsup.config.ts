import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
  },
  {
    // The page's script and styles (uPlot included), bundled once at build time and served from dist/web:
    // nothing is fetched from the internet at run time.
    entry: { app: 'web/app.ts', stream: 'web/stream-worker.ts' },
    outDir: 'dist/web',
    format: ['iife'],
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: false,
    clean: false,
    dts: false,
    outExtension: () => ({ js: '.js' }),
  },
]);
