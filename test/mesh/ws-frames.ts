/*
 * WebSocket frames as they cross the TCP proxy (tcp-proxy.ts): a splitter that cuts one direction of a proxied
 * connection into its HTTP upgrade and then whole frames, and helpers that read and rewrite a frame's payload, so
 * a test can drop, duplicate, reorder, corrupt or truncate single messages of the mesh protocol in transit.
 */

/** One whole WebSocket frame in transit: its raw bytes (header, mask key, masked payload). */
export interface WsFrame {
  readonly raw: Buffer;
  readonly opcode: number;
  readonly masked: boolean;
  readonly headerBytes: number;
}

/** Cuts a byte stream into the HTTP upgrade (passed on whole, `frame` undefined) and then WebSocket frames. */
export class WsSplitter {
  #buffer = Buffer.alloc(0);
  #upgraded = false;

  /** Feeds a chunk; returns what became complete: the upgrade's bytes, then frames. */
  push(chunk: Buffer): { readonly raw: Buffer; readonly frame?: WsFrame }[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const out: { raw: Buffer; frame?: WsFrame }[] = [];
    if (!this.#upgraded) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return out;
      out.push({ raw: this.#buffer.subarray(0, end + 4) });
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#upgraded = true;
    }
    for (let frame = nextFrame(this.#buffer); frame !== undefined; frame = nextFrame(this.#buffer)) {
      out.push({ raw: frame.raw, frame });
      this.#buffer = this.#buffer.subarray(frame.raw.length);
    }
    return out;
  }
}

function nextFrame(b: Buffer): WsFrame | undefined {
  if (b.length < 2) return undefined;
  const masked = (b[1]! & 0x80) !== 0;
  let length = b[1]! & 0x7f;
  let header = 2;
  if (length === 126) {
    if (b.length < 4) return undefined;
    length = b.readUInt16BE(2);
    header = 4;
  } else if (length === 127) {
    if (b.length < 10) return undefined;
    length = Number(b.readBigUInt64BE(2));
    header = 10;
  }
  if (masked) header += 4;
  if (b.length < header + length) return undefined;
  return { raw: Buffer.from(b.subarray(0, header + length)), opcode: b[0]! & 0x0f, masked, headerBytes: header };
}

/** The frame's payload, unmasked (a copy). */
export function payloadOf(f: WsFrame): Buffer {
  const p = Buffer.from(f.raw.subarray(f.headerBytes));
  if (f.masked) {
    const key = f.raw.subarray(f.headerBytes - 4, f.headerBytes);
    for (let i = 0; i < p.length; i++) p[i]! ^= key[i & 3]!;
  }
  return p;
}

/** A frame like `f` (same opcode and masking) carrying `payload`; a masked frame gets the all-zero mask key. */
export function withPayload(f: WsFrame, payload: Buffer): Buffer {
  const n = payload.length;
  const ext = n < 126 ? Buffer.alloc(0) : n < 65536 ? Buffer.alloc(2) : Buffer.alloc(8);
  if (ext.length === 2) ext.writeUInt16BE(n);
  if (ext.length === 8) ext.writeBigUInt64BE(BigInt(n));
  const len = n < 126 ? n : n < 65536 ? 126 : 127;
  const head = Buffer.from([f.raw[0]!, (f.masked ? 0x80 : 0) | len]);
  return Buffer.concat([head, ext, f.masked ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}

/** The mesh message type code of a binary frame's payload (frame header byte 3), or undefined. */
export function meshTypeOf(f: WsFrame): number | undefined {
  if (f.opcode !== 2) return undefined;
  const p = payloadOf(f);
  return p.length >= 24 && p.readUInt16LE(0) === 0x5045 ? p[3] : undefined;
}

/** Mesh message type codes (docs/mesh-transports.md). */
export const MESH_TYPE = { hello: 1, submit: 5, result: 6, error: 7, cancel: 8, streamOpen: 9, streamAccepted: 10, streamFrame: 11, streamResult: 12, streamClose: 13, syncToken: 14, syncAck: 15, placement: 16, ping: 17, pong: 18 } as const;
