import { createMemoryHub, createMemoryTransport } from '@epara/mesh';
import { describe, expect, it, vi } from 'vitest';
import { RedialingEntry, serveEntry } from './entry.js';

describe('RedialingEntry.open', () => {
  it('dials again until the entry listens', async () => {
    const hub = createMemoryHub();
    const client = createMemoryTransport({ hub });
    const server = createMemoryTransport({ hub, address: 'edge-0' });
    serveEntry(server, { submit: async (_id, inputs) => inputs });
    const connect = client.connect.bind(client);
    let dials = 0;
    // The entry starts listening only when the third dial is under way: the first two find nothing there.
    vi.spyOn(client, 'connect').mockImplementation(async (address, options) => {
      if (++dials === 3) await server.listen();
      return connect(address, options);
    });
    const entry = new RedialingEntry(client, 'edge-0');
    const c = await entry.open(4, 1);
    expect(dials).toBe(3);
    expect(c.isClosed).toBe(false);
    entry.close();
    await Promise.all([client.close(), server.close()]);
  });

  it('throws the last PEER_UNAVAILABLE after its attempts', async () => {
    const client = createMemoryTransport({ hub: createMemoryHub() });
    const dial = vi.spyOn(client, 'connect');
    await expect(new RedialingEntry(client, 'nowhere').open(3, 1)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(dial).toHaveBeenCalledTimes(3);
    await client.close();
  });

  it('does not retry an error a retry cannot fix', async () => {
    const client = createMemoryTransport({ hub: createMemoryHub() });
    await client.close();
    const dial = vi.spyOn(client, 'connect');
    await expect(new RedialingEntry(client, 'edge-0').open(4, 1)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(dial).toHaveBeenCalledTimes(1);
  });
});
