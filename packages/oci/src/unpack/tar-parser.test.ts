import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ustarHeader } from '../../test/tar-blocks.js';
import { maxTarMetadataBytes, type TarEntryHeader, TarParser } from './tar-parser.js';

function padded(body: Buffer): Buffer {
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

function paxRecord(key: string, value: string): string {
  const line = ` ${key}=${value}\n`;
  let length = line.length + 1;
  while (`${length}${line}`.length !== length) length += 1;
  return `${length}${line}`;
}

/** A hostile PAX header declaring 2 MiB of body (none of it follows). */
const hostile = ustarHeader('PaxHeader/huge', 'x', 2 * 1024 * 1024);

/** `bytes` in uneven chunks, so headers and bodies are split across them. */
function unevenChunks(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, step = 1; offset < bytes.length; step = (step * 7 + 3) % 1500) {
    chunks.push(bytes.subarray(offset, offset + step + 1));
    offset += step + 1;
  }
  return chunks;
}

interface Parsed {
  header: TarEntryHeader;
  content: string;
  streamed: boolean;
}

/** Parses `bytes` (in uneven chunks) with the parser; answers every entry and its content. */
async function parse(bytes: Buffer, hash?: ReturnType<typeof createHash>): Promise<Parsed[]> {
  const entries: Parsed[] = [];
  const parser = new TarParser({
    wholeBodyLimit: 1024,
    onTooLarge: (type, size) => new Error(`too large: ${type} ${size}`),
    ...(hash ? { hash } : {}),
    onEntry: (entry, body) => {
      if (Buffer.isBuffer(body)) {
        entries.push({ header: entry, content: body.toString('latin1'), streamed: false });
        return undefined;
      }
      return (async () => {
        const parts: Buffer[] = [];
        for await (const part of body) parts.push(part as Buffer);
        entries.push({ header: entry, content: Buffer.concat(parts).toString('latin1'), streamed: true });
      })();
    },
  });
  await pipeline(Readable.from(unevenChunks(bytes)), parser);
  return entries;
}

/** The same with tar-stream, whose reading the parser follows. */
async function parseWithTarStream(bytes: Buffer): Promise<Omit<Parsed, 'streamed'>[]> {
  const entries: Omit<Parsed, 'streamed'>[] = [];
  const extract = tar.extract();
  extract.on('entry', (entry, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (part) => parts.push(part as Buffer));
    stream.on('end', () => {
      entries.push({ header: entry as TarEntryHeader, content: Buffer.concat(parts).toString('latin1') });
      next();
    });
  });
  await pipeline(Readable.from([bytes]), extract);
  return entries;
}

const fields = [
  'name',
  'type',
  'mode',
  'uid',
  'gid',
  'size',
  'mtime',
  'linkname',
  'devmajor',
  'devminor',
  'pax',
];

function pick(header: TarEntryHeader): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field, header[field as keyof TarEntryHeader]]));
}

