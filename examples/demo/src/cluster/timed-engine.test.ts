import type { DeviceWork, DeviceWorkQueue, EngineContext, ExecutorServiceOptions, ServiceEngine } from '@epara/runtime';
import { describe, expect, it } from 'vitest';
import { timedEngine, type EngineUsage } from './timed-engine.js';

describe('timedEngine (an engine\'s device work timed for the usage log)', () => {
  it('reports each launch from its start to its end, and each answered request; passes everything else through', async () => {
    let clock = 0;
    const reports: string[] = [];
    const usage: EngineUsage = { workEnded: (e) => reports.push(`${e.serviceId} held ${e.durationMs}`), engineServed: (id) => reports.push(`${id} served`) };
    // A queue that runs work when the test says, recording what it was given.
    const queued: DeviceWork[] = [];
    const queue: DeviceWorkQueue = { enqueueWork: (w) => void queued.push(w), freeAt: (now) => now + 5 };
    let engineQueue: DeviceWorkQueue | undefined;
    const engine: ServiceEngine = {
      submit: async () => {
        await new Promise<void>((resolve) => engineQueue!.enqueueWork({ ownerId: 'chat#1', deadline: 50, expectedMs: 4, followUpDeadline: 60, run: async () => void (clock += 12, resolve()), fail: () => undefined }));
        return {};
      },
      estimate: (now) => now + 1,
      close: async () => undefined,
    };
    const service = { id: 'chat', engine: (ctx: EngineContext) => ((engineQueue = ctx.workQueues[0]), engine) } as unknown as ExecutorServiceOptions;
    const timed = timedEngine(service, () => usage, () => clock);
    const built = await timed.engine!({ serviceId: 'chat', devices: [], workQueues: [queue] } as unknown as EngineContext);
    expect(engineQueue!.freeAt(3)).toBe(8);
    const answer = built.submit({}, { deadline: 100 } as never);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ ownerId: 'chat#1', deadline: 50, expectedMs: 4, followUpDeadline: 60 });
    clock = 100;
    await queued[0]!.run(100);
    await answer;
    expect(reports).toEqual(['chat held 12', 'chat served']);
    expect(built.estimate(7)).toBe(8);
  });

  it('leaves a service without an engine as it is', () => {
    const service = { id: 'image' } as ExecutorServiceOptions;
    expect(timedEngine(service, () => undefined)).toBe(service);
  });
});
