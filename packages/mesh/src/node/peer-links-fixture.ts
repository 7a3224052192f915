import { afterEach } from 'vitest';
import { createSeededRandom, createSystemTimers } from '@epara/core';
import type { createMemoryHub } from '../transport/memory-hub.js';
import { createMemoryTransport } from '../transport/memory-transport.js';
import type { Transport } from '../transport/transport.js';
import { encodeFrame } from '../protocol/frame-codec.js';
import type { Incarnation } from '../protocol/messages.js';
import { resolveProtocolLimits } from '../protocol/protocol-limits.js';
import type { ProtocolLimits } from '../protocol/protocol-limits.js';
import { AuthBackoff } from '../security/auth-backoff.js';
import { newIncarnation } from './peer-incarnations.js';
import { PeerLinks, type Handshake } from './peer-links.js';
import { plainHandshake } from './plain-handshake.js';

/** What a test varies in one node's links; every other option is fixed (16 queued frames, a silent logger…). */
export interface TestLinksOptions {
  /** Where the node listens on the hub. @default its id */
  readonly address?: string;
  /** @default each peer at its id */
  readonly addressOf?: (peer: string) => string | undefined;
  /** @default no epoch known for any peer */
  readonly epochOf?: (peer: string) => number | undefined;
  /** @default every peer alive */
  readonly aliveOf?: (peer: string) => boolean;
  /** @default no run known for any peer */
  readonly runOf?: (peer: string) => Incarnation | undefined;
  /** @default the plain handshake */
  readonly handshake?: Handshake;
  /** @default 1 MiB */
  readonly maxBufferedBytes?: number;
  /** The node's codec limits (what it decodes). @default the defaults */
  readonly limits?: ProtocolLimits;
}

const noLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * For `PeerLinks` tests over the in-memory transport. Call at the top of a test file: `links(hub, id, options)` makes
 * one node's links on a transport of its own, `transports` lists those transports in the order made, and every one
 * is closed after each test.
 */
export function peerLinksForEachTest(): {
  readonly transports: Transport[];
  links(hub: ReturnType<typeof createMemoryHub>, id: string, options?: TestLinksOptions): PeerLinks;
} {
  const transports: Transport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
  });
  return {
    transports,
    links(hub, id, o = {}) {
      const transport = createMemoryTransport({ hub, address: o.address ?? id });
      transports.push(transport);
      return new PeerLinks({
        selfId: id,
        transport,
        handshake: o.handshake ?? plainHandshake(id, createSystemTimers(), 1000),
        limits: o.limits ?? resolveProtocolLimits(),
        addressOf: o.addressOf ?? ((peer) => peer),
        epochOf: o.epochOf ?? (() => undefined),
        ...(o.aliveOf ? { aliveOf: o.aliveOf } : {}),
        ...(o.runOf ? { runOf: o.runOf } : {}),
        maxQueuedFrames: 16,
        maxBufferedBytes: o.maxBufferedBytes ?? 1 << 20,
        authBackoff: new AuthBackoff({ initialMs: 100, maxMs: 100, now: () => 0, random: createSeededRandom(1) }),
        logger: noLog,
      });
    },
  };
}

/**
 * The plain handshake plus the node's incarnation frame (one run per call) and, given `maxFrameBytes`, its `limits`
 * frame, as `createHandshake` sends them.
 */
export function announcing(id: string, epoch: number, maxFrameBytes?: number): Handshake {
  return announcingRun(id, newIncarnation(epoch), { maxFrameBytes });
}

/**
 * {@link announcing} for a given run; `gate`: the handshake starts only once it resolves (a dial to this node stays
 * pending until then, frames the dialer sent meanwhile kept for the handshake).
 */
export function announcingRun(id: string, run: Incarnation, o: { readonly maxFrameBytes?: number | undefined; readonly gate?: Promise<void> } = {}): Handshake {
  const plain = plainHandshake(id, createSystemTimers(), 1000);
  const { maxFrameBytes, gate } = o;
  return async (connection, direction) => {
    await gate;
    const link = await plain(connection, direction);
    link.connection.send(encodeFrame({ type: 'incarnation', flags: 0, ...run }));
    if (maxFrameBytes !== undefined) link.connection.send(encodeFrame({ type: 'limits', maxFrameBytes }));
    return link;
  };
}
