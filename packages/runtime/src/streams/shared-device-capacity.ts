import type { InstanceInfo } from '@epara/core';

/**
 * Reports each instance's capacity net of the devices it shares: an instance's own figure (`capacityPerSec`,
 * from its profile or plan) is what it would serve owning its devices alone, but the instances co-located on a
 * device take their part of its time. On each device of an instance the others use `Σ min(1, loadPerSec /
 * capacityPerSec)` of it (a data-parallel instance the same share on each of its devices); the instance keeps
 * the rest, averaged over its devices, and reports `capacityPerSec × that share`.
 *
 * This is what stream admission (`admitStream`: spare = `capacityPerSec − loadPerSec`) and request routing
 * (its `ρ = loadPerSec / capacityPerSec`) read: with the solo figure, a device busy with a co-located model
 * still looked to every other instance on it as if it were idle. An instance alone on its devices, one not
 * ready, or one without devices reported is returned unchanged.
 */
export function netOfSharedDevices(infos: readonly InstanceInfo[]): InstanceInfo[] {
  const used = new Map<string, number>();
  const shareOf = (i: InstanceInfo): number => (i.status === 'ready' && i.capacityPerSec > 0 ? Math.min(1, Math.max(0, i.loadPerSec) / i.capacityPerSec) : 0);
  for (const i of infos) {
    const share = shareOf(i);
    if (share > 0) for (const d of i.deviceIds ?? []) used.set(d, (used.get(d) ?? 0) + share);
  }
  return infos.map((i) => {
    const devices = i.deviceIds ?? [];
    if (i.status !== 'ready' || i.capacityPerSec <= 0 || devices.length === 0) return i;
    const own = shareOf(i);
    let free = 0;
    for (const d of devices) free += Math.max(0, 1 - ((used.get(d) ?? 0) - own));
    free /= devices.length;
    return free >= 1 ? i : { ...i, capacityPerSec: i.capacityPerSec * free };
  });
}
