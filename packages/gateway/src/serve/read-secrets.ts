import { closeSync, openSync, readSync } from 'node:fs';
import { EparaError, isEparaError } from '@epara/core';
import type { NodeSecurity } from '@epara/mesh';
import type { ServeConfig } from './config-schema.js';

/** The shortest mesh key the node accepts (its challenge-response needs that much key). */
const MIN_PSK_BYTES = 16;
/** The shortest dashboard token. */
const MIN_TOKEN_CHARS = 16;
/** A key file longer than this is no key file (`/dev/zero`, a model, a log: reading it all would fill memory). */
const MAX_KEY_BYTES = 64 * 1024;
/** A PEM file (a certificate chain, a CA bundle) longer than this is no PEM file. */
const MAX_PEM_BYTES = 4 * 1024 * 1024;

/** TLS material for the mesh's `wss://` transport, read from the config's files. */
export interface MeshTls {
  readonly key?: Buffer;
  readonly cert?: Buffer;
  readonly ca?: Buffer;
  readonly requestCert?: boolean;
  readonly rejectUnauthorized?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The node's security from the config: the PSK from its variable or file, the TLS files. A key is bytes: a file's
 * as they are (a key of raw random bytes, `openssl rand 32`, is not UTF-8 text, and read as text each invalid byte
 * became U+FFFD, so different keys could be the same), a variable's as UTF-8. Either way one trailing line ending
 * (LF or CRLF) is not part of the key (see {@link keyBytes}).
 *
 * @throws EparaError `INVALID_OPTIONS` naming the field: a variable unset or empty, a file unreadable or longer
 * than a key file is, a key under 16 bytes.
 */
export function readSecurity(c: ServeConfig, at: (p: string) => string, env: Env): { node: NodeSecurity; tls?: MeshTls } {
  const s = c.security;
  if ('insecure' in s) return { node: { insecure: true } };
  const psk = readPsk(s.psk, at, env);
  const t = s.tls;
  const pem = (p: string, field: string): Buffer => readBounded(at(p), field, MAX_PEM_BYTES);
  const tls = t
    ? {
        ...(t.key ? { key: pem(t.key, 'security.tls.key') } : {}),
        ...(t.cert ? { cert: pem(t.cert, 'security.tls.cert') } : {}),
        ...(t.ca ? { ca: pem(t.ca, 'security.tls.ca') } : {}),
        ...(t.requestCert !== undefined ? { requestCert: t.requestCert } : {}),
        ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}),
      }
    : undefined;
  return { node: { psk }, ...(tls ? { tls } : {}) };
}

function readPsk(psk: { env: string } | { file: string }, at: (p: string) => string, env: Env): Uint8Array {
  if ('env' in psk) {
    const value = env[psk.env];
    const field = 'security.psk.env';
    if (value === undefined) throw new EparaError('INVALID_OPTIONS', `${field}: environment variable ${psk.env} is not set`, { field });
    if (value === '') throw new EparaError('INVALID_OPTIONS', `${field}: environment variable ${psk.env} is empty`, { field });
    const key = keyBytes(Buffer.from(value, 'utf8'));
    return atLeast(key, key.byteLength, `the key in ${psk.env}`, field);
  }
  const path = at(psk.file);
  const field = 'security.psk.file';
  const key = keyBytes(readBounded(path, field, MAX_KEY_BYTES));
  return atLeast(key, key.byteLength, `the key in ${path}`, field);
}

/**
 * The key a variable's or a file's bytes hold: all of them but one trailing line ending (LF or CRLF), the same
 * rule for both. `EPARA_PSK=$(cat psk)` drops the newline `echo … > psk` wrote, but a variable filled from a
 * secret store, a Kubernetes secret or an env file keeps it: read as it came, that key had one byte more than the
 * same key in a file, and two nodes configured the two ways refused each other's handshake.
 */
function keyBytes(bytes: Uint8Array): Uint8Array {
  const end = bytes.at(-1) === 0x0a ? (bytes.at(-2) === 0x0d ? bytes.length - 2 : bytes.length - 1) : bytes.length;
  return new Uint8Array(bytes.subarray(0, end));
}

function atLeast<T>(key: T, bytes: number, what: string, field: string): T {
  if (bytes < MIN_PSK_BYTES) throw new EparaError('INVALID_OPTIONS', `${field}: ${what} is ${bytes} bytes: at least ${MIN_PSK_BYTES} (e.g. openssl rand -hex 32)`, { field });
  return key;
}

/** Reads a whole file of at most `max` bytes (a device or a pipe is read as far as that, never to its end). */
function readBounded(path: string, field: string, max: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new EparaError('INVALID_OPTIONS', `${field}: cannot read ${path}: ${(err as Error).message}`, { field });
  }
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > max) throw new EparaError('INVALID_OPTIONS', `${field}: ${path} is longer than ${max} bytes: not a key file`, { field });
    }
    return buf.subarray(0, n);
  } catch (err) {
    if (isEparaError(err)) throw err;
    throw new EparaError('INVALID_OPTIONS', `${field}: cannot read ${path}: ${(err as Error).message}`, { field });
  } finally {
    closeSync(fd);
  }
}

/**
 * The dashboard's token from `dashboard.tokenEnv`, or `undefined` when none is configured.
 * @throws EparaError `INVALID_OPTIONS` when the variable is unset or shorter than 16 characters.
 */
export function readDashboardToken(c: ServeConfig, env: Env): string | undefined {
  const name = c.dashboard.tokenEnv;
  if (name === undefined) return undefined;
  const token = env[name];
  if (token === undefined || token.length < MIN_TOKEN_CHARS) {
    throw new EparaError('INVALID_OPTIONS', `dashboard.tokenEnv: environment variable ${name} must hold a token of at least ${MIN_TOKEN_CHARS} characters`, { field: 'dashboard.tokenEnv' });
  }
  return token;
}

/**
 * What `epara serve --check` says of the config's secrets, each problem once (the start would stop at the first):
 * the key, each TLS file, the dashboard's token.
 */
export function secretProblems(c: ServeConfig, at: (p: string) => string, env: Env): string[] {
  const problems: string[] = [];
  const attempt = (read: () => unknown): void => {
    try {
      read();
    } catch (err) {
      if (!isEparaError(err)) throw err;
      problems.push(err.message);
    }
  };
  const s = c.security;
  if (!('insecure' in s)) {
    attempt(() => readPsk(s.psk, at, env));
    for (const name of ['key', 'cert', 'ca'] as const) {
      const p = s.tls?.[name];
      if (p) attempt(() => readBounded(at(p), `security.tls.${name}`, MAX_PEM_BYTES));
    }
  }
  if (c.dashboard.enabled && c.gateway.http !== false) attempt(() => readDashboardToken(c, env));
  return problems;
}
