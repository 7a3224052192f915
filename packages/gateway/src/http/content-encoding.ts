import { promisify } from 'node:util';
import { deflate, gunzip, gzip, inflate, inflateRaw } from 'node:zlib';

const gunzipP = promisify(gunzip);
const inflateP = promisify(inflate);
const inflateRawP = promisify(inflateRaw);
const gzipP = promisify(gzip);
const deflateP = promisify(deflate);

/**
 * The content coding of an answer for a request's `Accept-Encoding` (RFC 9110 §12.5.3): `gzip` or `deflate`
 * (zlib-wrapped, as the standard means it) when the client takes one (`q` above 0, listed or through `*`), `gzip`
 * first among equals; undefined for identity (no header, `identity`, only codings not made here, or every one at
 * `q=0`).
 */
export function answerEncoding(accept: string | undefined): 'gzip' | 'deflate' | undefined {
  if (accept === undefined) return undefined;
  // Each coding's q: listed, or through `*` (any coding not listed).
  const listed = new Map<string, number>();
  let any: number | undefined;
  for (const item of accept.split(',')) {
    const [name = '', ...params] = item.split(';').map((x) => x.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (name === '*') any = q;
    else listed.set(name === 'x-gzip' ? 'gzip' : name, q);
  }
  let best: 'gzip' | 'deflate' | undefined;
  let bestQ = 0;
  for (const coding of ['gzip', 'deflate'] as const) {
    const q = listed.get(coding) ?? any ?? 0;
    if (q > bestQ) [best, bestQ] = [coding, q];
  }
  return best;
}

/** An answer's body in `coding`. */
export function encodeBody(body: Buffer, coding: 'gzip' | 'deflate'): Promise<Buffer> {
  return coding === 'gzip' ? gzipP(body) : deflateP(body);
}

/** The content codings of request bodies the infer route reads (`Accept-Encoding` of a 415 answer). */
export const REQUEST_ENCODINGS = 'gzip, deflate';

/** A body as the route reads it, or the answer to send instead. */
export type InflatedBody = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly status: 400 | 413 | 415 | 501; readonly message: string };

/**
 * Undoes a request's `Content-Encoding` (RFC 9110 §8.4), or the transfer codings of its `Transfer-Encoding` other
 * than `chunked` (which node:http undoes itself; `field` says which header is read): `gzip` (`x-gzip`), `deflate`
 * (zlib-wrapped as the standard says, or raw as some clients send it) and `identity`. Clients of the protocol compress whole bodies
 * this way (tritonclient's `request_compression_algorithm`); `Inference-Header-Content-Length` counts the
 * inflated bytes. The inflated size is bounded by `maxBytes`, so a compression bomb is a 413, not an allocation.
 */
export async function inflateBody(body: Buffer, header: string, o: { readonly maxBytes: number; readonly field?: 'Content-Encoding' | 'Transfer-Encoding' }): Promise<InflatedBody> {
  const { maxBytes } = o;
  const field = o.field ?? 'Content-Encoding';
  const codings = header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return { ok: true, body };
  const coding = codings[0]!;
  if (codings.length > 1 || (coding !== 'gzip' && coding !== 'x-gzip' && coding !== 'deflate')) {
    // An unknown transfer coding is a 501 (RFC 9112 §6.1), an unknown content coding a 415 (RFC 9110 §15.5.16).
    return { ok: false, status: field === 'Content-Encoding' ? 415 : 501, message: `${field} ${JSON.stringify(header)} is not supported (supported: ${REQUEST_ENCODINGS}, identity${field === 'Content-Encoding' ? '' : ', chunked'})` };
  }
  const options = { maxOutputLength: maxBytes };
  try {
    if (coding !== 'deflate') return { ok: true, body: await gunzipP(body, options) };
    try {
      return { ok: true, body: await inflateP(body, options) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw err;
      return { ok: true, body: await inflateRawP(body, options) };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, status: 413, message: `the inflated request body is larger than the limit of ${maxBytes} bytes` };
    return { ok: false, status: 400, message: `the request body does not inflate as ${coding} (${field}): ${(err as Error).message}` };
  }
}
