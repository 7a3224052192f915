import { afterEach, describe, expect, it } from 'vitest';
import { createFakeExecutor, createMemoryHub, createMemoryTransport, createNode } from '@epara/mesh';
import type { MeshNode, NodeOptions, Transport } from '@epara/mesh';
import { aliveIds, changed, ECHO, PSK, until, watch } from './helpers.js';

const nodes: MeshNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

/** A logger that keeps every line, and tells pending `until` calls that one arrived. */
function recordingLogger(): { logger: NodeOptions['logger']; lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => {
    lines.push({ level, obj: (obj ?? {}) as Record<string, unknown>, msg: msg ?? '' });
    changed();
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as NodeOptions['logger'], lines };
}

/** Counts the dials a transport makes. */
function counted(transport: Transport): { transport: Transport; dials: () => number } {
  let dials = 0;
  const connect = transport.connect.bind(transport);
  transport.connect = (address, opts) => {
    dials++;
    changed();
    return connect(address, opts);
  };
  return { transport, dials: () => dials };
}

function start(id: string, o: { hub: ReturnType<typeof createMemoryHub>; psk: string; seeds?: string[]; transport?: Transport; logger?: NodeOptions['logger']; authRetry?: NodeOptions['authRetry'] }): MeshNode {
  const node = createNode({
    id,
    transport: o.transport ?? createMemoryTransport({ hub: o.hub, address: id }),
    executor: createFakeExecutor({ services: { echo: { serviceTimeMs: 5 } }, hosted: ['echo'] }),
    security: { psk: o.psk },
    seeds: o.seeds ?? [],
    services: [ECHO],
    syncPeriodMs: 20,
    syncAckTimeoutMs: 100,
    placement: false,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.authRetry ? { authRetry: o.authRetry } : {}),
  });
  watch(node);
  nodes.push(node);
  return node;
}

describe('a node whose seed fails authentication backs off', () => {
  it('dials it once, then skips its join ticks until the backoff passes, instead of redialing every sync period', async () => {
    const hub = createMemoryHub();
    const seed = start('seed', { hub, psk: 'another-key-0123456789abcdef' });
    await seed.start();
    const { logger, lines } = recordingLogger();
    const { transport, dials } = counted(createMemoryTransport({ hub, address: 'joiner' }));
    const joiner = start('joiner', { hub, psk: PSK, seeds: ['seed'], transport, logger, authRetry: { initialMs: 600_000, maxMs: 600_000 } });
    await joiner.start();
    const skipped = () => lines.filter((l) => l.msg === 'sync send failed' && (l.obj['err'] as { details?: { cause?: string } }).details?.cause === 'UNAUTHENTICATED');
    // Each join tick (every 20 ms) now throws PEER_UNAVAILABLE at once instead of dialing: ten of them.
    await until(() => skipped().length >= 10, 'ten join ticks held back by the backoff');
    expect(dials()).toBe(1);
    const err = (skipped()[0]!.obj['err'] as { code: string; details: { retryInMs: number; address: string } });
    expect(err.code).toBe('PEER_UNAVAILABLE');
    expect(err.details.address).toBe('seed');
    expect(err.details.retryInMs).toBeGreaterThan(250_000);
    expect(lines.some((l) => l.level === 'warn' && l.msg === 'peer handshake failed' && l.obj['code'] === 'UNAUTHENTICATED')).toBe(true);
    expect(aliveIds(joiner)).toEqual(['joiner']);
  });

  it('joins once the peer at that address holds the key (the wait is short here), and a wrong key never joins', async () => {
    const hub = createMemoryHub();
    const wrong = start('seed', { hub, psk: 'another-key-0123456789abcdef' });
    await wrong.start();
    const { transport, dials } = counted(createMemoryTransport({ hub, address: 'joiner' }));
    const joiner = start('joiner', { hub, psk: PSK, seeds: ['seed'], transport, authRetry: { initialMs: 50, maxMs: 200 } });
    await joiner.start();
    await until(() => dials() >= 3, 'three dials, each after a longer wait');
    expect(aliveIds(joiner)).toEqual(['joiner']);
    await wrong.close();
    nodes.splice(nodes.indexOf(wrong), 1);
    const right = start('seed', { hub, psk: PSK });
    await right.start();
    await until(() => aliveIds(joiner).length === 2 && aliveIds(right).length === 2, 'the joiner and the seed see each other');
  });
});
