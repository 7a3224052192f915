/**
 * The pieces of gRPC over HTTP/2 (the "PROTOCOL-HTTP2" document of grpc/grpc) a unary server needs: the
 * `grpc-timeout` header, the percent-encoded `grpc-message`, and the length-prefixed message (one flag byte,
 * a 4-byte big-endian length, the bytes).
 */

/** The `grpc-timeout` units, in milliseconds. */
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * A `grpc-timeout` value (`TimeoutValue TimeoutUnit`: at most 8 ASCII digits, then one of `H M S m u n`) in
 * milliseconds; `undefined` when absent, `NaN` when malformed.
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : Number.NaN;
}

/**
 * The longest `grpc-message` sent, in characters once percent-encoded. Clients bound the metadata they take (gRPC
 * core, under Python's grpcio, refuses trailers past 8 KiB; node:http2 resets a stream whose header block outgrows
 * a frame), and a message quoting a client's input (a long name, a shape of many dimensions) would otherwise turn
 * a refusal into a reset stream the client reads as `INTERNAL`.
 */
export const MAX_GRPC_MESSAGE_LENGTH = 4096;

/**
 * `grpc-message` as the protocol sends it: UTF-8, with every byte outside printable ASCII (0x20–0x7E) and `%`
 * itself percent-encoded; what a client decodes back to the same text. A message longer than
 * {@link MAX_GRPC_MESSAGE_LENGTH} once encoded is cut at a character and ends with `...`.
 */
export function encodeGrpcMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x20-\x24\x26-\x7e]/.test(message) && message.length <= MAX_GRPC_MESSAGE_LENGTH) return message;
  let out = '';
  for (const ch of message) {
    const c = ch.codePointAt(0)!;
    let piece = '';
    if (c >= 0x20 && c <= 0x7e && c !== 0x25) piece = ch;
    else for (const b of Buffer.from(ch, 'utf8')) piece += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length + piece.length > MAX_GRPC_MESSAGE_LENGTH - 3) return `${out}...`;
    out += piece;
  }
  return out;
}

/** One message with its 5-byte prefix (uncompressed), ready to write as the response's DATA. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** The one message of a unary request, or why the bytes are not one (with the gRPC status to answer). */
export type UnaryMessage =
  | { readonly ok: true; readonly compressed: boolean; readonly message: Buffer }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * The single length-prefixed message of a unary request body (all its DATA frames joined), checked as a
 * server must: exactly one message, a flag byte of 0 or 1, a length that matches.
 */
export function readUnaryMessage(body: Buffer): UnaryMessage {
  if (body.length === 0) return { ok: false, status: 12, message: 'a unary call needs exactly one request message; none was received' };
  if (body.length < 5) return { ok: false, status: 13, message: `the request ends inside a message prefix (${body.length} of 5 bytes)` };
  const flag = body[0]!;
  if (flag > 1) return { ok: false, status: 13, message: `invalid message flag ${flag} (0: uncompressed, 1: compressed)` };
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) return { ok: false, status: 13, message: `the request message is truncated: ${body.length - 5} of ${length} bytes` };
  if (body.length > 5 + length) return { ok: false, status: 12, message: 'a unary call needs exactly one request message; more than one was received' };
  return { ok: true, compressed: flag === 1, message: body.subarray(5) };
}
