import { describe, expect, it } from 'vitest';
import { detectCompression } from './compression.js';

const gzip = 'application/vnd.oci.image.layer.v1.tar+gzip';
const plain = 'application/vnd.oci.image.layer.v1.tar';
const bytes = (...values: number[]) => Uint8Array.from(values);

describe('detectCompression', () => {
  it('reads gzip and zstd from their magic bytes whatever the media type says', () => {
    expect(detectCompression(bytes(0x1f, 0x8b, 8, 0, 0, 0), plain)).toBe('gzip');
    expect(detectCompression(bytes(0x28, 0xb5, 0x2f, 0xfd, 0, 0), gzip)).toBe('zstd');
  });

  it('recognises a zstd stream that starts with a skippable frame (zstd:chunked)', () => {
    expect(detectCompression(bytes(0x50, 0x2a, 0x4d, 0x18, 8, 0), gzip)).toBe('zstd');
  });

  it('reads anything else as a plain tar, including an empty blob', () => {
    expect(detectCompression(Buffer.from('etc/\0\0'), gzip)).toBe('none');
    expect(detectCompression(bytes(), gzip)).toBe('none');
  });

  it('names xz and bzip2 as unsupported', () => {
    expect(detectCompression(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), gzip)).toEqual({ unsupported: 'xz' });
    expect(detectCompression(Buffer.from('BZh91A'), gzip)).toEqual({ unsupported: 'bzip2' });
  });

  it('reads a plain tar whose first file name starts with BZh as a tar', () => {
    expect(detectCompression(Buffer.from('BZh-notes.txt'), plain)).toBe('none');
  });
});
