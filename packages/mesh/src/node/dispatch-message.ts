import type { DecodedMessage } from '../protocol/messages.js';
import { parsePlacementPayload } from '../placement/placement-payload.js';
import type { NodeParts } from './node-parts.js';
import type { PeerLink } from './peer-links.js';

/**
 * Routes one decoded message from an authenticated peer to the part of the node that owns it. Identity
 * comes from the link (the handshake), never from a message field: a peer cannot speak for another.
 */
export function dispatchMessage(p: NodeParts, link: PeerLink, m: DecodedMessage): void {
  const peer = link.peerId;
  switch (m.type) {
    case 'sync-token':
      if (m.from !== peer) return;
      return p.sync.receive?.({ kind: 'token', from: peer, token: m.token }, (reply) => {
        if (reply.kind === 'ack') p.links.reply(link.linkId, { type: 'sync-ack', from: reply.from, origin: reply.origin, epoch: reply.epoch, round: reply.round });
      });
    case 'sync-ack':
      if (m.from !== peer) return;
      return p.sync.receive?.({ kind: 'ack', from: peer, origin: m.origin, epoch: m.epoch, round: m.round }, () => undefined);
    case 'submit':
      p.count('received');
      return p.inbound.onSubmit(link.linkId, peer, m);
    case 'cancel':
      return p.inbound.onCancel(link.linkId, m.requestId, peer);
    case 'result':
      return p.handler.onResponse(peer, m);
    case 'error':
      if (!p.streams.onResponse(peer, m)) p.handler.onResponse(peer, m);
      return;
    case 'stream-open':
      return p.streamHost.onOpen(link.linkId, peer, m);
    case 'stream-frame':
      return p.streamHost.onFrame(link.linkId, m, peer);
    case 'stream-accepted':
    case 'stream-result':
      p.streams.onResponse(peer, m);
      return;
    case 'stream-close':
      // The serving side always attaches its summary; the client's close has none.
      if (m.summary) p.streams.onResponse(peer, m);
      else p.streamHost.onClose(link.linkId, m.requestId, peer);
      return;
    case 'placement': {
      const payload = parsePlacementPayload(m.payload);
      if (payload) p.coordinator?.onPayload(peer, payload);
      return;
    }
    case 'ping':
      try {
        p.links.reply(link.linkId, { type: 'pong', requestId: m.requestId });
      } catch {
        // link gone
      }
      return;
    default:
      // hello/auth frames after the handshake, pong: nothing to do.
      return;
  }
}
