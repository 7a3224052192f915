#!/usr/bin/env node
// Lints every published package as its tarball: publint (package.json fields, exports, files) and
// @arethetypeswrong/cli (the types each entry point resolves to, for ESM hosts under node16 and bundlers).
// Each package is packed once and both read that tarball, in this one process: as two commands per package, each
// loaded its tool afresh (attw's TypeScript alone was about 2 of its 4 to 5 CPU seconds a package).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getExitCode } from '@arethetypeswrong/cli/internal/getExitCode';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = fileURLToPath(new URL('..', import.meta.url));
// The checker behind the attw command, as the command itself loads it (a dependency of the CLI, not of this repo).
const attwCore = await import(pathToFileURL(createRequire(createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json')).resolve('@arethetypeswrong/core')).href);
// The command's `--profile esm-only`: ESM-only packages, which CommonJS hosts require() at run time (Node >= 20.19);
// attw's node16-from-CJS resolution mode does not model that, so that mode (and node10) is ignored.
const attwOptions = { ignoreRules: [], ignoreResolutions: ['node10', 'node16-cjs'], format: 'ascii', summary: true, emoji: true };

const packDir = mkdtempSync(join(tmpdir(), 'epara-pack-'));
let failed = 0;
try {
  for (const dir of readdirSync(join(root, 'packages'))) {
    const cwd = join(root, 'packages', dir);
    const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    const tarballPath = execFileSync('pnpm', ['pack', '--pack-destination', packDir], { cwd, encoding: 'utf8' }).trim().split('\n').pop();
    const tarball = readFileSync(tarballPath);

    // publint --strict: warnings count as errors; suggestions are printed only.
    const { messages, pkg } = await publint({ strict: true, pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) } });
    if (messages.some((m) => m.type === 'error')) {
      failed++;
      console.error(`${manifest.name}: publint failed\n${messages.map((m) => `  ${m.type}: ${formatMessage(m, pkg)}`).join('\n')}`);
    }

    const analysis = await attwCore.checkPackage(attwCore.createPackageFromTarballData(new Uint8Array(tarball)));
    if (getExitCode(analysis, attwOptions) !== 0) {
      failed++;
      const { typed } = await import('@arethetypeswrong/cli/internal/render');
      console.error(`${manifest.name}: attw failed\n${await typed(analysis, attwOptions)}`);
    }
  }
} finally {
  rmSync(packDir, { recursive: true, force: true });
}
if (failed > 0) process.exit(1);
console.log('packages: publint and attw clean');
