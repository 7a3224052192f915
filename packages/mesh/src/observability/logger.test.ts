import { describe, expect, it } from 'vitest';
import { createNode } from '../node/create-node.js';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import type { Logger } from '@epara/core';

/** A pino-shaped logger that records `level msg`. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => void lines.push(`${level} ${msg ?? (typeof obj === 'string' ? obj : '')}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('mesh logging (docs/observability.md)', () => {
  it('writes to an injected pino-compatible logger', async () => {
    const logger = recordingLogger();
    const node = createNode({ id: 'n1', transport: createMemoryTransport({ hub: createMemoryHub() }), executor: createFakeExecutor({ services: {} }), security: { insecure: true }, placement: false, logger });
    await node.start();
    await node.close();
    expect(logger.lines).toContain('info node started');
  });

  it('rejects a logger without the four methods with INVALID_OPTIONS', () => {
    const make = () =>
      createNode({ id: 'n1', transport: createMemoryTransport(), executor: createFakeExecutor({ services: {} }), security: { insecure: true }, logger: { info: () => undefined } as never });
    expect(make).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', details: expect.objectContaining({ field: 'logger' }) }));
  });
});
