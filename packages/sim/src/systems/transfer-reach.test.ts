import { describe, expect, it } from 'vitest';
import { SERVICE_CATALOG } from '../model/services.js';
import { createNetwork, DEFAULT_NETWORK_OPTIONS } from '../model/network.js';
import { buildServers } from '../model/hardware.js';
import { transferOf } from './placement-driver.js';
import type { World } from '../world/world.js';

describe('transferOf: what placement’s transferMs hands over', () => {
  it('is the payload up and the result down over the slower link, without the delays, and 0 at the access server', () => {
    const servers = buildServers([{ preset: 'gpu-server', count: 1 }, { preset: 'micro', count: 1 }], 50);
    const network = createNetwork(servers, DEFAULT_NETWORK_OPTIONS, 1);
    const world = { services: [SERVICE_CATALOG['classify']!], network } as unknown as Pick<World, 'services' | 'network'>;
    const micro = servers.findIndex((s) => s.preset.name === 'micro');
    const gpu = servers.findIndex((s) => s.preset.name === 'gpu-server');
    // 30 kB up and 200 B down on the microcomputer's 100 Mbit/s link (12 500 bytes per ms).
    expect(transferOf(world, 'classify', micro, gpu)).toBeCloseTo(30_200 / 12_500, 9);
    expect(transferOf(world, 'classify', gpu, micro)).toBeCloseTo(30_200 / 12_500, 9);
    expect(transferOf(world, 'classify', gpu, gpu)).toBe(0);
  });
});
