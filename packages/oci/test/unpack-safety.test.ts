import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LayerFormatError, type UnpackLayer, UnsafeEntryError, unpack } from '../src/unpack/index.js';
import { ustarHeader } from './tar-blocks.js';
import { type TarEntry, tarLayer } from './unpack-fixtures/tar-layer.js';

// Every hostile layer is unpacked into <base>/cache/rootfs while <base>/outside holds a sentinel file.
// After each refusal: the sentinel directory is untouched, the cache directory is empty (no rootfs, no
// temporary directory) and /etc/passwd is unchanged.
let base: string;
let cache: string;
let outside: string;
let target: string;
let passwdBefore: { hash: string; nlink: number };

function passwdState() {
  return {
    hash: createHash('sha256').update(fs.readFileSync('/etc/passwd')).digest('hex'),
    nlink: fs.statSync('/etc/passwd').nlink,
  };
}

function listTree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-unpack-safety-'));
  cache = path.join(base, 'cache');
  outside = path.join(base, 'outside');
  target = path.join(cache, 'rootfs');
  fs.mkdirSync(cache);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'keep'), 'sentinel');
  passwdBefore = passwdState();
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function expectNothingWritten() {
  expect(listTree(outside)).toEqual(['keep']);
  expect(fs.readFileSync(path.join(outside, 'keep'), 'utf8')).toBe('sentinel');
  expect(fs.readdirSync(cache)).toEqual([]);
  expect(passwdState()).toEqual(passwdBefore);
}

async function expectRefused(layers: UnpackLayer[], reason: string, options: { rootless?: boolean } = {}) {
  const error = await unpack(layers, target, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeEntryError);
  expect(error).toMatchObject({ code: 'UNPACK_UNSAFE_ENTRY', reason });
  expect((error as UnsafeEntryError).hint).toBeTruthy();
  expectNothingWritten();
}

const layer = (entries: TarEntry[]) => tarLayer(entries);

