import { EparaError } from '@epara/core';

/** A decoded image: `channels` interleaved 8-bit samples per pixel, row-major. */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

/** Largest side accepted, pixels (keeps one request's tensor under ~12 MB). */
export const MAX_SIDE = 1024;

const bad = (message: string): never => {
  throw new EparaError('INVALID_INPUT', message);
};

/**
 * Decodes a binary PGM (`P5`, grayscale) or PPM (`P6`, RGB) image with maxval 255: the simplest image
 * formats a client can write without a library.
 *
 * @throws EparaError `INVALID_INPUT` for anything else (other magic, truncated data, a side over {@link MAX_SIDE}).
 */
export function decodeNetpbm(body: Uint8Array): Image {
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4 && i < body.length && i < 1024) {
    const c = body[i]!;
    if (c === 0x23) {
      while (i < body.length && body[i] !== 0x0a) i++; // comment to end of line
    } else if (c <= 0x20) {
      i++;
    } else {
      let token = '';
      while (i < body.length && body[i]! > 0x20) token += String.fromCharCode(body[i++]!);
      fields.push(token);
    }
  }
  const [magic, w, h, max] = fields;
  if (magic !== 'P5' && magic !== 'P6') bad(`expected a binary PGM (P5) or PPM (P6) image, got ${JSON.stringify(magic ?? '')}`);
  const width = Number(w);
  const height = Number(h);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) bad(`bad image size ${w}x${h}`);
  if (width > MAX_SIDE || height > MAX_SIDE) bad(`image ${width}x${height} exceeds ${MAX_SIDE} pixels per side`);
  if (max !== '255') bad(`expected maxval 255, got ${max}`);
  const channels = magic === 'P5' ? 1 : 3;
  const start = i + 1; // one whitespace byte after maxval
  const size = width * height * channels;
  if (body.length - start < size) bad(`truncated image: ${body.length - start} of ${size} bytes`);
  return { width, height, channels, pixels: body.subarray(start, start + size) };
}

/** Encodes an 8-bit grayscale image as binary PGM (`P5`). */
export function encodePgm(width: number, height: number, pixels: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(`P5\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + pixels.length);
  out.set(header);
  out.set(pixels, header.length);
  return out;
}
