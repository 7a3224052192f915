import { describe, expect, it } from 'vitest';
import { createExecutor } from '../executor/create-executor.js';
import { fakeModelBytes } from '../devices/fake-backend.js';
import type { Logger } from '@epara/core';

describe('runtime logging (docs/observability.md)', () => {
  it('writes to an injected pino-compatible logger (a profile measured at load is logged at info)', async () => {
    const lines: string[] = [];
    const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const model = fakeModelBytes({ inputs: [{ name: 'x', type: 'float32', dims: ['batch', 2] }], outputs: [{ name: 'y', from: 'x' }] });
    const executor = createExecutor({
      backend: { kind: 'fake' },
      logger,
      profiling: { warmup: 1, repetitions: 1 },
      devices: [{ id: 'd0' }],
      services: [
        {
          id: 's',
          model,
          sensitivity: 'latency',
          slo: { kind: 'latency', deadlineMs: 1000 },
          sampleInputs: { x: { type: 'float32', dims: [1, 2], data: new Float32Array(2) } },
          devices: ['d0'],
        },
      ],
    });
    await executor.start();
    await executor.close();
    expect(lines.some((l) => l.startsWith('info profiled model at load'))).toBe(true);
  });
});
