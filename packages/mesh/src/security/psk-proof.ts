import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalidOption } from '@epara/core';

/** Bytes of each side's handshake nonce. */
export const NONCE_BYTES = 32;
/** Shortest pre-shared key accepted, bytes: the key must be random, not a password. */
export const MIN_PSK_BYTES = 16;

const LABEL = Buffer.from('epara-mesh-psk-v1');

/** A fresh random nonce. */
export const newNonce = (): Uint8Array => new Uint8Array(randomBytes(NONCE_BYTES));

/** Normalizes a key given as bytes or a string (UTF-8) and checks its length. @throws EparaError `INVALID_OPTIONS` */
export function pskBytes(psk: string | Uint8Array): Buffer {
  const key = typeof psk === 'string' ? Buffer.from(psk, 'utf8') : Buffer.from(psk);
  if (!(typeof psk === 'string' || psk instanceof Uint8Array)) invalidOption('psk', psk, 'a string or Uint8Array');
  if (key.byteLength < MIN_PSK_BYTES) invalidOption('psk', `<${key.byteLength} bytes>`, `at least ${MIN_PSK_BYTES} bytes of random key`);
  return key;
}

/** What both sides agreed on so far; each proof covers all of it. */
export interface Transcript {
  readonly clientNonce: Uint8Array;
  readonly serverNonce: Uint8Array;
  readonly clientId: string;
  readonly serverId: string;
}

function framed(parts: readonly Uint8Array[]): Buffer {
  // Length-prefixed so that no two different transcripts serialize to the same bytes.
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(p.byteLength);
    chunks.push(len, Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  }
  return Buffer.concat(chunks);
}

/**
 * HMAC-SHA256 under the key over the label, the prover's role, both nonces and both ids. The role makes
 * the client's and server's proofs differ, so one cannot be reflected as the other.
 */
export function proofOf(key: Buffer, role: 'client' | 'server', t: Transcript): Uint8Array {
  const body = framed([LABEL, Buffer.from(role), t.clientNonce, t.serverNonce, Buffer.from(t.clientId), Buffer.from(t.serverId)]);
  return new Uint8Array(createHmac('sha256', key).update(body).digest());
}

/** Constant-time check of a received proof. */
export function proofMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.byteLength === received.byteLength && timingSafeEqual(expected, received);
}
