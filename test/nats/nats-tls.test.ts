import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, createNatsTransport } from '@epara/mesh-nats';
import type { Transport } from '@epara/mesh';
import { codeOf, collectFrames, nextAccepted } from '@epara/mesh/testing';
import { skipNats, startNatsServer } from './nats-server.js';
import type { TestNatsServer } from './nats-server.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) console.warn('\n*** openssl is not installed: the NATS TLS test cannot make a certificate — SKIPPED ***\n');
const skip = skipNats() || !hasOpenssl;

describe.skipIf(skip)('NATS transport over TLS', () => {
  let dir: string;
  let server: TestNatsServer;
  let ca: string;
  const open: Transport[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'epara-nats-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`);
    ca = readFileSync(cert, 'utf8');
    server = await startNatsServer(['--tls', '--tlscert', cert, '--tlskey', key]);
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries frames when the client trusts the server certificate (tls passed through)', async () => {
    const a = createNatsTransport({ servers: server.url, tls: { ca } });
    const b = createNatsTransport({ servers: server.url, tls: { ca } });
    open.push(a, b);
    const { address } = await a.listen();
    const accepted = nextAccepted(a);
    const conn = await b.connect(address);
    const inbound = await accepted;
    const got = collectFrames(inbound, 1);
    conn.send(new Uint8Array([5, 6, 7]));
    expect([...(await got)[0]!]).toEqual([5, 6, 7]);
  });

  it('refuses a server it cannot verify, or a client without TLS', async () => {
    expect(await codeOf(() => connectNats({ servers: server.url, tls: {}, timeoutMs: 2000 }))).toBe('PEER_UNAVAILABLE');
    expect(await codeOf(() => connectNats({ servers: server.url, timeoutMs: 2000 }))).toBe('PEER_UNAVAILABLE');
  });
});
