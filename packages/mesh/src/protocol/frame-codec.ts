import { EparaError, isEparaError } from '@epara/core';
import { ByteReader, protocolError } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { MESSAGE_LAYOUTS } from './message-codec.js';
import type { MessageLayout } from './message-codec.js';
import { MESSAGE_TYPE_CODES, SUBMIT_FLAG_TRACE } from './messages.js';
import type { DecodedMessage, WireMessage, WireMessageType } from './messages.js';
import { resolveProtocolLimits } from './protocol-limits.js';
import type { ProtocolLimits, ResolvedProtocolLimits } from './protocol-limits.js';
import { align8, readTensorTable, writeTensorTable } from './tensor-codec.js';
import { crc32Update, frameCrc32 } from './frame-checksum.js';
import type { Connection } from '../transport/transport.js';
import type { TensorPlacement } from './tensor-codec.js';

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;
/** Bytes of the fixed frame header. */
export const FRAME_HEADER_BYTES = 24;
/** First two bytes of every frame: ASCII "EP". */
export const FRAME_MAGIC = 0x5045;
/** Bit 0 of the frame flags (header byte 6): a CRC-32 of the frame is in header bytes 20–23. */
export const FRAME_FLAG_CHECKSUM = 1;
/** Offset of the checksum field in the header. */
const CHECKSUM_OFFSET = 20;

const TYPES_BY_CODE: readonly (WireMessageType | undefined)[] = (() => {
  const out: (WireMessageType | undefined)[] = [];
  for (const [type, code] of Object.entries(MESSAGE_TYPE_CODES)) out[code] = type as WireMessageType;
  return out;
})();

/** The fixed header of a frame, readable without decoding the rest. */
export interface FrameHeader {
  readonly version: number;
  readonly type: WireMessageType;
  readonly flags: number;
  readonly requestId: number;
  readonly metaLength: number;
  readonly bodyLength: number;
  /** The frame carries a CRC-32 (set by every frame this build encodes; an older build's frames do not). */
  readonly checksummed: boolean;
}

/**
 * Reads and checks the fixed 24-byte header (magic, version, type, lengths against the frame's size). Use it
 * to answer a malformed frame with an `error` carrying its request id.
 *
 * @throws EparaError `PROTOCOL_ERROR` for a short frame, bad magic, unknown version or type, or lengths
 * that do not add up.
 */
export function readFrameHeader(frame: Uint8Array, limits?: ProtocolLimits): FrameHeader {
  const l = resolveProtocolLimits(limits);
  if (!(frame instanceof Uint8Array)) throw protocolError('a frame must be a Uint8Array');
  if (frame.byteLength > l.maxFrameBytes) throw protocolError(`frame of ${frame.byteLength} bytes exceeds ${l.maxFrameBytes}`);
  if (frame.byteLength < FRAME_HEADER_BYTES) throw protocolError(`frame of ${frame.byteLength} bytes is shorter than the header`);
  const v = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  if (v.getUint16(0, true) !== FRAME_MAGIC) throw protocolError('not an EPARA frame (bad magic)');
  const version = v.getUint8(2);
  if (version !== PROTOCOL_VERSION) {
    throw protocolError(`unsupported protocol version ${version} (this node speaks ${PROTOCOL_VERSION})`, { version, supported: [PROTOCOL_VERSION] });
  }
  const code = v.getUint8(3);
  const type = TYPES_BY_CODE[code];
  if (type === undefined) throw protocolError(`unknown message type ${code}`, { type: code, reason: 'unknown-type' });
  const metaLength = v.getUint32(12, true);
  const bodyLength = v.getUint32(16, true);
  const expected = FRAME_HEADER_BYTES + align8(metaLength) + bodyLength;
  if (expected !== frame.byteLength) throw protocolError(`frame is ${frame.byteLength} bytes, its header says ${expected}`);
  if (bodyLength > 0 && !MESSAGE_LAYOUTS[type].hasTensors) throw protocolError(`a ${type} message has no body`);
  const checksummed = (v.getUint8(6) & FRAME_FLAG_CHECKSUM) !== 0;
  return { version, type, flags: v.getUint16(4, true), requestId: v.getUint32(8, true), metaLength, bodyLength, checksummed };
}

