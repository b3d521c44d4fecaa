import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { requireTools } from '@iii/tools/test-env';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LayerDigestMismatchError,
  LayerFormatError,
  rootfsPath,
  TargetExistsError,
  type UnpackLayer,
  UnpackLimitError,
  type UnpackProgress,
  unpack,
  unpackImage,
} from '../src/unpack/index.js';
import {
  blobLayer,
  compress,
  layerMediaTypes,
  type TarEntry,
  tarBytes,
  tarLayer,
} from './unpack-fixtures/tar-layer.js';

let base: string;

beforeAll(() => {
  requireTools(['zstd', 'mknod', 'mkfifo']);
});

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-unpack-'));
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

const at = (iso: string) => new Date(iso);
const target = () => path.join(base, 'rootfs');
const list = (dir: string) => fs.readdirSync(dir).sort();
const read = (file: string) => fs.readFileSync(file, 'utf8');
const mode = (file: string) => fs.lstatSync(file).mode & 0o7777;

describe('unpack applies layers like a union file system', () => {
  it('removes lower-layer paths named by .wh. whiteouts, directories recursively', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'a/', type: 'directory' },
          { name: 'a/x', content: 'x' },
          { name: 'a/y', content: 'y' },
          { name: 'gone/', type: 'directory' },
          { name: 'gone/deep/', type: 'directory' },
          { name: 'gone/deep/file', content: 'z' },
          { name: 'c', content: 'c' },
        ]),
        await tarLayer([
          { name: 'a/.wh.x' },
          { name: '.wh.gone' },
          { name: '.wh.c' },
          { name: '.wh.never-existed' },
        ]),
      ],
      target(),
    );
    expect(list(rootfs)).toEqual(['a']);
    expect(list(path.join(rootfs, 'a'))).toEqual(['y']);
  });

  it('clears lower-layer contents of a directory with an opaque whiteout but keeps the same layer entries', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'etc/', type: 'directory' },
          { name: 'etc/old', content: 'old' },
          { name: 'etc/sub/', type: 'directory' },
          { name: 'etc/sub/old', content: 'old' },
          { name: 'other', content: 'kept' },
        ]),
        // The same-layer entries come both before and after the marker: neither order may lose them.
        await tarLayer([
          { name: 'etc/', type: 'directory' },
          { name: 'etc/before', content: 'new' },
          { name: 'etc/sub/', type: 'directory' },
          { name: 'etc/sub/new', content: 'new' },
          { name: 'etc/.wh..wh..opq' },
          { name: 'etc/after', content: 'new' },
        ]),
      ],
      target(),
    );
    expect(list(rootfs)).toEqual(['etc', 'other']);
    expect(list(path.join(rootfs, 'etc'))).toEqual(['after', 'before', 'sub']);
    expect(list(path.join(rootfs, 'etc/sub'))).toEqual(['new']);
  });

  it('does not let a whiteout remove a path the same layer created', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([{ name: 'f', content: 'lower' }]),
        await tarLayer([{ name: 'f', content: 'upper' }, { name: '.wh.f' }]),
      ],
      target(),
    );
    expect(read(path.join(rootfs, 'f'))).toBe('upper');
  });

  it('replaces a lower entry of another type: directory by file, file by directory, symlink by directory', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'p/', type: 'directory' },
          { name: 'p/child', content: 'c' },
          { name: 'q', content: 'q' },
          { name: 'r', type: 'symlink', linkname: '/etc' },
        ]),
        await tarLayer([
          { name: 'p', content: 'now a file' },
          { name: 'q/', type: 'directory' },
          { name: 'q/inner', content: 'i' },
          { name: 'r/', type: 'directory' },
        ]),
      ],
      target(),
    );
    expect(read(path.join(rootfs, 'p'))).toBe('now a file');
    expect(read(path.join(rootfs, 'q/inner'))).toBe('i');
    expect(fs.lstatSync(path.join(rootfs, 'r')).isDirectory()).toBe(true);
  });

  it('links a hard link of an upper layer to the lower file as it was below that layer', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([{ name: 'bin/tool', content: 'v1' }]),
        // The links come first and point below the layer; then the layer replaces the file itself.
        await tarLayer([
          { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
          { name: 'bin/alias2', type: 'link', linkname: 'bin/alias' },
          { name: 'bin/tool', content: 'v2' },
          { name: 'bin/tool2', type: 'link', linkname: 'bin/tool' },
        ]),
      ],
      target(),
    );
    const ino = (name: string) => fs.lstatSync(path.join(rootfs, name)).ino;
    expect(read(path.join(rootfs, 'bin/alias'))).toBe('v1');
    expect(read(path.join(rootfs, 'bin/alias2'))).toBe('v1');
    expect(read(path.join(rootfs, 'bin/tool'))).toBe('v2');
    expect(ino('bin/alias2')).toBe(ino('bin/alias'));
    expect(ino('bin/tool2')).toBe(ino('bin/tool'));
    expect(ino('bin/alias')).not.toBe(ino('bin/tool'));
  });

  it('gives the same tree whether layers are staged one at a time or together', async () => {
    const layers = [
      await tarLayer([
        { name: 'etc/', type: 'directory', mode: 0o755 },
        { name: 'etc/a', content: 'a0' },
        { name: 'etc/dir/', type: 'directory', mode: 0o700 },
        { name: 'etc/dir/x', content: 'x0' },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'usr/lib/libc', content: 'c0' },
      ]),
      await tarLayer([
        { name: 'etc/a', content: 'a1' },
        { name: 'etc/dir/.wh..wh..opq' },
        { name: 'etc/dir/y', content: 'y1' },
        { name: 'usr/lib/.wh.libc' },
        { name: 'usr/lib/libd', content: 'd1' },
      ]),
      await tarLayer([
        { name: 'etc/dir/', type: 'directory', mode: 0o750 },
        { name: 'etc/.wh.a' },
        { name: 'lib/', type: 'directory', mode: 0o711 },
        { name: 'lib/own', content: 'o2' },
        { name: 'usr/lib/libd2', type: 'link', linkname: 'usr/lib/libd' },
      ]),
      await tarLayer([{ name: 'etc/a', content: 'a3' }, { name: 'usr/.wh.lib' }]),
    ];
    const tree = (root: string): string[] => {
      const out: string[] = [];
      const walk = (dir: string, rel: string) => {
        for (const name of list(dir)) {
          const abs = path.join(dir, name);
          const st = fs.lstatSync(abs);
          const kind = st.isDirectory()
            ? 'd'
            : st.isSymbolicLink()
              ? `l:${fs.readlinkSync(abs)}`
              : `f:${read(abs)}`;
          out.push(`${rel}${name} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.nlink}`);
          if (st.isDirectory()) walk(abs, `${rel}${name}/`);
        }
      };
      walk(root, '');
      return out;
    };
    const one = await unpack(layers, path.join(base, 'one'), { concurrency: 1 });
    const all = await unpack(layers, path.join(base, 'all'), { concurrency: 8 });
    expect(tree(all.rootfs)).toEqual(tree(one.rootfs));
    expect(tree(all.rootfs)).toEqual([
      'etc d 755 3',
      'etc/a f:a3 644 1',
      'etc/dir d 750 2',
      'etc/dir/y f:y1 644 1',
      'lib d 711 2',
      'lib/own f:o2 644 1',
      'usr d 755 2',
    ]);
  });

  it('applies a layer in entry order while its small files are still being written by the helper thread', async () => {
    const when = at('2021-05-06T07:08:09Z');
    const smallFiles = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        name: `d/${prefix}${i}`,
        content: `${prefix} ${i}`,
        mtime: when,
      }));
    const big = 'B'.repeat(100_000);
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'd/', type: 'directory' },
          // Each entry after a group touches the group's last file, still queued for the helper thread
          // when the entry is read (a batch holds 128 files).
          ...smallFiles('f', 300),
          { name: 'd/hard', type: 'link', linkname: 'd/f299' },
          ...smallFiles('a', 10),
          { name: 'd/a9/', type: 'directory', mode: 0o750 },
          { name: 'd/a9/child', content: 'below a replaced file' },
          ...smallFiles('b', 10),
          { name: 'd/b9', type: 'symlink', linkname: 'f0' },
          ...smallFiles('c', 10),
          { name: 'd/c9', content: big },
          ...smallFiles('e', 10),
          { name: 'd/e9', content: 'written twice', mode: 0o600 },
          { name: 'd/large', content: big },
          { name: 'd/large', content: 'now small' },
          { name: 'implied/deeper/file', content: 'in directories with no entry' },
        ]),
      ],
      target(),
    );
    const d = path.join(rootfs, 'd');
    expect(list(d)).toHaveLength(342);
    expect(read(path.join(d, 'f0'))).toBe('f 0');
    expect(read(path.join(d, 'e8'))).toBe('e 8');
    expect(fs.statSync(path.join(d, 'f298')).mtime).toEqual(when);
    expect(fs.statSync(path.join(d, 'hard')).ino).toBe(fs.statSync(path.join(d, 'f299')).ino);
    expect(read(path.join(d, 'hard'))).toBe('f 299');
    expect(mode(path.join(d, 'a9'))).toBe(0o750);
    expect(read(path.join(d, 'a9/child'))).toBe('below a replaced file');
    expect(fs.readlinkSync(path.join(d, 'b9'))).toBe('f0');
    expect(read(path.join(d, 'c9'))).toBe(big);
    expect(read(path.join(d, 'e9'))).toBe('written twice');
    expect(mode(path.join(d, 'e9'))).toBe(0o600);
    expect(read(path.join(d, 'large'))).toBe('now small');
    expect(read(path.join(rootfs, 'implied/deeper/file'))).toBe('in directories with no entry');
  });

  it('refuses an entry below a small file of the same layer, as below any file', async () => {
    const error = await unpack(
      [
        await tarLayer([
          { name: 'f', content: 'a file' },
          { name: 'f/below', content: 'x' },
        ]),
      ],
      target(),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNPACK_UNSAFE_ENTRY', reason: 'not-a-directory' });
    expect(list(base)).toEqual([]);
  });

  it('stops the layers below when an upper layer is refused, and leaves nothing behind', async () => {
    const big = await tarBytes(
      Array.from({ length: 200 }, (_, i) => ({ name: `data/f${i}`, content: 'x'.repeat(4096) })),
    );
    let lowerChunks = 0;
    const slow: UnpackLayer = {
      ...blobLayer(big, layerMediaTypes.none, 512),
      open: async () =>
        Readable.from(
          (async function* () {
            for (let i = 0; i < big.length; i += 512) {
              lowerChunks += 1;
              await new Promise((resolve) => setTimeout(resolve, 1));
              yield big.subarray(i, i + 512);
            }
          })(),
        ),
    };
    const error = await unpack([slow, await tarLayer([{ name: '../escape', content: 'x' }])], target()).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'UNPACK_UNSAFE_ENTRY', reason: 'parent-traversal' });
    expect(lowerChunks).toBeLessThan(big.length / 512);
    expect(list(base)).toEqual([]);
  });

  it('creates regular files, directories, symlinks, hard links and FIFOs with their modes', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: './', type: 'directory', mode: 0o755 },
          { name: 'bin/', type: 'directory', mode: 0o750 },
          { name: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
          { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
          { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
          { name: 'tmp/', type: 'directory', mode: 0o1777 },
          { name: 'secret', content: 's', mode: 0o600 },
          { name: 'pipe', type: 'fifo', mode: 0o640 },
        ]),
      ],
      target(),
    );
    expect(mode(path.join(rootfs, 'bin'))).toBe(0o750);
    expect(mode(path.join(rootfs, 'bin/tool'))).toBe(0o755);
    expect(fs.statSync(path.join(rootfs, 'bin/alias')).ino).toBe(
      fs.statSync(path.join(rootfs, 'bin/tool')).ino,
    );
    expect(fs.readlinkSync(path.join(rootfs, 'bin/sh'))).toBe('/bin/busybox');
    expect(mode(path.join(rootfs, 'tmp'))).toBe(0o1777);
    expect(mode(path.join(rootfs, 'secret'))).toBe(0o600);
    expect(fs.lstatSync(path.join(rootfs, 'pipe')).isFIFO()).toBe(true);
    expect(mode(path.join(rootfs, 'pipe'))).toBe(0o640);
  });

  it('gives files their exact modes whatever the umask, and writes files that have no permissions', async () => {
    const previous = process.umask(0o077);
    try {
      const { rootfs } = await unpack(
        [
          await tarLayer([
            { name: 'public', content: 'p', mode: 0o644 },
            { name: 'tool', content: 't', mode: 0o755 },
            { name: 'sealed', content: 'nobody may read me', mode: 0o000 },
            { name: 'sticky', content: 's', mode: 0o1755 },
          ]),
        ],
        target(),
      );
      expect(mode(path.join(rootfs, 'public'))).toBe(0o644);
      expect(mode(path.join(rootfs, 'tool'))).toBe(0o755);
      expect(mode(path.join(rootfs, 'sealed'))).toBe(0);
      expect(fs.statSync(path.join(rootfs, 'sealed')).size).toBe('nobody may read me'.length);
      expect(mode(path.join(rootfs, 'sticky'))).toBe(0o1755);
    } finally {
      process.umask(previous);
    }
  });

  it('drops setuid and setgid bits and keeps the sticky bit', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'su', content: 'x', mode: 0o4755 },
          { name: 'sg', content: 'x', mode: 0o2755 },
          { name: 'shared/', type: 'directory', mode: 0o3775 },
        ]),
      ],
      target(),
    );
    expect(mode(path.join(rootfs, 'su'))).toBe(0o755);
    expect(mode(path.join(rootfs, 'sg'))).toBe(0o755);
    expect(mode(path.join(rootfs, 'shared'))).toBe(0o1775);
  });

  it('sets mtimes, and directory mtimes after their contents are written, also by later layers', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'd/', type: 'directory', mtime: at('2001-01-01T00:00:00Z') },
          { name: 'd/f', content: 'f', mtime: at('2002-02-02T00:00:00Z') },
          { name: 'd/link', type: 'symlink', linkname: 'f', mtime: at('2003-03-03T00:00:00Z') },
        ]),
        await tarLayer([{ name: 'd/later', content: 'l', mtime: at('2004-04-04T00:00:00Z') }]),
      ],
      target(),
    );
    expect(fs.statSync(path.join(rootfs, 'd')).mtime.toISOString()).toBe('2001-01-01T00:00:00.000Z');
    expect(fs.statSync(path.join(rootfs, 'd/f')).mtime.toISOString()).toBe('2002-02-02T00:00:00.000Z');
    expect(fs.lstatSync(path.join(rootfs, 'd/link')).mtime.toISOString()).toBe('2003-03-03T00:00:00.000Z');
    expect(fs.statSync(path.join(rootfs, 'd/later')).mtime.toISOString()).toBe('2004-04-04T00:00:00.000Z');
  });

  it('applies a read-only directory mode only at the end, so later layers can still write into it', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([{ name: 'ro/', type: 'directory', mode: 0o555 }]),
        await tarLayer([{ name: 'ro/file', content: 'x', mode: 0o444 }]),
      ],
      target(),
      { rootless: true },
    );
    expect(mode(path.join(rootfs, 'ro'))).toBe(0o555);
    expect(read(path.join(rootfs, 'ro/file'))).toBe('x');
  });

  it('creates missing parent directories with mode 0755', async () => {
    const { rootfs } = await unpack(
      [await tarLayer([{ name: 'implicit/parent/file', content: 'x' }])],
      target(),
    );
    expect(mode(path.join(rootfs, 'implicit'))).toBe(0o755);
    expect(mode(path.join(rootfs, 'implicit/parent'))).toBe(0o755);
    expect(mode(rootfs)).toBe(0o755);
  });
});

