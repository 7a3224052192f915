import type { SyncTarget } from '../sync/ring-sync.js';
import type { SyncMessage } from '../sync/sync-types.js';
import type { PeerLinks } from './peer-links.js';

/**
 * Sends a ring-sync message as a protocol frame: to a known peer by id (its address comes from the view, and a
 * send refused there — an address held back after a failed authentication or a replaced run's answer — is not
 * dialed around), or to a bare address when joining — over the link already dialed there if one is open, so the
 * join tokens a node alone sends every period do not open a link each. Ring sync notices failures as missing acks.
 */
export function wireSync(links: PeerLinks, to: SyncTarget, m: SyncMessage): void {
  const frame =
    m.kind === 'token'
      ? ({ type: 'sync-token', from: m.from, token: m.token } as const)
      : ({ type: 'sync-ack', from: m.from, origin: m.origin, epoch: m.epoch, round: m.round } as const);
  if (to.id !== undefined) links.send(to.id, frame);
  else if (to.address !== undefined) links.sendToAddress(to.address, frame, undefined, { reuse: true });
}