describe('TarParser', () => {
  let dir: string;
  const archives: Record<string, Buffer> = {};

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-parser-'));
    const tree = path.join(dir, 'tree');
    const deep = path.join(tree, 'd'.repeat(90), 'e'.repeat(90));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, `${'f'.repeat(120)}.txt`), 'x'.repeat(1001));
    fs.writeFileSync(path.join(tree, 'odd'), Buffer.alloc(70_001, 1));
    fs.writeFileSync(path.join(tree, 'empty'), '');
    fs.writeFileSync(path.join(tree, 'exactly-the-limit'), Buffer.alloc(1024, 2));
    fs.chmodSync(path.join(tree, 'exactly-the-limit'), 0o4750);
    fs.symlinkSync(`/${'t'.repeat(150)}`, path.join(tree, 'long-link'));
    fs.linkSync(path.join(tree, 'odd'), path.join(deep, `hard-${'h'.repeat(100)}`));
    execFileSync('mkfifo', [path.join(tree, 'fifo')]);
    for (const format of ['gnu', 'posix', 'ustar']) {
      const args = [`--format=${format}`, '-cf', path.join(dir, `${format}.tar`), '-C', tree];
      // ustar cannot hold the long names: only the short entries.
      execFileSync('tar', [...args, ...(format === 'ustar' ? ['odd', 'empty', 'exactly-the-limit'] : ['.'])]);
      archives[format] = fs.readFileSync(path.join(dir, `${format}.tar`));
    }
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(['gnu', 'posix', 'ustar'])(
    'reads a %s archive as tar-stream does, small bodies whole and large ones streamed',
    async (format) => {
      const archive = archives[format] as Buffer;
      const hash = createHash('sha256');
      const ours = await parse(archive, hash);
      const theirs = await parseWithTarStream(archive);
      expect(ours.map((e) => ({ header: pick(e.header), content: e.content }))).toEqual(
        theirs.map((e) => ({ header: pick(e.header), content: e.content })),
      );
      expect(ours.find((e) => e.header.name.endsWith('odd'))?.streamed).toBe(true);
      expect(ours.find((e) => e.header.name.endsWith('exactly-the-limit'))?.streamed).toBe(false);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(archive).digest('hex'));
    },
  );

  it('refuses a huge PAX header at the end of an archive before reading its body', async () => {
    const archive = Buffer.concat([archives.posix as Buffer, hostile]);
    await expect(parse(archive)).rejects.toThrow(`too large: pax-header ${2 * 1024 * 1024}`);
  });

  it('refuses each kind of metadata header over the limit, and reads one at the limit', async () => {
    for (const [flag, type] of [
      ['x', 'pax-header'],
      ['g', 'pax-global-header'],
      ['L', 'gnu-long-path'],
      ['K', 'gnu-long-link-path'],
    ]) {
      await expect(parse(ustarHeader('meta', flag as string, maxTarMetadataBytes + 1))).rejects.toThrow(
        `too large: ${type} ${maxTarMetadataBytes + 1}`,
      );
    }
    const body = Buffer.alloc(maxTarMetadataBytes, 0x61);
    const archive = Buffer.concat([ustarHeader('././@LongLink', 'L', body.length), body, hostile]);
    await expect(parse(archive)).rejects.toThrow('too large: pax-header');
  });

  it('takes the size and path of an entry from its PAX records', async () => {
    const content = Buffer.alloc(1000, 0x62);
    const pax = Buffer.from(paxRecord('size', String(content.length)) + paxRecord('path', 'from/pax'));
    // The ustar size field says 0: only the PAX record tells where the next header is.
    const archive = Buffer.concat([
      ustarHeader('PaxHeader/file', 'x', pax.length),
      padded(pax),
      ustarHeader('file', '0', 0),
      padded(content),
      Buffer.alloc(1024),
    ]);
    const entries = await parse(archive);
    expect(entries.map((e) => [e.header.name, e.header.size, e.content.length])).toEqual([
      ['from/pax', 1000, 1000],
    ]);
    expect(entries[0]?.header.pax).toEqual({ size: '1000', path: 'from/pax' });
  });

  it('refuses an archive that ends in the middle of an entry, and a corrupt header', async () => {
    const archive = archives.gnu as Buffer;
    await expect(parse(archive.subarray(0, 512 + 100))).rejects.toThrow('Unexpected end of data');
    const corrupt = Buffer.from(archive);
    corrupt[0] = (corrupt[0] as number) ^ 1;
    await expect(parse(corrupt)).rejects.toThrow('Invalid tar header');
  });

  it('waits for each entry before reading the next, and stops at the first failure', async () => {
    const order: string[] = [];
    const parser = new TarParser({
      wholeBodyLimit: 1024,
      onTooLarge: () => new Error('too large'),
      onEntry: (entry) => {
        order.push(`start ${entry.name}`);
        if (entry.name === 'b') return Promise.reject(new Error('cannot write b'));
        return new Promise((resolve) =>
          setImmediate(() => {
            order.push(`end ${entry.name}`);
            resolve();
          }),
        );
      },
    });
    const body = padded(Buffer.from('x'));
    const archive = Buffer.concat(['a', 'b', 'c'].flatMap((name) => [ustarHeader(name, '0', 1), body]));
    await expect(pipeline(Readable.from([archive]), parser)).rejects.toThrow('cannot write b');
    expect(order).toEqual(['start a', 'end a', 'start b']);
  });
});