describe('unpack as root', () => {
  beforeAll(() => {
    if (process.getuid?.() !== 0)
      throw new Error('These tests need root: run the test suite as root (sudo).');
  });

  it('applies ownership from the tar headers', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([
          { name: 'home/', type: 'directory', uid: 1000, gid: 1000 },
          { name: 'home/file', content: 'x', uid: 1234, gid: 5678 },
          { name: 'home/link', type: 'symlink', linkname: 'file', uid: 42, gid: 43 },
        ]),
      ],
      target(),
    );
    expect(fs.statSync(path.join(rootfs, 'home'))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(fs.statSync(path.join(rootfs, 'home/file'))).toMatchObject({ uid: 1234, gid: 5678 });
    expect(fs.lstatSync(path.join(rootfs, 'home/link'))).toMatchObject({ uid: 42, gid: 43 });
  });

  it('gives a directory kept from a lower layer the owner of the upper header, root included', async () => {
    const { rootfs } = await unpack(
      [
        await tarLayer([{ name: 'srv/', type: 'directory', uid: 1000, gid: 1000 }]),
        await tarLayer([{ name: 'srv/', type: 'directory', uid: 0, gid: 0 }]),
      ],
      target(),
    );
    expect(fs.statSync(path.join(rootfs, 'srv'))).toMatchObject({ uid: 0, gid: 0 });
  });

  it('creates device nodes and reports each as a warning', async () => {
    const warnings: string[] = [];
    const result = await unpack(
      [
        await tarLayer([
          { name: 'dev/', type: 'directory' },
          { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
        ]),
      ],
      target(),
      { onWarning: (w) => warnings.push(w.entry) },
    );
    const stat = fs.lstatSync(path.join(result.rootfs, 'dev/null'));
    expect(stat.isCharacterDevice()).toBe(true);
    expect(stat.rdev).toBe(fs.statSync('/dev/null').rdev);
    expect(warnings).toEqual(['dev/null']);
    expect(result.warnings.map((w) => w.code)).toEqual(['device-node']);
  });
});

