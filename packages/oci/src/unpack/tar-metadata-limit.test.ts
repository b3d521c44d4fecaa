import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxTarMetadataBytes, TarMetadataLimit } from './tar-metadata-limit.js';

/** A ustar header block (typeflag and size as given), with a valid checksum. */
function header(name: string, typeflag: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0);
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.write('        ', 148);
  block.write(typeflag, 156);
  block.write('ustar\0', 257);
  block.write('00', 263);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

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
const hostile = header('PaxHeader/huge', 'x', 2 * 1024 * 1024);

/** Runs `bytes` through the limit in uneven chunks (headers split across them); answers what came out. */
async function pass(bytes: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let offset = 0, step = 1; offset < bytes.length; step = (step * 7 + 3) % 1500) {
    chunks.push(bytes.subarray(offset, offset + step + 1));
    offset += step + 1;
  }
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    new TarMetadataLimit((type, size) => new Error(`too large: ${type} ${size}`)),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('TarMetadataLimit', () => {
  let dir: string;
  const archives: Record<string, Buffer> = {};

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-metadata-limit-'));
    const tree = path.join(dir, 'tree');
    const deep = path.join(tree, 'd'.repeat(90), 'e'.repeat(90));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, `${'f'.repeat(120)}.txt`), 'x'.repeat(1001));
    fs.writeFileSync(path.join(tree, 'odd'), Buffer.alloc(70_001, 1));
    fs.writeFileSync(path.join(tree, 'empty'), '');
    fs.symlinkSync(`/${'t'.repeat(150)}`, path.join(tree, 'long-link'));
    fs.linkSync(path.join(tree, 'odd'), path.join(deep, `hard-${'h'.repeat(100)}`));
    for (const format of ['gnu', 'posix']) {
      execFileSync('tar', [`--format=${format}`, '-cf', path.join(dir, `${format}.tar`), '-C', tree, '.']);
      archives[format] = fs.readFileSync(path.join(dir, `${format}.tar`));
    }
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(['gnu', 'posix'])('passes a %s archive with long names on unchanged', async (format) => {
    const archive = archives[format] as Buffer;
    expect(await pass(archive)).toEqual(archive);
  });

  it.each(['gnu', 'posix'])(
    'still follows the blocks at the end of a %s archive: a huge PAX header there is refused',
    async (format) => {
      const archive = Buffer.concat([archives[format] as Buffer, hostile]);
      await expect(pass(archive)).rejects.toThrow(`too large: pax-header ${2 * 1024 * 1024}`);
    },
  );

  it('refuses each kind of metadata header over the limit, and lets one at the limit through', async () => {
    for (const [flag, type] of [
      ['x', 'pax-header'],
      ['g', 'pax-global-header'],
      ['L', 'gnu-long-path'],
      ['K', 'gnu-long-link-path'],
    ]) {
      await expect(pass(header('meta', flag as string, maxTarMetadataBytes + 1))).rejects.toThrow(
        `too large: ${type} ${maxTarMetadataBytes + 1}`,
      );
    }
    const body = Buffer.alloc(maxTarMetadataBytes, 0x61);
    const archive = Buffer.concat([header('././@LongLink', 'L', body.length), body, hostile]);
    await expect(pass(archive)).rejects.toThrow('too large: pax-header');
  });

  it('takes the size of an entry from its PAX record, as tar-stream does', async () => {
    const content = Buffer.alloc(1000, 0x62);
    const pax = Buffer.from(paxRecord('size', String(content.length)));
    // The ustar size field says 0: only the PAX record tells where the next header is.
    const archive = Buffer.concat([
      header('PaxHeader/file', 'x', pax.length),
      padded(pax),
      header('file', '0', 0),
      padded(content),
      hostile,
    ]);
    await expect(pass(archive)).rejects.toThrow('too large: pax-header');

    const entries: { name: string; size: number }[] = [];
    const extract = tar.extract();
    extract.on('entry', (entry, stream, next) => {
      let size = 0;
      stream.on('data', (chunk) => {
        size += (chunk as Buffer).length;
      });
      stream.on('end', () => {
        entries.push({ name: entry.name, size });
        next();
      });
    });
    await pipeline(Readable.from([archive.subarray(0, archive.length - 512), Buffer.alloc(1024)]), extract);
    expect(entries).toEqual([{ name: 'file', size: 1000 }]);
  });
});