/**
 * Encodes a message into one frame: header, metadata, padding to 8 bytes, raw tensor bytes (each tensor
 * 8-byte aligned). Tensor data is copied once, into the frame.
 *
 * @example
 * ```ts
 * const frame = encodeFrame({ type: 'result', requestId: 7, outputs: { y: { type: 'float32', dims: [2], data: new Float32Array([1, 2]) } } });
 * decodeFrame(frame); // { type: 'result', requestId: 7, flags: 0, outputs: { y: … } }
 * ```
 * @throws EparaError `INVALID_INPUT` for a value the format cannot carry (bad tensor, oversized id,
 * non-integer count); `PROTOCOL_ERROR` when the frame would exceed `maxFrameBytes`.
 */
export function encodeFrame(message: WireMessage, limits?: ProtocolLimits): Uint8Array {
  return wholeFrame(encodeLayout(message, resolveProtocolLimits(limits), false));
}

/**
 * One frame as the pieces it is sent in: its bytes are the pieces' bytes in order. {@link encodeFrameParts} makes
 * them; {@link sendFrameParts} writes them on a connection.
 */
export interface FrameParts {
  readonly parts: readonly Uint8Array[];
  /** Bytes of the whole frame. */
  readonly byteLength: number;
}

/** Tensors at least this large are a piece of their own in {@link encodeFrameParts} (a view, not a copy). */
export const PASS_THROUGH_MIN_BYTES = 16 * 1024;

/**
 * Encodes a message like {@link encodeFrame}, without copying its large tensors: the frame is a list of pieces
 * whose bytes, in order, are exactly `encodeFrame`'s; each tensor of at least {@link PASS_THROUGH_MIN_BYTES} is
 * a view of the caller's data, everything else (header, metadata, small tensors, padding) is copied into pieces
 * of its own. A tensor that only passes through a node — a request forwarded, a result relayed — leaves as the
 * bytes it arrived in. The checksum covers the pieces as they are now: keep the tensors unmodified until the
 * frame is written (a transport writes it before the next turn of the event loop, or owns it as `send` does).
 *
 * @throws EparaError as {@link encodeFrame}.
 */
export function encodeFrameParts(message: WireMessage, limits?: ProtocolLimits): FrameParts {
  const e = encodeLayout(message, resolveProtocolLimits(limits), true);
  if (e.head.byteLength === e.total) return { parts: [wholeFrame(e)], byteLength: e.total };
  // Pieces in frame order: the head (header, metadata, padding), then per tensor its padding and bytes — copied
  // into one piece with the small tensors and padding around them, a piece of its own when large.
  const parts: Uint8Array[] = [];
  let pending: { at: number; bytes: Uint8Array }[] = [];
  let pendingStart = 0;
  let cursor = e.bodyStart;
  const flush = (end: number): void => {
    if (end <= pendingStart) return;
    const piece = new Uint8Array(end - pendingStart);
    for (const p of pending) piece.set(p.bytes, p.at - pendingStart);
    parts.push(piece);
    pending = [];
  };
  const head = e.head;
  parts.push(head);
  pendingStart = e.bodyStart;
  for (const p of e.table!.placements) {
    const at = e.bodyStart + p.offset;
    if (p.bytes.byteLength >= PASS_THROUGH_MIN_BYTES) {
      flush(at);
      parts.push(p.bytes);
      pendingStart = at + p.bytes.byteLength;
    } else {
      pending.push({ at, bytes: p.bytes });
    }
    cursor = at + p.bytes.byteLength;
  }
  flush(cursor);
  let crc = crc32Update(head.subarray(0, CHECKSUM_OFFSET));
  crc = crc32Update(head.subarray(CHECKSUM_OFFSET + 4), crc);
  for (let i = 1; i < parts.length; i++) crc = crc32Update(parts[i]!, crc);
  finishHeader(head, crc);
  return { parts, byteLength: e.total };
}

