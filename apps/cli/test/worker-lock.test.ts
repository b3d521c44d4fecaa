import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLockFile } from '@iii/config';
import { pushFixture } from '@iii/tools/fixtures';
import { startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { iii, makeSandbox, type Sandbox } from './worker-harness.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry({ flavor: 'plain' });
  await Promise.all([
    pushFixture('busybox', registry, 'busybox:1'),
    pushFixture('busybox-zstd', registry, 'zstd:1'),
    pushFixture('whiteouts', registry, 'whiteouts:1'),
  ]);
});

afterAll(async () => {
  await registry?.stop();
});

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
});
afterEach(async () => {
  await sb.remove();
});

async function blobs(home: string): Promise<string[]> {
  return (await readdir(join(home, 'store', 'blobs', 'sha256')).catch(() => [])).sort();
}

async function lockOf(s: Sandbox) {
  return parseLockFile(await readFile(s.lockPath, 'utf8'), s.lockPath);
}

describe('iii worker remove and prune', () => {
  it('remove keeps cached layers and says how much prune frees; prune frees it and keeps referenced images', async () => {
    expect(
      (await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`, `${registry.host}/whiteouts:1`])).code,
    ).toBe(0);
    const before = await blobs(sb.home);
    const removed = await iii(sb, ['worker', 'remove', 'whiteouts', '-y', '--json']);
    expect(removed.code).toBe(0);
    const reclaimable = JSON.parse(removed.stdout).reclaimable as number;
    expect(reclaimable).toBeGreaterThan(0);
    expect(removed.stderr).toMatch(/no longer used by any worker; `iii worker prune` frees it/);
    expect(await blobs(sb.home)).toEqual(before);

    const pruned = await iii(sb, ['worker', 'prune', '-y', '--json']);
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout).freed).toBe(reclaimable);
    const after = await blobs(sb.home);
    expect(after.length).toBeLessThan(before.length);
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);
    const again = await iii(sb, ['worker', 'prune', '-y']);
    expect(again.stderr).toContain('Nothing to prune');
  });

  it('prune --all deletes every cached image, and sync brings the pinned ones back', async () => {
    expect((await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`])).code).toBe(0);
    const all = await iii(sb, ['worker', 'prune', '--all', '-y', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).freed).toBeGreaterThan(0);
    expect(await blobs(sb.home)).toEqual([]);
    const verify = await iii(sb, ['worker', 'verify', '--json']);
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout).problems).toEqual([expect.objectContaining({ kind: 'missing-image' })]);
    expect((await iii(sb, ['worker', 'sync'])).code).toBe(0);
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);
  });

  it('prune refuses to run off a terminal without -y', async () => {
    expect((await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`])).code).toBe(0);
    expect((await iii(sb, ['worker', 'remove', 'busybox', '-y'])).code).toBe(0);
    const r = await iii(sb, ['worker', 'prune']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/-y/);
  });
});

describe('iii worker sync, verify and update', () => {
  it('sync on an empty $III_HOME restores exactly the locked digests', async () => {
    expect(
      (await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`, `${registry.host}/zstd:1`])).code,
    ).toBe(0);
    const lock = await lockOf(sb);
    const fresh = await makeSandbox();
    try {
      const moved = { ...sb, home: fresh.home, env: { ...sb.env, III_HOME: fresh.home } };
      expect((await iii(moved, ['worker', 'verify'])).code).toBe(1);
      const synced = await iii(moved, ['worker', 'sync', '--json']);
      expect(synced.code, synced.stderr).toBe(0);
      const out = JSON.parse(synced.stdout) as {
        workers: { name: string; digest: string; action: string }[];
      };
      expect(out.workers.map((w) => [w.name, w.digest, w.action])).toEqual(
        Object.entries(lock.workers).map(([name, pin]) => [name, pin.digest, 'pulled']),
      );
      const index = JSON.parse(await readFile(join(fresh.home, 'store', 'index.json'), 'utf8'));
      const stored = new Set(index.manifests.map((m: { digest: string }) => m.digest));
      expect(stored).toEqual(new Set(Object.values(lock.workers).map((p) => p.digest)));
      expect((await iii(moved, ['worker', 'verify'])).code).toBe(0);
    } finally {
      await fresh.remove();
    }
  });

  it('verify fails when config.yaml and iii.lock disagree', async () => {
    expect((await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`])).code).toBe(0);
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);
    const text = await readFile(sb.configPath, 'utf8');
    await writeFile(sb.configPath, text.replace(`${registry.host}/busybox:1`, `${registry.host}/zstd:1`));
    const r = await iii(sb, ['worker', 'verify', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual([
      expect.objectContaining({ worker: 'busybox', kind: 'image-changed' }),
    ]);
    const updated = await iii(sb, ['worker', 'update', 'busybox']);
    expect(updated.code, updated.stderr).toBe(0);
    expect((await lockOf(sb)).workers.busybox?.image).toBe(`${registry.host}/zstd:1`);
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);
  });

  it('inspect shows digest, rootfs, argv, resources and masks secret-looking values', async () => {
    expect((await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`])).code).toBe(0);
    const text = await readFile(sb.configPath, 'utf8');
    await writeFile(
      sb.configPath,
      text.replace('LOG_LEVEL: info', 'LOG_LEVEL: info\n      API_TOKEN: hunter2'),
    );
    const r = await iii(sb, ['worker', 'inspect', 'busybox', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    const lock = await lockOf(sb);
    expect(info).toMatchObject({
      name: 'busybox',
      digest: lock.workers.busybox?.digest,
      present: true,
      argv: ['/usr/local/bin/iii-worker.sh'],
      resources: { cpus: 0.5, memory: '256Mi' },
    });
    // Unpacked as one snapshot per layer (the busybox fixture has 4), none shared yet.
    expect(info.layers).toHaveLength(4);
    expect(info.layers.every((l: { shared: boolean; bytes: number }) => !l.shared && l.bytes > 0)).toBe(true);
    expect(info.unpackedSize).toBeGreaterThan(0);
    expect(info.size).toBeGreaterThan(0);
    expect(info.env.API_TOKEN).toBe('****');
    expect(info.env.GREETING).toBe('hello');
    expect(info.env.III_WORKER_NAME).toBe('busybox');
    expect(r.stdout).not.toContain('hunter2');
  });
});
