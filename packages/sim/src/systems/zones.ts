import type { World } from '../world/world.js';

/** Servers grouped by zone (each zone has its own ring and scheduler), and each server's zone index. */
export function zonesOf(world: World): { zones: number[][]; zoneIndex: number[] } {
  const zones: number[][] = [];
  const zoneIndex: number[] = [];
  for (const s of world.servers) {
    (zones[s.zone] ??= []).push(s.index);
    zoneIndex[s.index] = s.zone;
  }
  return { zones: zones.filter((z) => z !== undefined), zoneIndex };
}