/** The whole frame of `f` in one array (its only piece when it has one). */
export function joinFrameParts(f: FrameParts): Uint8Array {
  if (f.parts.length === 1) return f.parts[0]!;
  const out = new Uint8Array(f.byteLength);
  let at = 0;
  for (const p of f.parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Writes a frame made of pieces on `connection`: through its `sendParts` when it has one (a WebSocket sends the
 * pieces as fragments of one message, no copy), else joined into one `send`.
 */
export function sendFrameParts(connection: Pick<Connection, 'send' | 'sendParts'>, f: FrameParts): void {
  if (f.parts.length > 1 && connection.sendParts !== undefined) connection.sendParts(f.parts);
  else connection.send(joinFrameParts(f));
}

/** A message laid out for encoding: the frame (or, for pieces, its head) with its header and metadata written. */
interface EncodeLayout {
  readonly total: number;
  readonly bodyStart: number;
  readonly table: { placements: TensorPlacement[]; bodyLength: number } | undefined;
  /**
   * The whole frame, or only its header and metadata (`bodyStart` bytes) when pieces were asked for and a tensor
   * is a piece of its own. The checksum is left for {@link finishHeader}.
   */
  readonly head: Uint8Array;
}

function encodeLayout(message: WireMessage, l: ResolvedProtocolLimits, pieces: boolean): EncodeLayout {
  const code = MESSAGE_TYPE_CODES[message.type];
  if (code === undefined) throw new EparaError('INVALID_INPUT', `unknown message type \`${String(message.type)}\``);
  // Metadata and tensor table go into one writer, reused frame after frame (encoding never re-enters itself);
  // the frame is the only allocation, and tensor data is copied once, into it (or not at all: encodeFrameParts).
  const meta = scratch();
  const layout = MESSAGE_LAYOUTS[message.type] as MessageLayout<WireMessageType>;
  const tensors = layout.write(meta, message as never, l);
  const table = tensors === undefined ? undefined : writeTensorTable(meta, tensors, l);
  const metaLength = meta.length;
  const bodyStart = FRAME_HEADER_BYTES + align8(metaLength);
  const total = bodyStart + (table?.bodyLength ?? 0);
  if (total > l.maxFrameBytes) {
    throw new EparaError('PROTOCOL_ERROR', `a ${message.type} frame of ${total} bytes exceeds maxFrameBytes ${l.maxFrameBytes}`, { frameBytes: total });
  }
  const split = pieces && table !== undefined && table.placements.some((p) => p.bytes.byteLength >= PASS_THROUGH_MIN_BYTES);
  const head = new Uint8Array(split ? bodyStart : total);
  const v = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES);
  v.setUint16(0, FRAME_MAGIC, true);
  v.setUint8(2, PROTOCOL_VERSION);
  v.setUint8(3, code);
  // The trace flag always says whether this frame's trace section is there, whatever flags the caller copied.
  const flags = message.type === 'submit' ? ((message.flags ?? 0) & ~SUBMIT_FLAG_TRACE) | (message.trace !== undefined ? SUBMIT_FLAG_TRACE : 0) : (message.flags ?? 0);
  v.setUint16(4, flags, true);
  // The checksum flag is part of what the checksum covers.
  v.setUint8(6, FRAME_FLAG_CHECKSUM);
  v.setUint32(8, message.requestId ?? 0, true);
  v.setUint32(12, metaLength, true);
  v.setUint32(16, table?.bodyLength ?? 0, true);
  head.set(meta.bytes(), FRAME_HEADER_BYTES);
  release(meta);
  return { total, bodyStart, table, head };
}

/** The frame of a layout laid out whole: its tensors copied in behind the metadata, its checksum stored. */
function wholeFrame(e: EncodeLayout): Uint8Array {
  const frame = e.head;
  if (e.table !== undefined) for (const p of e.table.placements) frame.set(p.bytes, e.bodyStart + p.offset);
  finishHeader(frame, frameCrc32(frame, CHECKSUM_OFFSET));
  return frame;
}

/** Stores `crc` (computed over the frame without its checksum field) in the header. */
function finishHeader(head: Uint8Array, crc: number): void {
  new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES).setUint32(CHECKSUM_OFFSET, crc, true);
}

/** Whether a frame is refused only for its message type, one a newer build may send: the rest of the link is fine. */
export function isUnknownTypeError(err: unknown): boolean {
  return isEparaError(err) && err.code === 'PROTOCOL_ERROR' && err.details['reason'] === 'unknown-type';
}

/** Whether a frame is refused for its checksum: bytes changed in transit, nothing in it can be believed. */
export function isChecksumError(err: unknown): boolean {
  return isEparaError(err) && err.code === 'PROTOCOL_ERROR' && err.details['reason'] === 'checksum';
}

