import type { IncomingHttpHeaders } from 'node:http2';
import { promisify } from 'node:util';
import { deflate, gzip } from 'node:zlib';

const gzipP = promisify(gzip);
const deflateP = promisify(deflate);

/** The encodings answers are compressed with. */
export type GrpcAnswerEncoding = 'gzip' | 'deflate';

/**
 * The encoding a call's answer messages are compressed with: the one its request messages are compressed with
 * (`grpc-encoding: gzip` or `deflate`, as a grpc-js channel's `grpc.default_compression_algorithm`, grpcio's
 * `compression=` and tritonclient's `compression_algorithm` send them), when the client takes it
 * (`grpc-accept-encoding` lists it, or is absent: a client that sends an encoding reads it). This is grpc-go's
 * server rule: a client that compresses its requests gets compressed answers, and one that does not gets them
 * as they are (compressing every answer costs the server CPU most clients never asked for). `undefined`: identity.
 */
export function answerEncodingOf(headers: IncomingHttpHeaders): GrpcAnswerEncoding | undefined {
  const sent = header(headers, 'grpc-encoding')?.trim().toLowerCase();
  if (sent !== 'gzip' && sent !== 'deflate') return undefined;
  const accept = header(headers, 'grpc-accept-encoding');
  if (accept === undefined) return sent;
  return accept.split(',').some((e) => e.trim().toLowerCase() === sent) ? sent : undefined;
}

function header(headers: IncomingHttpHeaders, key: string): string | undefined {
  const v = headers[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * One framed message (5-byte prefix, flag 0) compressed with `encoding` and flagged 1; the frame as it is when
 * compressing does not make it smaller (the protocol lets each message say whether it is compressed, so a message
 * of random floats is not sent larger than it is).
 */
export async function compressFrame(frame: Buffer, encoding: GrpcAnswerEncoding): Promise<Buffer> {
  const message = frame.subarray(5);
  const packed = await (encoding === 'gzip' ? gzipP : deflateP)(message);
  if (packed.length >= message.length) return frame;
  const out = Buffer.allocUnsafe(5 + packed.length);
  out[0] = 1;
  out.writeUInt32BE(packed.length, 1);
  packed.copy(out, 5);
  return out;
}
