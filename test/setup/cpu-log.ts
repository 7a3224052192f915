/*
 * `EPARA_CPU_LOG=<file> pnpm test` (or `npx vitest run …`): one JSON line per test file, appended to <file> when the
 * file's last hook has run — what the file cost in CPU seconds, which wall time on a shared machine does not say.
 * `self` is the worker's CPU from this file's set-up to its end (its imports and tests), `process` the worker's CPU
 * since it started (in the isolated project, one fresh process per file: start-up included), `children` the CPU of
 * the child processes the file started and reaped (servers, compilers, browsers), `wallMs` its wall time, `pid` the
 * worker's (a child's parent pid names the file that started it). The children's figure reads /proc (Linux);
 * elsewhere it is 0. Not set: this file is not loaded.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { afterAll, expect } from 'vitest';

/** CPU seconds of the reaped child processes (cutime + cstime, in clock ticks of 1/100 s). */
function childrenCpu(): number {
  if (!existsSync('/proc/self/stat')) return 0;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const seconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
const startCpu = process.cpuUsage();
const startChildren = childrenCpu();
const startWall = Date.now();

afterAll(() => {
  const line = {
    file: expect.getState().testPath,
    pid: process.pid,
    self: Number(seconds(process.cpuUsage(startCpu)).toFixed(2)),
    process: Number(seconds(process.cpuUsage()).toFixed(2)),
    children: Number((childrenCpu() - startChildren).toFixed(2)),
    wallMs: Date.now() - startWall,
  };
  appendFileSync(process.env['EPARA_CPU_LOG']!, `${JSON.stringify(line)}\n`);
});
