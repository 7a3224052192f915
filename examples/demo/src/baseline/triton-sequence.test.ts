import { setTimeout as sleep } from 'node:timers/promises';
import { EparaError, type NamedTensors, type StreamResult } from '@epara/core';
import { describe, expect, it } from 'vitest';
import { ResultChannel, sequenceStream, type SequenceStep } from './triton-sequence.js';

const scalar = (v: number) => ({ type: 'float32' as const, dims: [1], data: new Float32Array([v]) });

/** A sequence on site `servedBy` whose state starts at 0 and comes back as `stateN`. */
const sequence = (servedBy: string, stalenessMs: number, step: SequenceStep) =>
  sequenceStream({ servedBy, stalenessMs, initialState: scalar(0), stateInput: 'state', stateOutput: 'stateN', step });

async function collect(it: AsyncIterable<StreamResult>): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('sequenceStream (Triton sequence batcher with implicit state)', () => {
  it('runs frames one at a time in order and threads the state from each answer into the next frame', async () => {
    const seen: number[][] = [];
    let running = 0;
    const stream = sequence('triton-1', 1_000, async (x: NamedTensors) => {
        expect(++running).toBe(1); // never two frames of one sequence at once
        const state = x['state']!.data[0] as number;
        const input = x['x']!.data[0] as number;
        seen.push([input, state]);
        await sleep(2);
        running--;
        return { y: scalar(input), stateN: scalar(state + input) };
    });
    const results = collect(stream);
    for (const v of [1, 2, 3, 4]) expect(stream.push({ x: scalar(v) })).toBe(v - 1);
    await stream.close();
    const r = await results;
    expect(r.map((x) => [x.seq, x.ok])).toEqual([[0, true], [1, true], [2, true], [3, true]]);
    expect(seen).toEqual([[1, 0], [2, 1], [3, 3], [4, 6]]); // the state each frame ran with is the sum so far
    expect(stream.servedBy).toBe('triton-1');
    expect(() => stream.push({ x: scalar(5) })).toThrow(EparaError);
  });

  it('drops a frame whose staleness budget is spent before its turn, and passes a step failure through typed', async () => {
    let calls = 0;
    const stream = sequence('triton-0', 200, async (_x, timeoutMs) => {
        calls++;
        expect(timeoutMs).toBeGreaterThan(0);
        expect(timeoutMs).toBeLessThanOrEqual(200);
        if (calls === 1) {
          await sleep(300); // the second frame waits behind this one past its budget
          return { stateN: scalar(1) };
        }
        throw new EparaError('DEADLINE_EXCEEDED', 'queue timeout');
    });
    const results = collect(stream);
    stream.push({ x: scalar(1) });
    stream.push({ x: scalar(2) });
    await sleep(310);
    stream.push({ x: scalar(3) });
    await stream.close();
    const r = await results;
    expect(r.map((x) => (x.ok ? 'ok' : x.error.code))).toEqual(['ok', 'STALE_FRAME', 'DEADLINE_EXCEEDED']);
    expect(calls).toBe(2);
  });
});

describe('ResultChannel', () => {
  it('yields what was pushed, then throws the failure so waiting frames can be failed', async () => {
    const ch = new ResultChannel();
    ch.push({ seq: 0, ok: false, error: new EparaError('STALE_FRAME', 'late') });
    ch.fail(new EparaError('PEER_UNAVAILABLE', 'gone'));
    ch.push({ seq: 1, ok: false, error: new EparaError('STALE_FRAME', 'ignored after the end') });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const r of ch) seen.push(r.seq);
      })(),
    ).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE' });
    expect(seen).toEqual([0]);
    await ch.drained;
  });
});