describe('unpack reads every layer format', () => {
  const entries: TarEntry[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/data', content: 'hello '.repeat(10_000) },
    { name: 'random', content: Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251)) },
  ];

  it.each([
    ['gzip', 'gzip', layerMediaTypes.gzip],
    ['zstd', 'zstd', layerMediaTypes.zstd],
    ['plain tar', 'none', layerMediaTypes.none],
    ['gzip labelled zstd', 'gzip', layerMediaTypes.zstd],
    ['zstd labelled gzip', 'zstd', layerMediaTypes.gzip],
    ['plain tar labelled gzip', 'none', 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
  ] as const)(
    'unpacks a %s layer, trusting the magic bytes over the media type',
    async (_, compression, mediaType) => {
      const { rootfs } = await unpack([await tarLayer(entries, compression, mediaType)], target());
      expect(read(path.join(rootfs, 'etc/data'))).toBe('hello '.repeat(10_000));
      expect(fs.statSync(path.join(rootfs, 'random')).size).toBe(50_000);
    },
  );

  it('unpacks a zstd layer made of several frames', async () => {
    const first = await tarBytes([{ name: 'a', content: 'first' }]);
    // Two frames: the first ends mid-archive, so frame boundaries are invisible to the tar parser.
    const tarData = await tarBytes([
      { name: 'a', content: 'first' },
      { name: 'b', content: 'second' },
    ]);
    const split = first.length - 1024; // before the end-of-archive blocks
    const blob = Buffer.concat([
      compress(tarData.subarray(0, split), 'zstd'),
      compress(tarData.subarray(split), 'zstd'),
    ]);
    const { rootfs } = await unpack([blobLayer(blob, layerMediaTypes.zstd)], target());
    expect(list(rootfs)).toEqual(['a', 'b']);
  });

  it('treats an empty blob as an empty layer', async () => {
    const { rootfs } = await unpack([blobLayer(Buffer.alloc(0), layerMediaTypes.none)], target());
    expect(list(rootfs)).toEqual([]);
  });

  it.each([
    [
      'xz',
      async () => Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]),
      /xz compression is not supported/,
    ],
    ['garbage', async () => Buffer.from('this is not a tar archive, just text. '.repeat(20)), /./],
    [
      'truncated gzip',
      async () => {
        const whole = compress(await tarBytes(entries), 'gzip');
        return whole.subarray(0, whole.length >> 1);
      },
      /unexpected end of file/,
    ],
    [
      'truncated tar',
      async () => {
        const whole = await tarBytes(entries);
        return whole.subarray(0, 1536);
      },
      /Unexpected end of data/,
    ],
  ])('refuses a %s blob with a layer format error and leaves nothing behind', async (_, make, message) => {
    const error = await unpack([blobLayer(await make(), layerMediaTypes.gzip)], target()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LayerFormatError);
    expect((error as LayerFormatError).message).toMatch(message);
    expect(list(base)).toEqual([]);
  });

  it('verifies the blob digest when asked to and rolls back on a mismatch', async () => {
    const good = await tarLayer(entries);
    const lying: UnpackLayer = {
      descriptor: { ...good.descriptor, digest: `sha256:${'0'.repeat(64)}` },
      open: good.open,
    };
    await expect(unpack([lying], target(), { verify: true })).rejects.toBeInstanceOf(
      LayerDigestMismatchError,
    );
    expect(list(base)).toEqual([]);
  });
});

