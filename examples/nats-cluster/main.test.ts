import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipNats, useNatsServer } from '../../test/nats/nats-server.js';
import type { TestNatsServer } from '../../test/nats/nats-server.js';
import { runDemo } from './main.js';
import type { DemoResult } from './main.js';

const skip = skipNats();

describe.skipIf(skip)('examples/nats-cluster (short mode)', () => {
  let server: TestNatsServer;
  let result: DemoResult;
  const lines: string[] = [];
  beforeAll(async () => {
    server = await useNatsServer();
    result = await runDemo({ servers: server.url, requests: 8, log: (l) => lines.push(l) });
  });
  afterAll(() => server?.stop());

  it('brings all 5 servers into the view through the KV bucket', () => {
    expect(result.members).toEqual(['edge-0', 'edge-1', 'edge-2', 'edge-3', 'edge-4']);
  });

  it('serves every request on a server that hosts the service, both ways', () => {
    for (const tally of [result.viaNode, result.viaQueueGroup]) {
      expect(Object.values(tally).reduce((a, b) => a + b, 0)).toBe(8);
      expect(Object.keys(tally).every((s) => ['edge-2', 'edge-3', 'edge-4'].includes(s))).toBe(true);
    }
    expect(lines.length).toBe(5);
  });

  it('drops a crashed server from the view and keeps serving', () => {
    expect(result.afterCrash).toEqual(['edge-0', 'edge-1', 'edge-2', 'edge-3']);
    expect(result.okAfterCrash).toBe(8);
  });
});
