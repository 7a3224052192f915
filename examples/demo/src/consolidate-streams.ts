import type { PlacedInstance } from '@epara/core';
import { MAX_DEVICE_SHARE, deviceShares, type ReplicaContext } from './local-replicas.js';

/**
 * **Fewer, larger batches where the host is the bottleneck**: drops stream replicas while the cluster's device time
 * falls and every device stays within the cap, as the baseline's sequence batcher serves each stream service from
 * few sites. Priced at the measured device time (`c.handoffMs`: every batch pays the hand-off, stream frames run in
 * the packs that form behind a device's other work, see `deviceShares`), a stream replica serving one or two
 * streams pays a whole hand-off per frame, and the same frames on a host serving many streams share one per pack:
 * dropping the replica saves device time — which on a host short of cores is CPU every other process gets back —
 * while its streams' frames still fit. Each pass drops the replica whose removal saves the most device time
 * (then leaves the busiest device least busy); a stream service keeps at least one instance. Without a measured
 * hand-off nothing is dropped: at the profiles a replica costs no more than the frames it serves.
 */
export function consolidateStreams(instances: readonly PlacedInstance[], c: ReplicaContext): PlacedInstance[] {
  if (c.handoffMs === undefined) return [...instances];
  const maxShare = c.maxShare ?? MAX_DEVICE_SHARE;
  const streams = new Set(c.specs.filter((s) => s.sensitivity === 'frequency').map((s) => s.id));
  let out = [...instances];
  const total = (shares: readonly number[]): number => shares.reduce((a, b) => a + b, 0);
  for (;;) {
    const before = deviceShares(out, c);
    // A device may end no busier than the cap, or than the busiest device is now.
    const cap = Math.max(maxShare, ...before);
    const beforeTotal = total(before);
    let best: { at: number; total: number; busiest: number } | undefined;
    for (const [at, p] of out.entries()) {
      if (!streams.has(p.serviceId) || out.filter((q) => q.serviceId === p.serviceId).length <= 1) continue;
      const after = deviceShares(
        out.filter((_, i) => i !== at),
        c,
      );
      if (!after.every((v) => v <= cap + 1e-9)) continue;
      const candidate = { at, total: total(after), busiest: Math.max(...after) };
      if (candidate.total >= beforeTotal - 1e-9) continue;
      if (best === undefined || candidate.total < best.total - 1e-9 || (Math.abs(candidate.total - best.total) <= 1e-9 && candidate.busiest < best.busiest)) best = candidate;
    }
    if (best === undefined) return out;
    out = out.filter((_, i) => i !== best!.at);
  }
}
