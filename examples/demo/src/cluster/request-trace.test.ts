import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RequestTrace } from './request-trace.js';

describe('RequestTrace (EPARA_DEMO_TRACE)', () => {
  it('joins a request with its batch: decision, estimate, planned start, expected hold, end, settle; a refusal with its reason and the peers it read', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'demo-trace-')), 'edge-0.jsonl');
    const t = new RequestTrace(file);
    const key = t.begin({ serviceId: 'image', decidedAt: 1000, estimateAt: 1150, deadline: 1300 });
    const other = t.begin({ serviceId: 'image', decidedAt: 1001, estimateAt: 1160, deadline: 1301 });
    t.dispatched({ instanceId: 'i', serviceId: 'image', deviceId: 'cpu0', size: 2, expectedMs: 40, at: 1100, plannedStart: 1110 });
    t.executorSettled({ serviceId: 'image', outcome: 'ok', enqueuedAt: 1000.5, startedAt: 1110, finishedAt: 1190, batchSize: 2, deviceId: 'cpu0', trace: { requestId: key } });
    t.completed({ instanceId: 'i', serviceId: 'image', deviceId: 'cpu0', size: 2, durationMs: 80, runMs: 55, ok: true });
    t.settled(key, { at: 1195, outcome: 'ok', decision: 'local' });
    const peers = [{ serverId: 'edge-1', waitMs: 250, ageMs: 300, loadPerSec: 40, capacityPerSec: 50, runMs: 20, travelMs: 12 }];
    t.settled(other, { at: 1200, outcome: 'OVERLOADED', decision: 'reject OVERLOADED', reason: 'local estimate 1320 misses 1300', peers });
    t.flush(1);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { run: 1, serviceId: 'image', decidedAt: 1000, estimateAt: 1150, deadline: 1300, enqueuedAt: 1000.5, finishedAt: 1190, executorOutcome: 'ok', startedAt: 1110, batchSize: 2, deviceId: 'cpu0', settledAt: 1195, decision: 'local', outcome: 'ok', batchAt: 1100, batchExpectedMs: 40, batchDurationMs: 80, batchRunMs: 55 },
      { run: 1, serviceId: 'image', decidedAt: 1001, estimateAt: 1160, deadline: 1301, settledAt: 1200, decision: 'reject OVERLOADED', outcome: 'OVERLOADED', reason: 'local estimate 1320 misses 1300', peers },
    ]);
    // Flushed once: the next run starts empty.
    t.flush(2);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('creates the folder EPARA_DEMO_TRACE names when it does not exist yet (a node used to fail ENOENT at its first flush)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'demo-trace-')), 'not', 'yet', 'edge-1.jsonl');
    const t = new RequestTrace(file);
    const key = t.begin({ serviceId: 'image', decidedAt: 1000, estimateAt: 1100, deadline: 1300 });
    t.settled(key, { at: 1150, outcome: 'ok', decision: 'local' });
    t.flush(1);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
