import { describe, expect, it } from 'vitest';
import { loadBackend } from './load-backend.js';
import { resolveDeviceOptions } from './device-options.js';

const dataUrl = (code: string): string => `data:text/javascript,${encodeURIComponent(code)}`;

describe('backend modules', () => {
  it('passes the spec options to createBackend and returns its backend', async () => {
    const url = dataUrl('export const createBackend = (o) => ({ label: o.label, createSession: async () => { throw new Error("none") } });');
    const b = (await loadBackend({ kind: 'module', url, options: { label: 'mine' } })) as unknown as { label: string };
    expect(b.label).toBe('mine');
  });

  it('refuses a module that cannot be imported, exports no factory, or builds no backend, with LOAD_FAILED', async () => {
    const failed = { code: 'LOAD_FAILED' };
    await expect(loadBackend({ kind: 'module', url: 'file:///nonexistent/epara-backend.mjs' })).rejects.toMatchObject(failed);
    await expect(loadBackend({ kind: 'module', url: dataUrl('export const other = 1;') })).rejects.toMatchObject(failed);
    await expect(loadBackend({ kind: 'module', url: dataUrl('export const createBackend = () => ({});') })).rejects.toMatchObject(failed);
  });

  it('validates the spec when a device resolves its options; a URL becomes its string form', () => {
    const url = new URL('file:///opt/my-backend.mjs');
    expect(resolveDeviceOptions({ id: 'd', backend: { kind: 'module', url } }).backend).toEqual({ kind: 'module', url: url.href });
    expect(() => resolveDeviceOptions({ id: 'd', backend: { kind: 'module', url: 'not a url' } })).toThrow(/device\.backend\.url/);
    expect(() => resolveDeviceOptions({ id: 'd', backend: { kind: 'tpu' } as never })).toThrow(/device\.backend\.kind/);
  });
});
