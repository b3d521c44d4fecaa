import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ImageSourceError } from '../errors.js';
import { readLimited } from '../image/read-limited.js';

export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** Byte offset of the entry's data in the (uncompressed) archive file. */
  offset: number;
  size: number;
  linkname?: string;
}

const BLOCK = 512;

function cstring(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end >= 0 && end < start + len ? end : start + len);
}

function numeric(buf: Buffer, start: number, len: number): number {
  // GNU base-256 for sizes over 8 GiB: high bit set, big-endian after it.
  if (buf[start]! & 0x80) {
    let n = buf[start]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + buf[start + i]!;
    return n;
  }
  const text = cstring(buf, start, len).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === numeric(header, 148, 8);
}

function normalize(name: string): string {
  return posix.normalize(name.replace(/^\.?\/+/, '')).replace(/\/+$/, '');
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number.parseInt(data.toString('utf8', i, space), 10);
    if (!(len > 0)) break;
    const record = data.toString('utf8', space + 1, i + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Random access to a tar archive (an image archive: `oci-archive`, `docker save`) without
 * extracting it: one pass over the headers records where each file's data sits, and files are then
 * streamed straight from the archive. A gzip-compressed archive is first decompressed, streaming,
 * into a temp file that `close()` removes.
 */
export class TarArchive {
  readonly path: string;
  readonly entries: Map<string, TarEntry>;
  private readonly tempDir: string | undefined;

  private constructor(path: string, entries: Map<string, TarEntry>, tempDir?: string) {
    this.path = path;
    this.entries = entries;
    this.tempDir = tempDir;
  }

  static async open(
    file: string,
    options: { signal?: AbortSignal; tmpDir?: string } = {},
  ): Promise<TarArchive> {
    let path = file;
    let tempDir: string | undefined;
    const head = Buffer.alloc(4);
    const probe = await open(file, 'r');
    try {
      await probe.read(head, 0, 4, 0);
    } finally {
      await probe.close();
    }
    if (head[0] === 0x1f && head[1] === 0x8b) {
      tempDir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'iii-archive-'));
      path = join(tempDir, 'archive.tar');
      try {
        await pipeline(createReadStream(file), createGunzip(), createWriteStream(path), {
          signal: options.signal,
        });
      } catch (err) {
        await rm(tempDir, { recursive: true, force: true });
        throw new ImageSourceError(
          `cannot decompress ${file}: ${(err as Error).message}`,
          'Check the archive file.',
          {
            cause: err,
          },
        );
      }
    }
    try {
      return new TarArchive(path, await TarArchive.index(path, file), tempDir);
    } catch (err) {
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
      throw err;
    }
  }

  private static async index(path: string, shownAs: string): Promise<Map<string, TarEntry>> {
    const entries = new Map<string, TarEntry>();
    const fh = await open(path, 'r');
    try {
      const { size: fileSize } = await fh.stat();
      const header = Buffer.alloc(BLOCK);
      let pos = 0;
      let pax: Record<string, string> = {};
      let longName: string | undefined;
      let longLink: string | undefined;
      const readData = async (offset: number, size: number) => {
        if (size > 1 << 20)
          throw new ImageSourceError(`${shownAs}: oversized tar metadata`, 'Check the archive.');
        const buf = Buffer.alloc(size);
        await fh.read(buf, 0, size, offset);
        return buf;
      };
      while (pos + BLOCK <= fileSize) {
        const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
        if (bytesRead < BLOCK || header.every((b) => b === 0)) break;
        if (!checksumOk(header)) {
          throw new ImageSourceError(
            `${shownAs} is not a tar archive (bad header at byte ${pos})`,
            'Pass an archive written by `docker save`, `skopeo copy ... oci-archive:` or `docker-archive:`.',
          );
        }
        const typeflag = String.fromCharCode(header[156] || 0x30);
        let size = numeric(header, 124, 12);
        if (pax.size) size = Number(pax.size);
        const dataOffset = pos + BLOCK;
        const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
        if (typeflag === 'x') {
          pax = parsePax(await readData(dataOffset, size));
        } else if (typeflag === 'g') {
          // Global pax headers carry nothing we need.
        } else if (typeflag === 'L') {
          longName = cstring(await readData(dataOffset, size), 0, size);
        } else if (typeflag === 'K') {
          longLink = cstring(await readData(dataOffset, size), 0, size);
        } else {
          const prefix = header.toString('utf8', 257, 262) === 'ustar' ? cstring(header, 345, 155) : '';
          const rawName =
            pax.path ??
            longName ??
            (prefix ? `${prefix}/${cstring(header, 0, 100)}` : cstring(header, 0, 100));
          const linkname = pax.linkpath ?? longLink ?? cstring(header, 157, 100);
          const type: TarEntry['type'] =
            typeflag === '0' || typeflag === '\0' || typeflag === '7'
              ? 'file'
              : typeflag === '5'
                ? 'directory'
                : typeflag === '2'
                  ? 'symlink'
                  : typeflag === '1'
                    ? 'hardlink'
                    : 'other';
          const name = normalize(rawName);
          entries.set(name, { name, type, offset: dataOffset, size, ...(linkname ? { linkname } : {}) });
          pax = {};
          longName = undefined;
          longLink = undefined;
        }
        pos = next;
      }
    } finally {
      await fh.close();
    }
    return entries;
  }

  /** The regular-file entry for `name`, following symlinks and hardlinks inside the archive. */
  find(name: string): TarEntry | undefined {
    let current = normalize(name);
    for (let hops = 0; hops < 8; hops++) {
      const e = this.entries.get(current);
      if (!e) return undefined;
      if (e.type === 'file') return e;
      if (e.type === 'symlink' && e.linkname) {
        current = normalize(posix.join(posix.dirname(current), e.linkname));
      } else if (e.type === 'hardlink' && e.linkname) {
        current = normalize(e.linkname);
      } else {
        return undefined;
      }
    }
    return undefined;
  }

  get(name: string): TarEntry {
    const e = this.find(name);
    if (!e) {
      throw new ImageSourceError(
        `${name} is missing from the archive`,
        'The image archive is incomplete; export it again.',
      );
    }
    return e;
  }

  /** Streams a file's bytes straight from the archive. */
  openEntry(entry: TarEntry, options: { signal?: AbortSignal; start?: number } = {}): Readable {
    const start = entry.offset + (options.start ?? 0);
    if (entry.size === 0 || start >= entry.offset + entry.size) {
      return Readable.from([]);
    }
    return createReadStream(this.path, {
      start,
      end: entry.offset + entry.size - 1,
      signal: options.signal,
      highWaterMark: 1 << 20,
    });
  }

  async readEntry(name: string, limit: number): Promise<Buffer> {
    return readLimited(this.openEntry(this.get(name)), limit, name);
  }

  /** The first bytes of an entry (to sniff compression). */
  async peek(entry: TarEntry, length: number): Promise<Buffer> {
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(length, entry.size));
      await fh.read(buf, 0, buf.length, entry.offset);
      return buf;
    } finally {
      await fh.close();
    }
  }

  async close(): Promise<void> {
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
  }
}
