import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { UnpackLayer } from '../../src/unpack/index.js';

/** One tar entry of a hand-made layer; defaults make a 0644 regular file owned by root. */
export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
}

/** Writes entries with tar-stream, exactly as given: no normalization, so hostile names survive. */
export async function tarBytes(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        {
          name: entry.name,
          type,
          // tar-stream replaces a mode of 0 by its default; a file-type bit (masked off on encode) keeps it 0.
          mode:
            entry.mode === 0
              ? 0o100000
              : (entry.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644)),
          uid: entry.uid ?? 0,
          gid: entry.gid ?? 0,
          mtime: entry.mtime ?? new Date('2020-01-02T03:04:05Z'),
          linkname: entry.linkname,
          devmajor: entry.devmajor,
          devminor: entry.devminor,
          size: type === 'file' ? content.length : 0,
        },
        type === 'file' ? content : Buffer.alloc(0),
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }
  pack.finalize();
  return done;
}

export function zstdBytes(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function compress(data: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(data);
  if (compression === 'zstd') return zstdBytes(data);
  return data;
}

const mediaTypes: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/** A layer served from memory, in chunks of `chunkSize` so stream boundaries fall mid-header. */
export function blobLayer(blob: Buffer, mediaType: string, chunkSize = 4096): UnpackLayer {
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  return {
    descriptor: { mediaType, digest, size: blob.length },
    open: async () => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < blob.length; i += chunkSize) chunks.push(blob.subarray(i, i + chunkSize));
      return Readable.from(chunks);
    },
  };
}

/** A layer from entries, compressed as asked and labelled with the matching media type. */
export async function tarLayer(
  entries: readonly TarEntry[],
  compression: Compression = 'gzip',
  mediaType = mediaTypes[compression],
): Promise<UnpackLayer> {
  return blobLayer(compress(await tarBytes(entries), compression), mediaType);
}

export { mediaTypes as layerMediaTypes };
