import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_WORKER_MANIFEST_BYTES } from './bounded-read.js';
import { ConfigParseError, FileTooLargeError } from './errors.js';
import { parseWorkerManifest, readWorkerManifest } from './worker-manifest.js';

describe('parseWorkerManifest', () => {
  it('reads resources', () => {
    expect(parseWorkerManifest('resources:\n  cpus: 0.5\n  memory: 256Mi\n', 'x')).toEqual({
      resources: { cpus: 0.5, memory: '256Mi' },
    });
    expect(parseWorkerManifest('name: w\n', 'x')).toEqual({});
  });

  it('rejects invalid resources naming the file', () => {
    expect(() => parseWorkerManifest('resources:\n  memory: lots\n', '/iii/worker.yaml')).toThrow(
      /\/iii\/worker\.yaml: resources\.memory/,
    );
  });

  it('refuses an alias bomb with the line and column of the alias', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) bomb.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`)}]`);
    try {
      parseWorkerManifest(`${bomb.join('\n')}\n`, '/iii/worker.yaml of reg/w:1');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigParseError);
      expect((err as Error).message).toMatch(/^\/iii\/worker\.yaml of reg\/w:1:3:\d+: .*alias bomb/);
    }
  });
});

describe('readWorkerManifest', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'iii-rootfs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads resources from /iii/worker.yaml', async () => {
    await mkdir(join(root, 'iii'));
    await writeFile(join(root, 'iii', 'worker.yaml'), 'resources:\n  cpus: 0.5\n  memory: 256Mi\n');
    expect(await readWorkerManifest(root, 'reg/w:1')).toEqual({
      manifest: { resources: { cpus: 0.5, memory: '256Mi' } },
      warnings: [],
    });
  });

  it('gives nothing, silently, when the image has no /iii/worker.yaml', async () => {
    expect(await readWorkerManifest(root, 'reg/w:1')).toEqual({ manifest: undefined, warnings: [] });
  });

  it('never follows a symlink out of the image, and says it skipped one', async () => {
    const outside = join(root, '..', `outside-${Date.now()}.yaml`);
    await writeFile(outside, 'resources:\n  cpus: 9\n');
    try {
      await mkdir(join(root, 'iii'));
      await symlink(outside, join(root, 'iii', 'worker.yaml'));
      expect(await readWorkerManifest(root, 'reg/w:1')).toEqual({
        manifest: undefined,
        warnings: [
          '/iii/worker.yaml of reg/w:1 is a symlink; it was skipped (no resources taken from the image)',
        ],
      });
      await rm(join(root, 'iii'), { recursive: true });
      await mkdir(join(root, 'elsewhere'));
      await writeFile(join(root, 'elsewhere', 'worker.yaml'), 'resources:\n  cpus: 9\n');
      await symlink(join(root, 'elsewhere'), join(root, 'iii'));
      const viaDir = await readWorkerManifest(root, 'reg/w:1');
      expect(viaDir.manifest).toBeUndefined();
      expect(viaDir.warnings).toEqual([
        '/iii/worker.yaml of reg/w:1 is under /iii, a symlink; it was skipped (no resources taken from the image)',
      ]);
    } finally {
      await rm(outside, { force: true });
    }
  });

  it('refuses a file over the size limit, naming the image, the size and the limit', async () => {
    await mkdir(join(root, 'iii'));
    await writeFile(join(root, 'iii', 'worker.yaml'), `# ${'x'.repeat(MAX_WORKER_MANIFEST_BYTES)}\n`);
    const err = await readWorkerManifest(root, 'reg/w:1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect((err as Error).message).toBe(
      `/iii/worker.yaml of reg/w:1 is 64.0 KiB (${MAX_WORKER_MANIFEST_BYTES + 3} bytes), over the limit of 64 KiB (${MAX_WORKER_MANIFEST_BYTES} bytes)`,
    );
  });
});
