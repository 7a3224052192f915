import { describe, expect, it } from 'vitest';
import { rejectSoon } from './reject-soon.js';

describe('rejectSoon', () => {
  it('rejects every promise of a job with its own error, in order, after the job', async () => {
    const seen: string[] = [];
    const errors = ['a', 'b', 'c'].map((m) => new Error(m));
    const promises = errors.map((e) => rejectSoon<never>(e));
    const handled = promises.map((p) => p.catch((e: Error) => void seen.push(e.message)));
    expect(seen).toEqual([]);
    await Promise.all(handled);
    expect(seen).toEqual(['a', 'b', 'c']);
    // The next job's rejections are delivered by a microtask of their own.
    await expect(rejectSoon(errors[0])).rejects.toBe(errors[0]);
  });

  it('leaves the promise pending until the microtask runs, then rejected for a late handler too', async () => {
    const err = new Error('late');
    const p = rejectSoon<never>(err);
    let settled = false;
    p.catch(() => (settled = true));
    expect(settled).toBe(false);
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    await expect(p).rejects.toBe(err);
  });
});
