import { latencyAt, type PlacedInstance } from '@epara/core';
import type { DemoServiceId } from './catalog.js';
import { MAX_DEVICE_SHARE, deviceShares, servedFrom, type ReplicaContext } from './local-replicas.js';

/**
 * **Stream replicas leave the devices of the latency services**, as far as the other devices have room. The replica
 * rule ({@link localReplicas}) serves demand where it enters, so a server where many images enter also runs loop,
 * VAD and video replicas; counted in the quiet runs (docs/demo.md), EPARA's two image servers made fewer images
 * good than the baseline's one, their devices shared with stream replicas that served one or two streams each and
 * paid a whole hand-off per frame. This moves every stream instance off a server whose device the latency services
 * use more than another server's, to the server whose device they use least: dropped there when that server
 * already hosts the stream service, moved otherwise — when its memory holds the weights and every device stays
 * within the share cap (or no busier than it was). A stream service keeps at least one instance. Device shares are
 * the replica rule's ({@link deviceShares}): priced at the profiles (the `--keep-latency-devices` option with
 * `--plan-costs profile`), every stream fits anywhere and all of them move; priced at the measured device time
 * (the default, `--plan-costs device-time`: hand-offs per batch, frames at the packs they run in), a stream moves
 * only while the device taking it still has room, which the virtual-time model (device-model.test.ts) shows is
 * where moving pays.
 */
export function keepLatencyDevices(instances: readonly PlacedInstance[], c: ReplicaContext): PlacedInstance[] {
  const maxShare = c.maxShare ?? MAX_DEVICE_SHARE;
  const out = [...instances];
  const streams = new Set(c.specs.filter((s) => s.sensitivity === 'frequency').map((s) => s.id));
  const itemMs = new Map(c.specs.map((s) => [s.id, latencyAt(Object.values(s.profiles)[0]!, 1) * (c.costRatio?.[s.id] ?? 1)]));
  // Which devices the latency services use most: their items' run time. Whether a device has room: its share as
  // the replica rule prices it (with the hand-offs when measured).
  const latencyShares = (): number[] => {
    const share = c.ids.map(() => 0);
    for (const s of c.specs) {
      if (s.sensitivity !== 'latency') continue;
      const hosts = [...new Set(out.filter((p) => p.serviceId === s.id).map((p) => c.ids.indexOf(p.serverId)))];
      if (hosts.length === 0) continue;
      c.ids.forEach((_, node) => {
        const ms = ((c.workload.demand[s.id as DemoServiceId]?.[node] ?? 0) * itemMs.get(s.id)!) / 1000;
        for (const [at, part] of servedFrom(s, node, hosts, c)) share[at]! += ms * part;
      });
    }
    return share;
  };
  const shares = (): number[] => deviceShares(out, c);
  const memory = (node: number): number => out.filter((p) => p.serverId === c.ids[node]).reduce((a, p) => a + p.plan.memoryPerDeviceBytes, 0);
  // Each pass moves one stream instance; an instance only moves to a device the latency services use less, so
  // the passes end.
  for (let moved = true; moved; ) {
    moved = false;
    const latency = latencyShares();
    const before = shares();
    for (const [at, p] of out.entries()) {
      if (!streams.has(p.serviceId)) continue;
      const from = c.ids.indexOf(p.serverId);
      let best: { node: number; key: [number, number, number] } | undefined;
      c.ids.forEach((serverId, node) => {
        if (!(latency[node]! < latency[from]! - 1e-9)) return;
        const hosted = out.some((q) => q.serviceId === p.serviceId && q.serverId === serverId);
        if (!hosted && memory(node) + p.plan.memoryPerDeviceBytes > c.deviceMemoryBytes) return;
        const trial = [...out];
        if (hosted) trial.splice(at, 1);
        else trial[at] = { ...p, serverId, instanceId: `${p.serviceId}/${serverId}/kept-off` };
        const saved = out.splice(0, out.length, ...trial);
        const after = shares();
        out.splice(0, out.length, ...saved);
        if (!after.every((v, i) => v <= Math.max(maxShare, before[i]!) + 1e-9)) return;
        // The device the latency services use least first, then the least busy busiest device, then the nearest.
        const key: [number, number, number] = [latency[node]!, Math.max(...after), c.delaysMs[from]?.[node] ?? 0];
        const better = best === undefined || key[0] < best.key[0] - 1e-9 || (Math.abs(key[0] - best.key[0]) <= 1e-9 && (key[1] < best.key[1] - 1e-9 || (Math.abs(key[1] - best.key[1]) <= 1e-9 && key[2] < best.key[2])));
        if (better) best = { node, key };
      });
      if (best === undefined) continue;
      const serverId = c.ids[best.node]!;
      if (out.some((q) => q.serviceId === p.serviceId && q.serverId === serverId)) out.splice(at, 1);
      else out[at] = { ...p, serverId, instanceId: `${p.serviceId}/${serverId}/kept-off` };
      moved = true;
      break;
    }
  }
  return out;
}
