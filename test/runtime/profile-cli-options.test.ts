import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createGraphBuilder } from '@epara/runtime';

/*
 * `epara-profile --max-request-bytes`: the profiler refuses a model one item of which exceeds the cap (128 MiB by
 * default, the executor's), as a service's `maxRequestBytes` does at load; the flag sets the cap as the service
 * would, higher or lower. No case here allocates a large item: the raised cap is shown by the next check failing.
 */

const cli = fileURLToPath(new URL('../../packages/runtime/dist/profile-cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'epara-profile-cap-'));

/** `z` f32[N, k] (k free, not given: the profiler asks for it) first, then `x` f32[N, 1048576, 40]: 160 MiB an item. */
function largeItemModel(): string {
  const g = createGraphBuilder({ name: 'large-item', seed: 1 });
  g.input('z', 'float32', ['N', 'k']);
  g.input('x', 'float32', ['N', 1048576, 40]);
  g.node('Identity', ['z'], ['zy']);
  g.node('Identity', ['x'], ['xy']);
  g.output('zy', 'float32', ['N', 'k']);
  g.output('xy', 'float32', ['N', 1048576, 40]);
  const file = join(dir, 'large-item.onnx');
  writeFileSync(file, g.toBytes());
  return file;
}

/** `x` f32[N, 4]: 16 bytes an item. */
function smallModel(): string {
  const g = createGraphBuilder({ name: 'small', seed: 1 });
  g.input('x', 'float32', ['N', 4]);
  g.node('Relu', ['x'], ['y']);
  g.output('y', 'float32', ['N', 4]);
  const file = join(dir, 'small.onnx');
  writeFileSync(file, g.toBytes());
  return file;
}

const run = (args: string[]): Promise<{ code: number; stderr: string; stdout: string }> =>
  promisify(execFile)(process.execPath, [cli, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('epara-profile --max-request-bytes', () => {
  it('raises the cap a model of large items is refused at, and lowers it', async () => {
    const large = largeItemModel();
    const out = join(dir, 'p.json');
    const refused = await run(['--model', large, '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/LOAD_FAILED: profiler: inputs 'x' float32\[1, 1048576, 40\] hold at least 167772160 bytes per item, above its maxRequestBytes \(134217728\).*--max-request-bytes/);
    // Raised past the item: the profiler goes on to the inputs, and asks for z's free dim (nothing allocated yet).
    const raised = await run(['--model', large, '--out', out, '--max-request-bytes', String(2 ** 31)]);
    expect(raised.code).toBe(1);
    expect(raised.stderr).toMatch(/INVALID_OPTIONS: .*pass --input z=1xN/);
    // Lowered under a 16-byte item: refused.
    const lowered = await run(['--model', smallModel(), '--out', out, '--max-request-bytes', '8', '--batch', '1', '--warmup', '0', '--repetitions', '1']);
    expect(lowered.stderr).toMatch(/LOAD_FAILED: profiler: inputs 'x' float32\[1, 4\] hold at least 16 bytes per item, above its maxRequestBytes \(8\)/);
  }, 90_000);

  it('refuses a value that is not a positive number of bytes, naming the flag', async () => {
    for (const bad of ['0', '1.5']) {
      const r = await run(['--model', smallModel(), '--out', join(dir, 'q.json'), `--max-request-bytes=${bad}`]);
      expect(r.code, bad).toBe(1);
      expect(r.stderr, bad).toMatch(/INVALID_OPTIONS: .*--max-request-bytes/);
    }
  }, 60_000);

  it('lists the flag in its usage', async () => {
    const r = await run(['--help']);
    expect(r.stdout).toMatch(/--max-request-bytes <n>/);
  });
});
