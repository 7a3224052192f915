#!/usr/bin/env node
// Lints every published package as its tarball: publint (package.json fields, exports, files) and
// @arethetypeswrong/cli (the types each entry point resolves to, for ESM hosts under node16 and bundlers).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const packDir = mkdtempSync(join(tmpdir(), 'epara-pack-'));
let failed = 0;
for (const dir of readdirSync(join(root, 'packages'))) {
  const cwd = join(root, 'packages', dir);
  const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  // Packed once; publint reads the package folder by its `files` list, attw the tarball.
  const tarball = execFileSync('pnpm', ['pack', '--pack-destination', packDir], { cwd, encoding: 'utf8' }).trim().split('\n').pop();
  for (const [tool, args] of [
    ['publint', ['--strict', '--pack', 'false']],
    // ESM-only packages: CommonJS hosts require() them at run time (Node >= 20.19), which attw's node16-from-CJS
    // resolution mode does not model, so that mode is ignored.
    ['attw', [tarball, '--profile', 'esm-only', '--format', 'ascii']],
  ]) {
    try {
      execFileSync(bin(tool), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      failed++;
      console.error(`${manifest.name}: ${tool} failed\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    }
  }
}
rmSync(packDir, { recursive: true, force: true });
if (failed > 0) process.exit(1);
console.log('packages: publint and attw clean');
