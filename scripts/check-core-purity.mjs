#!/usr/bin/env node
// Enforces the layering rule: @epara/core is pure. No node:* imports, no sockets, no timers outside the Timers
// port, no wall clock or Math.random outside the Clock/Random ports, and no runtime dependencies.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const coreSrc = join(root, 'packages/core/src');
const PORTS = new Set(['ports/clock.ts', 'ports/random.ts']);
const RULES = [
  { re: /from\s+['"]node:/, why: 'imports a node:* module' },
  { re: /import\(\s*['"]node:/, why: 'imports a node:* module' },
  { re: /from\s+['"](fs|net|http|https|dgram|tls|child_process|worker_threads|os|path|crypto|ws)['"]/, why: 'imports an I/O module' },
  { re: /\b(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\s*\(/, why: 'uses a timer', except: 'ports/timers.ts' },
  { re: /\bprocess\./, why: 'touches process' },
  { re: /\bperformance\.now\s*\(/, why: 'reads the wall clock' },
  { re: /\bnew\s+WebSocket\b|\bfetch\s*\(/, why: 'does network I/O' },
];
const PORT_ONLY = [
  { re: /\bDate\.now\s*\(/, why: 'reads the wall clock outside the Clock port' },
  { re: /\bnew\s+Date\s*\(\s*\)/, why: 'reads the wall clock outside the Clock port' },
  { re: /\bMath\.random\s*\(/, why: 'uses Math.random outside the Random port' },
];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) yield p;
  }
}

const problems = [];
for (const file of walk(coreSrc)) {
  const rel = relative(coreSrc, file);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (/^\s*(\*|\/\*)/.test(line)) return; // TSDoc and block comments may mention these names
    for (const rule of RULES) if (rule.except !== rel && rule.re.test(code)) problems.push(`${rel}:${i + 1} ${rule.why}: ${line.trim()}`);
    if (!PORTS.has(rel)) for (const rule of PORT_ONLY) if (rule.re.test(code)) problems.push(`${rel}:${i + 1} ${rule.why}: ${line.trim()}`);
  });
}
const pkg = JSON.parse(readFileSync(join(root, 'packages/core/package.json'), 'utf8'));
for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
  const deps = Object.keys(pkg[field] ?? {});
  if (deps.length > 0) problems.push(`packages/core/package.json has ${field}: ${deps.join(', ')} (core must have none)`);
}
if (problems.length > 0) {
  console.error(`core purity: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('core purity: ok');