/**
 * Remembers, per link, whether its peer checksums its frames: once one checksummed frame arrived on a link, a
 * frame without the checksum flag there is refused like a checksum mismatch (the flag bit itself was flipped).
 * A peer of an older build, which never sets it, is read as before.
 */
export class ChecksumPolicy {
  readonly #checksummed = new WeakSet<object>();

  /** @throws EparaError `PROTOCOL_ERROR` (`details.reason: 'checksum'`) for an unflagged frame on a checksummed link. */
  check(link: object, frame: Uint8Array): void {
    if (frame.byteLength < FRAME_HEADER_BYTES) return;
    if ((frame[6]! & FRAME_FLAG_CHECKSUM) !== 0) this.#checksummed.add(link);
    else if (this.#checksummed.has(link)) throw protocolError('frame without a checksum on a link whose peer checksums: corrupted in transit', { reason: 'checksum' });
  }
}

function verifyChecksum(frame: Uint8Array): void {
  const stored = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES).getUint32(CHECKSUM_OFFSET, true);
  const actual = frameCrc32(frame, CHECKSUM_OFFSET);
  if (stored !== actual) throw protocolError(`frame checksum mismatch (stored ${stored}, computed ${actual}): corrupted in transit`, { reason: 'checksum' });
}

/** The writer {@link encodeFrame} reuses; one that grew past this for a large payload is not kept. */
const SCRATCH_KEEP_BYTES = 64 * 1024;
let spare: ByteWriter | undefined;

function scratch(): ByteWriter {
  const w = spare ?? new ByteWriter(256);
  spare = undefined;
  w.reset();
  return w;
}

function release(w: ByteWriter): void {
  if (w.capacity <= SCRATCH_KEEP_BYTES) spare = w;
}

/**
 * Decodes and validates one frame. Tensors are views into `frame` where alignment allows (keep the frame
 * unmodified while you use them). Nothing but `PROTOCOL_ERROR` ever escapes: a malformed frame cannot
 * crash the caller.
 *
 * A frame that carries a checksum (every frame {@link encodeFrame} makes) is checked against it first: bytes
 * changed in transit are refused (`details.reason: 'checksum'`) before anything in them is believed.
 *
 * @throws EparaError `PROTOCOL_ERROR` for a checksum mismatch, an unknown version or type, a size over the
 * limits, or any inconsistency (lengths, counts, dtypes, dims × element size ≠ byte length, invalid UTF-8,
 * trailing bytes).
 */
export function decodeFrame(frame: Uint8Array, limits?: ProtocolLimits): DecodedMessage {
  try {
    const l = resolveProtocolLimits(limits);
    const h = readFrameHeader(frame, l);
    if (h.checksummed) verifyChecksum(frame);
    const r = new ByteReader(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + h.metaLength));
    const bodyStart = FRAME_HEADER_BYTES + align8(h.metaLength);
    const body = frame.subarray(bodyStart, bodyStart + h.bodyLength);
    const layout = MESSAGE_LAYOUTS[h.type] as MessageLayout<WireMessageType>;
    let tensorsRead = false;
    const fields = layout.read(r, l, () => ((tensorsRead = true), readTensorTable(r, body, l)), h.flags);
    r.end(`${h.type} metadata`);
    if (!tensorsRead && h.bodyLength > 0) throw protocolError(`a ${h.type} message without tensors has a body`);
    return { type: h.type, requestId: h.requestId, flags: h.flags, ...fields } as DecodedMessage;
  } catch (err) {
    if (isEparaError(err) && err.code === 'PROTOCOL_ERROR') throw err;
    // Anything else (a RangeError from a hostile length, a bug) is still only a bad frame to the caller.
    throw new EparaError('PROTOCOL_ERROR', `malformed frame: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
  }
}

/**
 * Whether `err` is a frame over `maxFrameBytes` (the codec or a connection refused it; its details say how large).
 * The same message is as large towards every peer: retrying it elsewhere would hit the same limit.
 */
export function isFrameTooLarge(err: unknown): err is EparaError {
  return isEparaError(err) && err.code === 'PROTOCOL_ERROR' && typeof err.details['frameBytes'] === 'number';
}
