import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, type Executor } from '@epara/runtime';
import { isEparaError } from '@epara/core';
import { nextEvent } from '../runtime/helpers.js';
import { addModel, addService, CRASH, faultyWorkerUrl, first, item } from './helpers.js';

/** The error a request settles with (its `code` and `details.reason`), or its answer. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (out) => first(out as never),
    (err: unknown) => (isEparaError(err) ? `${err.code}:${String(err.details['reason'])}` : err),
  );
}

// A worker that restarts after a crash loads its models again from their files: the file it finds there must be
// the one the host loaded (profiled, batch-checked), or the instance serves another model under the same key.
describe('a model file that changes or disappears between its load and a restart', () => {
  let ex: Executor | undefined;
  let dir = '';
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function loadFromFile(): Promise<{ path: string; ex: Executor }> {
    dir = mkdtempSync(join(tmpdir(), 'epara-model-file-'));
    const path = join(dir, 'add.onnx');
    writeFileSync(path, addModel(1));
    ex = createExecutor({ devices: [{ id: 'cpu0', workerUrl: faultyWorkerUrl, doorbellSlotBytes: 0 }], services: [addService({ model: path, maxBatch: 1 })] });
    await ex.start();
    expect(first(await ex.submit('add', item(1)))).toBe(2);
    return { path, ex };
  }

  async function crash(e: Executor): Promise<void> {
    const restarted = nextEvent(e, 'workerRestarted');
    expect(String(await outcome(e.submit('add', item(CRASH))))).toMatch(/^WORKER_CRASHED:/);
    await restarted;
  }

  it('rewritten in place with another model: later requests fail LOAD_FAILED instead of answering with the new model', async () => {
    const { path, ex: e } = await loadFromFile();
    writeFileSync(path, addModel(100)); // y = x + 100 from now on, were it loaded
    await crash(e);
    expect(await outcome(e.submit('add', item(1)))).toBe('LOAD_FAILED:model-file-changed');
    // Loading it again as a new instance serves the new file, deliberately.
    const old = e.instances()[0]!.instanceId;
    await e.load({ serviceId: 'add' }, { deviceIds: ['cpu0'] });
    await e.unload(old);
    expect(first(await e.submit('add', item(1)))).toBe(101);
  }, 120_000);

  it('replaced by renaming another file over it: refused the same way', async () => {
    const { path, ex: e } = await loadFromFile();
    const other = join(dir, 'other.onnx');
    writeFileSync(other, addModel(1)); // even the same bytes: another file, not the one loaded
    renameSync(other, path);
    await crash(e);
    expect(await outcome(e.submit('add', item(1)))).toBe('LOAD_FAILED:model-file-changed');
  }, 120_000);

  it('removed: later requests fail LOAD_FAILED (model-file-missing), not the worker\'s "no model"', async () => {
    const { path, ex: e } = await loadFromFile();
    unlinkSync(path);
    await crash(e);
    expect(await outcome(e.submit('add', item(1)))).toBe('LOAD_FAILED:model-file-missing');
  }, 120_000);

  it('left as it was: the restarted worker serves it again', async () => {
    const { ex: e } = await loadFromFile();
    await crash(e);
    expect(first(await e.submit('add', item(2)))).toBe(3);
  }, 120_000);
});
