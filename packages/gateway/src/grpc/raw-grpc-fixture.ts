import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/*
 * For tests that speak gRPC's HTTP/2 framing by hand, below any gRPC library: what a client sends that grpc-js
 * never would, and what the server puts on the wire (flags, headers, trailers) that a library hides.
 */

/** A gRPC length-prefixed message: the compressed flag (`1`: the message is in the call's `grpc-encoding`), its length, the bytes. */
export function grpcFrame(message: Buffer, flag: 0 | 1 = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** What a raw `ModelInfer` call got back: the response headers, the trailers, the body's bytes, the grpc-status (trailers first). */
export interface RawGrpcAnswer {
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  readonly data: Buffer;
  readonly status: string | undefined;
}

/** Posts `body` (framed messages) as one `ModelInfer` call on `session`, with `headers` over the required ones; resolves when the stream closes. */
export function rawModelInfer(session: ClientHttp2Session, body: Buffer, headers: OutgoingHttpHeaders = {}): Promise<RawGrpcAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let h: IncomingHttpHeaders = {};
    let t: IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    req.on('response', (x) => (h = x));
    req.on('trailers', (x) => (t = x));
    req.on('data', (c: Buffer) => data.push(c));
    req.on('error', reject);
    req.on('close', () => resolve({ headers: h, trailers: t, data: Buffer.concat(data), status: (t['grpc-status'] ?? h['grpc-status']) as string | undefined }));
    req.end(body);
  });
}
