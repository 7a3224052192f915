import { describe, expect, it } from 'vitest';
import * as promClient from 'prom-client';
import { loadPromClient } from './load-prom-client.js';

describe('loadPromClient (prom-client is an optional peer)', () => {
  it('imports prom-client by name when it is installed', async () => {
    expect(typeof (await loadPromClient()).Registry).toBe('function');
  });

  it('uses the module passed in, and unwraps a default export', async () => {
    expect(await loadPromClient(promClient)).toBe(promClient);
    expect(await loadPromClient(undefined, async () => ({ default: promClient }))).toBe(promClient);
  });

  it('says what to install when prom-client is missing (INVALID_OPTIONS)', async () => {
    const missing = async (): Promise<never> => {
      throw new Error("Cannot find package 'prom-client'");
    };
    const err = await loadPromClient(undefined, missing).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS', details: { field: 'client' } });
    expect((err as Error).message).toContain('pnpm add prom-client');
    await expect(loadPromClient(undefined, async () => ({}))).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});
