import { defineConfig } from 'tsup';

/** The packages the `epara` command loads from where they are installed (see below). */
const LEFT_OUT = ['onnxruntime-node', 'prom-client', '@opentelemetry/api', '@epara/dashboard', '@grpc/proto-loader'];

export default defineConfig([
  // The library: its dependencies stay imports.
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: true,
    target: 'node20',
  },
  // The `epara` command, its dependencies bundled in: loading them module by module (resolving each, reading its
  // package.json, wrapping each CommonJS file for ESM) was about a third of a server's start-up CPU. Split where
  // bin.ts imports lazily, so `--version` and `--help` still load only bin.js, `--check` only the config's code.
  // Left out: onnxruntime-node (native), the optional peers (found where the user installed them), the dashboard
  // (loaded only when enabled; it reads its page's assets beside its own module), and @grpc/proto-loader (loaded
  // at a server's first gRPC call that needs it, src/grpc/proto-loader.ts).
  {
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    splitting: true,
    noExternal: [new RegExp(`^(?!(${LEFT_OUT.join('|')})($|/))`)],
    external: LEFT_OUT,
    // The bundled CommonJS modules call `require` for Node's own modules; an ES module has none.
    banner: { js: "import { createRequire as __eparaCreateRequire } from 'node:module';\nconst require = __eparaCreateRequire(import.meta.url);" },
  },
]);
