import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EparaError } from '@epara/core';

/*
 * A rejected request's error must not keep the request's inputs alive. V8 captures an error's stack lazily
 * and holds every frame's closure until `stack` is read; the closures of the request path hold the inputs.
 * The measurement runs in a child process with `--expose-gc` (built packages: `pnpm build` first): it keeps
 * every error of 150 rejected 1 MiB requests, collects garbage and counts the inputs still reachable.
 */

const child = fileURLToPath(new URL('./child/error-retention.mjs', import.meta.url));

interface Retention {
  readonly errors: number;
  readonly codes: readonly string[];
  readonly alive: number;
  readonly heapGrowthMB: number;
}

async function measure(mode: 'deadline' | 'abort' | 'invalid'): Promise<Retention> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child, '150', mode], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Retention;
}

describe('errors do not keep inputs alive', () => {
  it.each([
    ['deadline', 'DEADLINE_EXCEEDED'],
    ['abort', 'ABORTED'],
    ['invalid', 'INVALID_INPUT'],
  ] as const)('kept %s errors release their 1 MiB inputs without anyone reading their stacks', async (mode, code) => {
    const r = await measure(mode);
    expect(r.codes).toEqual([code]);
    expect(r.errors).toBeGreaterThan(100);
    // The loop's last iteration may still be referenced by the child's own stack; nothing else may be.
    expect(r.alive).toBeLessThanOrEqual(2);
    expect(r.heapGrowthMB).toBeLessThan(30);
  });

  it('an EparaError still carries a full stack, and a wrapped cause keeps its own', () => {
    const cause = new Error('inner');
    const err = new EparaError('MODEL_ERROR', 'outer', {}, { cause });
    expect(err.stack).toContain('EparaError: outer');
    expect(err.stack).toContain('error-retention.test');
    expect((err.cause as Error).stack).toContain('Error: inner');
  });
});
