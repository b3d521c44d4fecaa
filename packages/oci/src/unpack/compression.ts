import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { type LayerCompression, layerCompression } from '../image/media-types.js';
import { createZstdDecompressor } from './zstd-decompressor.js';

/** How many leading bytes `detectCompression` looks at. */
export const compressionMagicLength = 6;

const gzipMagic = [0x1f, 0x8b];
const zstdMagic = [0x28, 0xb5, 0x2f, 0xfd];
// zstd skippable frames (zstd:chunked puts its table of contents in one) start with 0x184D2A5?, little-endian.
const xzMagic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const bzip2Magic = [0x42, 0x5a, 0x68];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => head[i] === byte);
}

function isZstdSkippableFrame(head: Uint8Array): boolean {
  return (
    head.length >= 4 &&
    (head[0] ?? 0) >= 0x50 &&
    (head[0] ?? 0) <= 0x5f &&
    head[1] === 0x2a &&
    head[2] === 0x4d &&
    head[3] === 0x18
  );
}

/**
 * Decides the compression from the first bytes of the blob: magic bytes win over the media type,
 * because some registries label zstd or plain tar layers as gzip.
 * Returns a description of what is unsupported instead when the blob is xz or bzip2.
 */
export function detectCompression(
  head: Uint8Array,
  mediaType: string,
): LayerCompression | { unsupported: string } {
  if (startsWith(head, gzipMagic)) return 'gzip';
  if (startsWith(head, zstdMagic) || isZstdSkippableFrame(head)) return 'zstd';
  if (startsWith(head, xzMagic)) return { unsupported: 'xz' };
  if (startsWith(head, bzip2Magic) && layerCompression(mediaType) !== 'none') {
    return { unsupported: 'bzip2' };
  }
  // A tar starts with a file name, so anything else is read as tar; the tar parser rejects junk.
  return 'none';
}

/** Node >= 22.15 ships a native zstd decoder; Node 20 falls back to fzstd (pure JS, streaming). */
export function createDecompressor(compression: 'gzip' | 'zstd'): Transform {
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize: 256 * 1024 });
  return createZstdDecompressor();
}
