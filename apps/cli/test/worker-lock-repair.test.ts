// Getting unstuck: a worker deleted from config.yaml by hand, an update where one worker fails, and
// `add --force` on an entry the user formatted their own way.
import { readFile, writeFile } from 'node:fs/promises';
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

async function lockOf(s: Sandbox) {
  return parseLockFile(await readFile(s.lockPath, 'utf8'), s.lockPath);
}

describe('iii worker sync after a worker was deleted from config.yaml by hand', () => {
  it('drops its pin, says so, and verify passes again', async () => {
    const added = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`, `${registry.host}/zstd:1`]);
    expect(added.code, added.stderr).toBe(0);
    const text = await readFile(sb.configPath, 'utf8');
    const kept = text.slice(0, text.indexOf('  - name: zstd'));
    await writeFile(sb.configPath, kept);

    const failing = await iii(sb, ['worker', 'verify']);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/iii\.lock pins "zstd", which is not in config\.yaml/);

    const synced = await iii(sb, ['worker', 'sync', '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stderr).toMatch(/^Removed "zstd" from iii\.lock: it is no longer in config\.yaml\.$/m);
    expect(JSON.parse(synced.stdout).removed).toEqual(['zstd']);
    expect(Object.keys((await lockOf(sb)).workers)).toEqual(['busybox']);
    expect(await readFile(sb.configPath, 'utf8')).toBe(kept);
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);

    const again = await iii(sb, ['worker', 'sync']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/Removed/);
  });
});

describe('iii worker update with a failing worker', () => {
  it('updates the others, reports each failure, and exits 1', async () => {
    const added = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`]);
    expect(added.code, added.stderr).toBe(0);
    // A worker whose tag is gone sits between one that is pinned and one that is not yet.
    await writeFile(
      sb.configPath,
      `${await readFile(sb.configPath, 'utf8')}  - name: gone\n    image: ${registry.host}/busybox:no-such-tag\n  - name: later\n    image: ${registry.host}/zstd:1\n`,
    );
    const r = await iii(sb, ['worker', 'update']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^busybox is up to date\.$/m);
    expect(r.stderr).toMatch(/^Failed gone: .*not found/im);
    expect(r.stderr).toMatch(/^Updated later: /m);
    expect(r.stderr).toMatch(/^Error: 1 of 3 worker\(s\) could not be updated: gone$/m);
    expect(Object.keys((await lockOf(sb)).workers).sort()).toEqual(['busybox', 'later']);

    const json = await iii(sb, ['worker', 'update', '--json']);
    expect(json.code).toBe(1);
    const out = JSON.parse(json.stdout);
    expect(out.workers.map((w: { name: string }) => w.name)).toEqual(['busybox', 'later']);
    expect(out.failed.map((f: { name: string }) => f.name)).toEqual(['gone']);
    expect(out.failed[0].error.message).toMatch(/not found/i);
  });
});

describe('iii worker add --force', () => {
  it('keeps the formatting of the values it does not change', async () => {
    const added = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`, '--name', 'w']);
    expect(added.code, added.stderr).toBe(0);
    const text = await readFile(sb.configPath, 'utf8');
    // The user's own touches: a flow list, a comment after extra spaces, a quoted value.
    const mine = text
      .replace(
        '      GREETING: hello\n',
        '      GREETING: "hello"     # said first\n      SIZES: [64, 128]   # thumbnails\n',
      )
      .replace('    resources:\n', '    # limits\n    resources:\n');
    await writeFile(sb.configPath, mine);

    const forced = await iii(sb, ['worker', 'add', `${registry.host}/zstd:1`, '--name', 'w', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const after = await readFile(sb.configPath, 'utf8');
    expect(after).toBe(mine.replace(`${registry.host}/busybox:1`, `${registry.host}/zstd:1`));
  });
});