describe('unpack limits', () => {
  it('refuses more entries than maxEntries', async () => {
    const layer = await tarLayer([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const error = await unpack([layer], target(), { limits: { maxEntries: 2 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnpackLimitError);
    expect(error).toMatchObject({ code: 'UNPACK_LIMIT_EXCEEDED', limit: 'maxEntries', max: 2 });
    expect(list(base)).toEqual([]);
  });

  it('refuses a file larger than maxFileSize before writing it (a decompression bomb)', async () => {
    const bomb = await tarLayer([{ name: 'zeros', content: Buffer.alloc(20 * 1024 * 1024) }]);
    expect(bomb.descriptor.size).toBeLessThan(100 * 1024);
    const error = await unpack([bomb], target(), { limits: { maxFileSize: 1024 * 1024 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'UNPACK_LIMIT_EXCEEDED',
      limit: 'maxFileSize',
      actual: 20 * 1024 * 1024,
    });
    expect((error as UnpackLimitError).hint).toMatch(/maxFileSize/);
    expect(list(base)).toEqual([]);
  });

  it('refuses layers whose files add up to more than maxTotalSize', async () => {
    const layers = [
      await tarLayer([{ name: 'a', content: Buffer.alloc(40) }]),
      await tarLayer([{ name: 'b', content: Buffer.alloc(40) }]),
    ];
    const error = await unpack(layers, target(), { limits: { maxTotalSize: 60 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNPACK_LIMIT_EXCEEDED', limit: 'maxTotalSize', max: 60 });
    expect(list(base)).toEqual([]);
  });
});

describe('unpack progress, cancellation and the rootfs cache', () => {
  const image = async (tag: string) => {
    const layers = [
      await tarLayer([{ name: 'one', content: Buffer.alloc(300_000, 1) }], 'none'),
      await tarLayer([{ name: 'two', content: tag }]),
    ];
    const digest = `sha256:${Buffer.from(tag.padEnd(32, '-')).toString('hex')}`;
    return { digest, layers: async () => layers, raw: layers };
  };

  it('reports compressed bytes per layer and a final event for each', async () => {
    const img = await image('progress');
    const events: UnpackProgress[] = [];
    await unpack(img.raw, target(), { onProgress: (p) => events.push(p) });
    for (const [index, layer] of img.raw.entries()) {
      const mine = events.filter((e) => e.index === index);
      const bytes = mine.map((e) => e.bytes);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
      expect(mine.length).toBeGreaterThan(1);
      expect(mine.at(-1)).toEqual({
        index,
        count: 2,
        digest: layer.descriptor.digest,
        bytes: layer.descriptor.size,
        total: layer.descriptor.size,
        done: true,
      });
    }
  });

  it('refuses to unpack into an existing directory', async () => {
    fs.mkdirSync(target());
    await expect(unpack((await image('x')).raw, target())).rejects.toBeInstanceOf(TargetExistsError);
  });

  it('stops when aborted and removes its temporary directory', async () => {
    const controller = new AbortController();
    const img = await image('abort');
    const run = unpack(img.raw, target(), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 10_000) controller.abort(new Error('stop'));
      },
    });
    await expect(run).rejects.toThrow('stop');
    expect(list(base)).toEqual([]);
  });

  it('unpacks an image once into <cache>/<digest hex> and reuses it without reading a layer', async () => {
    const img = await image('cache');
    const cache = path.join(base, 'cache');
    const first = await unpackImage(img, cache);
    expect(first).toMatchObject({ reused: false, rootfs: rootfsPath(cache, img.digest) });
    expect(path.basename(first.rootfs)).toBe(img.digest.slice('sha256:'.length));
    expect(read(path.join(first.rootfs, 'two'))).toBe('cache');

    const unreadable = { digest: img.digest, layers: async () => [] as UnpackLayer[] };
    const second = await unpackImage(
      {
        digest: img.digest,
        layers: async () => {
          throw new Error('layers must not be read for a cached image');
        },
      },
      cache,
    );
    expect(second).toEqual({ rootfs: first.rootfs, reused: true, entries: 0, bytes: 0, warnings: [] });
    expect((await unpackImage(unreadable, cache)).reused).toBe(true);
  });

  it('lets concurrent unpacks of one image all succeed with one complete rootfs and no leftovers', async () => {
    const img = await image('race');
    const cache = path.join(base, 'cache');
    const results = await Promise.all([1, 2, 3, 4].map(() => unpackImage(img, cache)));
    expect(new Set(results.map((r) => r.rootfs)).size).toBe(1);
    expect(results.filter((r) => !r.reused).length).toBe(1);
    expect(list(cache)).toEqual([img.digest.slice('sha256:'.length)]);
    expect(read(path.join(results[0]?.rootfs ?? '', 'two'))).toBe('race');
  });

  it('removes temporary directories abandoned by a process that died mid-unpack', async () => {
    const img = await image('abandoned');
    const cache = path.join(base, 'cache');
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    const hex = img.digest.slice('sha256:'.length);
    const abandoned = path.join(cache, `.${hex}.unpack-${dead}-abc123`);
    fs.mkdirSync(path.join(abandoned, 'half/written'), { recursive: true });
    const mine = path.join(cache, `.${hex}.unpack-${process.pid}-def456`);
    fs.mkdirSync(mine);
    await unpackImage(img, cache);
    expect(list(cache)).toEqual([path.basename(mine), hex].sort());
  });
});
