import type { SyncTarget } from '../sync/ring-sync.js';
import type { SyncMessage } from '../sync/sync-types.js';
import type { PeerLinks } from './peer-links.js';

/**
 * Sends a ring-sync message as a protocol frame: to a known peer by id (its address comes from the view),
 * or to a bare address when joining. Failures are swallowed: ring sync notices them as missing acks.
 */
export function wireSync(links: PeerLinks, to: SyncTarget, m: SyncMessage): void {
  const frame =
    m.kind === 'token'
      ? ({ type: 'sync-token', from: m.from, token: m.token } as const)
      : ({ type: 'sync-ack', from: m.from, origin: m.origin, epoch: m.epoch, round: m.round } as const);
  if (to.id !== undefined) {
    try {
      links.send(to.id, frame);
      return;
    } catch (err) {
      if (to.address === undefined) throw err;
    }
  }
  if (to.address !== undefined) links.sendToAddress(to.address, frame);
}
