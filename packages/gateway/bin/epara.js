#!/usr/bin/env node
// Launcher outside dist/: package managers link a bin only when its file exists at install time, before any build.
import('../dist/bin.js').catch((err) => {
  const missing = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin.js');
  process.stderr.write(missing ? 'epara: @epara/gateway is not built (run `pnpm build`)\n' : `${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
