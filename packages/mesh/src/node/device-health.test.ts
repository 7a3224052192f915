import { describe, expect, it } from 'vitest';
import type { DeviceSpec, LocalExecutor } from '@epara/core';
import { createFakeExecutor } from '../testing/fake-executor.js';
import { deviceHealth } from './device-health.js';

const devices: readonly DeviceSpec[] = [
  { id: 'cpu0', kind: 'cpu', memoryBytes: 1e9 },
  { id: 'cpu1', kind: 'cpu', memoryBytes: 1e9 },
];

describe('deviceHealth (the node reading failed devices through the LocalExecutor port)', () => {
  it('reads failedDevices, never stats(), and filters again only when the executor’s array changes', () => {
    const fake = createFakeExecutor({ services: { s: { serviceTimeMs: 1 } } });
    let statsCalls = 0;
    let reads = 0;
    const executor: LocalExecutor = {
      ...fake,
      stats: () => (statsCalls++, fake.stats()),
      failedDevices: () => (reads++, fake.failedDevices()),
    } as LocalExecutor;
    const healthy = deviceHealth(devices, executor);
    expect(healthy()).toBe(devices);
    expect(healthy()).toBe(devices);
    fake.failDevice('cpu1');
    const left = healthy();
    expect(left.map((d) => d.id)).toEqual(['cpu0']);
    expect(healthy()).toBe(left); // same answer, not filtered again
    fake.recoverDevice('cpu1');
    expect(healthy()).toBe(devices);
    expect([reads, statsCalls]).toEqual([5, 0]);
  });

  it('an executor without failedDevices, or one that throws or answers nonsense, has every device healthy', () => {
    const base = createFakeExecutor({ services: { s: { serviceTimeMs: 1 } } });
    const { failedDevices: _unused, ...withoutIt } = base;
    const cases: LocalExecutor[] = [
      withoutIt as LocalExecutor,
      { ...base, failedDevices: () => { throw new Error('broken'); } } as LocalExecutor,
      { ...base, failedDevices: () => 'cpu0' as unknown as string[] } as LocalExecutor,
    ];
    for (const executor of cases) expect(deviceHealth(devices, executor)()).toBe(devices);
  });
});
