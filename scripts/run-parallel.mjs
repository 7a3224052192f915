#!/usr/bin/env node
// Runs package scripts side by side (`node scripts/run-parallel.mjs lint typecheck`): each is `pnpm run <name>`, its
// output held and printed whole when it ends (so two logs never interleave), and the exit code is the first
// failing script's, or 0. One script may be named with `--live <name>`: it writes straight to the terminal as it
// runs (the test run, whose progress is worth seeing), and the others' logs are printed between its lines, each whole.
// `pnpm test` runs two such steps. First the build beside the lint of the sources (core purity, package
// boundaries, import circles: they read only the sources, and the build leaves a core idle while one package's
// declarations are bundled). Then the tests beside the typecheck and the lint of the packages (knip, publint,
// attw: they read the build): the tests mostly wait on child processes, workers and sockets, and the typecheck and
// the lint, each mostly one thread, fill the time those waits leave a core idle instead of delaying the tests' start.
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const liveAt = args.indexOf('--live');
const live = liveAt === -1 ? undefined : args[liveAt + 1];
const names = liveAt === -1 ? args : [...args.slice(0, liveAt), ...args.slice(liveAt + 1)];
if (names.length === 0 || (liveAt !== -1 && live === undefined)) {
  console.error('usage: node scripts/run-parallel.mjs [--live <script>] <script> [<script>…]');
  process.exit(2);
}

const run = (name) =>
  new Promise((resolve) => {
    const started = Date.now();
    const chunks = [];
    const output = name === live ? 'inherit' : 'pipe';
    const child = spawn('pnpm', ['run', '--silent', name], { stdio: ['ignore', output, output], shell: process.platform === 'win32' });
    child.stdout?.on('data', (b) => chunks.push(b));
    child.stderr?.on('data', (b) => chunks.push(b));
    child.on('error', (e) => chunks.push(Buffer.from(`${e.message}\n`)));
    child.on('close', (code, signal) => {
      const status = code ?? (signal ? 1 : 0);
      process.stdout.write(`\n> ${name}: ${status === 0 ? 'ok' : `failed (${signal ?? `exit ${code}`})`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(Buffer.concat(chunks));
      resolve(status);
    });
  });

const codes = await Promise.all(names.map(run));
process.exit(codes.find((c) => c !== 0) ?? 0);