describe('unpack refuses entries that would land outside the rootfs', () => {
  it.each([['../escape'], ['../../outside/pwned'], ['a/../../outside/pwned'], ['./../outside/pwned']])(
    'refuses a layer with the parent-traversal entry %s',
    async (name) => {
      await expectRefused(
        [
          await layer([
            { name: 'a/', type: 'directory' },
            { name, content: 'x' },
          ]),
        ],
        'parent-traversal',
      );
    },
  );

  it('refuses an absolute path, even one that points into the rootfs', async () => {
    await expectRefused([await layer([{ name: `${outside}/pwned`, content: 'x' }])], 'absolute-path');
    await expectRefused([await layer([{ name: '/etc/motd', content: 'x' }])], 'absolute-path');
  });

  it('refuses a symlink to outside followed by a write through it', async () => {
    await expectRefused(
      [
        await layer([
          { name: 'link', type: 'symlink', linkname: outside },
          { name: 'link/pwned', content: 'x' },
        ]),
      ],
      'symlink-traversal',
    );
  });

  it('refuses a write through a relative symlink that climbs out of the rootfs', async () => {
    await expectRefused(
      [
        await layer([
          { name: 'link', type: 'symlink', linkname: '../../outside' },
          { name: 'link/pwned', content: 'x' },
        ]),
      ],
      'symlink-traversal',
    );
  });

  it('refuses files below a symlinked directory created by a lower layer', async () => {
    await expectRefused(
      [
        await layer([{ name: 'tmp', type: 'symlink', linkname: outside }]),
        await layer([
          { name: 'tmp/sub/', type: 'directory' },
          { name: 'tmp/sub/file', content: 'x' },
        ]),
      ],
      'symlink-traversal',
    );
  });

  it('refuses a write through a symlink that points inside the rootfs too', async () => {
    // Writes are never resolved through symlinks, so a layer cannot alias paths at all.
    await expectRefused(
      [
        await layer([
          { name: 'real/', type: 'directory' },
          { name: 'alias', type: 'symlink', linkname: 'real' },
          { name: 'alias/file', content: 'x' },
        ]),
      ],
      'symlink-traversal',
    );
  });

  it.each([['/etc/passwd'], ['../../../../../../etc/passwd']])(
    'refuses a hard link to %s',
    async (linkname) => {
      await expectRefused([await layer([{ name: 'passwd', type: 'link', linkname }])], 'hardlink-outside');
    },
  );

  it('refuses a hard link to a file the image does not contain', async () => {
    await expectRefused(
      [await layer([{ name: 'passwd', type: 'link', linkname: 'etc/passwd' }])],
      'hardlink-missing',
    );
  });

  it('refuses a hard link whose target is reached through a symlink', async () => {
    await expectRefused(
      [
        await layer([
          { name: 'etc', type: 'symlink', linkname: '/etc' },
          { name: 'passwd', type: 'link', linkname: 'etc/passwd' },
        ]),
      ],
      'symlink-traversal',
    );
  });

  it('refuses a hard link to a directory', async () => {
    await expectRefused(
      [
        await layer([
          { name: 'dir/', type: 'directory' },
          { name: 'alias', type: 'link', linkname: 'dir' },
        ]),
      ],
      'hardlink-to-directory',
    );
  });

  it('refuses a whiteout that would delete through a symlink', async () => {
    await expectRefused(
      [
        await layer([{ name: 'link', type: 'symlink', linkname: outside }]),
        await layer([{ name: 'link/.wh.keep' }]),
      ],
      'symlink-traversal',
    );
  });

  it.each([['.wh..'], ['.wh...'], ['dir/.wh.']])('refuses the malformed whiteout %s', async (name) => {
    await expectRefused([await layer([{ name: 'dir/', type: 'directory' }, { name }])], 'invalid-whiteout');
  });

  it('refuses to turn the root directory into a symlink', async () => {
    await expectRefused([await layer([{ name: './', type: 'symlink', linkname: outside }])], 'root-type');
  });

  it('refuses a write below a regular file', async () => {
    await expectRefused(
      [
        await layer([
          { name: 'file', content: 'x' },
          { name: 'file/child', content: 'y' },
        ]),
      ],
      'not-a-directory',
    );
  });

  it('skips device nodes with a warning when unpacking without root privileges, and keeps the rest', async () => {
    const result = await unpack(
      [
        await layer([
          { name: 'dev/', type: 'directory' },
          { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
          { name: 'kept', content: 'x' },
        ]),
      ],
      target,
      { rootless: true },
    );
    expect(result.warnings.map((w) => [w.code, w.entry])).toEqual([
      ['device-node-skipped', 'dev/null'],
      ['device-node-skipped', 'dev/sda'],
    ]);
    expect(fs.readdirSync(path.join(result.rootfs, 'dev'))).toEqual([]);
    expect(fs.readFileSync(path.join(result.rootfs, 'kept'), 'utf8')).toBe('x');
  });
});

describe('unpack replaces links instead of following them', () => {
  it('replaces a symlink to outside with the regular file of a later entry', async () => {
    const keep = path.join(outside, 'keep');
    const { rootfs } = await unpack(
      [
        await layer([{ name: 'f', type: 'symlink', linkname: keep }]),
        await layer([{ name: 'f', content: 'inside' }]),
      ],
      target,
    );
    expect(fs.lstatSync(path.join(rootfs, 'f')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(rootfs, 'f'), 'utf8')).toBe('inside');
    expect(fs.readFileSync(keep, 'utf8')).toBe('sentinel');
    expect(listTree(outside)).toEqual(['keep']);
  });

  it('replaces a symlink to outside with a real directory when a later layer has a directory there', async () => {
    const { rootfs } = await unpack(
      [
        await layer([{ name: 'd', type: 'symlink', linkname: outside }]),
        await layer([
          { name: 'd/', type: 'directory', mode: 0o700 },
          { name: 'd/file', content: 'inside' },
        ]),
      ],
      target,
    );
    expect(fs.lstatSync(path.join(rootfs, 'd')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(rootfs, 'd/file'), 'utf8')).toBe('inside');
    expect(listTree(outside)).toEqual(['keep']);
    expect(fs.statSync(outside).mode & 0o777).not.toBe(0o700);
  });

  it('keeps a hard link to a symlink a link, without touching what the symlink points to', async () => {
    const { rootfs } = await unpack(
      [
        await layer([
          { name: 's', type: 'symlink', linkname: '/etc/passwd' },
          { name: 'h', type: 'link', linkname: 's' },
        ]),
        await layer([{ name: 'h', content: 'replaced' }]),
      ],
      target,
    );
    expect(fs.readlinkSync(path.join(rootfs, 's'))).toBe('/etc/passwd');
    expect(fs.readFileSync(path.join(rootfs, 'h'), 'utf8')).toBe('replaced');
    expect(passwdState()).toEqual(passwdBefore);
  });
});

describe('unpack bounds what the tar parser holds in memory', () => {
  it('refuses a PAX header body larger than any valid one without buffering it', async () => {
    const declared = 256 * 1024 * 1024;
    let served = 0;
    const layer: UnpackLayer = {
      descriptor: {
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${'1'.repeat(64)}`,
        size: declared,
      },
      open: async () =>
        Readable.from(
          (function* () {
            yield ustarHeader('PaxHeader/huge', 'x', declared);
            for (; served < declared; served += 1024 * 1024) yield Buffer.alloc(1024 * 1024, 0x41);
          })(),
        ),
    };
    const error = await unpack([layer], target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerFormatError);
    expect((error as Error).message).toMatch(/pax-header tar header of 268435456 bytes/);
    expect(served).toBeLessThan(declared / 4);
    expectNothingWritten();
  });
});
