#!/usr/bin/env node
// Runs package scripts side by side (`node scripts/run-parallel.mjs lint typecheck`): each is `pnpm run <name>`, its
// output held and printed whole when it ends (so two logs never interleave), and the exit code is the first
// failing script's, or 0. `pnpm test` runs two such steps: the build beside the lint of the sources (core purity,
// package boundaries, import circles: they read only the sources, and the build leaves a core idle while one
// package's declarations are bundled), then the lint of the packages (knip, publint, attw: they read the build)
// beside the typecheck. Each is mostly one thread, so on two cores a pair takes about the longer one's time instead
// of the sum.
import { spawn } from 'node:child_process';

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node scripts/run-parallel.mjs <script> [<script>…]');
  process.exit(2);
}

const run = (name) =>
  new Promise((resolve) => {
    const started = Date.now();
    const chunks = [];
    const child = spawn('pnpm', ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    child.stdout.on('data', (b) => chunks.push(b));
    child.stderr.on('data', (b) => chunks.push(b));
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
