import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigDocument, parseLockFile } from '@iii/config';
import { buildFixture, pushFixture } from '@iii/tools/fixtures';
import { startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordOf } from './project-paths.ts';
import {
  type CountingProxy,
  countingProxy,
  type FixtureApi,
  fixtureApi,
  iii,
  makeSandbox,
  type Sandbox,
  spawnIii,
} from './worker-harness.js';

let registry: TestRegistry;
let proxy: CountingProxy;
let api: FixtureApi;
let busyboxDigest: string;
const CONCURRENT = 10;

beforeAll(async () => {
  registry = await startRegistry({ flavor: 'plain' });
  await buildFixture('busybox');
  busyboxDigest = await pushFixture('busybox', registry, 'busybox:1');
  await pushFixture('busybox', registry, 'team/other:1');
  await pushFixture('multiarch', registry, 'multi:1');
  await Promise.all(
    Array.from({ length: CONCURRENT }, (_, i) => pushFixture('busybox', registry, `c${i}:1`)),
  );
  proxy = await countingProxy(registry.host);
  api = await fixtureApi({
    'busybox-worker': { type: 'image', name: 'busybox-worker', image_url: `${registry.host}/busybox:1` },
    'fn-worker': { type: 'binary', name: 'fn-worker', download_url: 'https://example.invalid/x' },
  });
});

afterAll(async () => {
  await api?.close();
  await proxy?.close();
  await registry?.stop();
});

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox({ III_API_URL: api.url });
});
afterEach(async () => {
  await sb.remove();
});

const config = () => readFile(sb.configPath, 'utf8');

describe('iii worker add', () => {
  it('copies the image ENV minus system variables (sorted) and /iii/worker.yaml resources', async () => {
    const r = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`]);
    expect(r.stderr).toContain('Added worker "busybox"');
    expect(r.code).toBe(0);
    const doc = ConfigDocument.parse(await config(), sb.configPath);
    const entry = doc.worker('busybox')!;
    expect(entry.image).toBe(`${registry.host}/busybox:1`);
    expect(entry.config).toEqual({ GREETING: 'hello', III_URL: 'ws://localhost:49134', LOG_LEVEL: 'info' });
    expect(Object.keys(entry.config!)).toEqual(['GREETING', 'III_URL', 'LOG_LEVEL']);
    expect(entry.resources).toEqual({ cpus: 0.5, memory: '256Mi' });
    const lock = parseLockFile(await readFile(sb.lockPath, 'utf8'), sb.lockPath);
    expect(lock.workers.busybox).toMatchObject({
      image: `${registry.host}/busybox:1`,
      digest: busyboxDigest,
    });
    expect(lock.workers.busybox?.platform).toMatch(/^linux\//);
  });

  it('adds, and says how to start the new worker, when a running iii does not answer', async () => {
    // A record naming a live process (this test runner) is what a running `iii` leaves behind.
    await mkdir(dirname(recordOf(sb.home, sb.configPath)), { recursive: true });
    const record = { pid: process.pid, address: 'ws://127.0.0.1:49134', host: '127.0.0.1', port: 49134 };
    await writeFile(
      recordOf(sb.home, sb.configPath),
      JSON.stringify({ ...record, configPath: sb.configPath, startedAt: new Date().toISOString() }),
    );
    const r = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Added worker "busybox"');
    expect(r.stderr).toMatch(
      /could not reach the running iii to start busybox \(.*\): it starts with the next `iii`, or run `iii reload`/,
    );
  });

  it('prints the result as JSON only on stdout with --json', async () => {
    const r = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.workers[0]).toMatchObject({ name: 'busybox', digest: busyboxDigest, action: 'added' });
  });

  it('changes only the new entry’s lines of a commented file, and remove restores it byte for byte', async () => {
    const original = `# My workers.   Comments stay.

engine:
  host: "127.0.0.1"   # quoted on purpose
  port: 49134


workers:
  # the first one
  - name: 'legacy'
    image: "example.com/legacy:0.1"   # pinned elsewhere
    config:
      QUOTED: 'single'
      PLAIN:   spaced


# trailing comment
`;
    await writeFile(sb.configPath, original);
    const r = await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`]);
    expect(r.code).toBe(0);
    const after = await config();
    const before = original.split('\n');
    const lines = after.split('\n');
    let i = 0;
    while (before[i] === lines[i]) i++;
    const added = lines.length - before.length;
    expect(lines.slice(i + added)).toEqual(before.slice(i));
    expect(lines.slice(i, i + added).join('\n')).toContain('- name: busybox');
    const removed = await iii(sb, ['worker', 'remove', 'busybox', '-y']);
    expect(removed.code).toBe(0);
    expect(await config()).toBe(original);
  });

  it('re-adding a cached image makes one manifest request and downloads no blob', async () => {
    const ref = `${proxy.host}/busybox:1`;
    expect((await iii(sb, ['worker', 'add', ref])).code).toBe(0);
    const text = await config();
    proxy.reset();
    const again = await iii(sb, ['worker', 'add', ref]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing changed');
    expect(proxy.manifestGets()).toBe(1);
    expect(proxy.blobGets()).toBe(0);
    expect(await config()).toBe(text);
  });

  it('re-adding a cached multi-platform image also makes one manifest request', async () => {
    const ref = `${proxy.host}/multi:1`;
    const first = await iii(sb, ['worker', 'add', ref]);
    expect(first.code, first.stderr).toBe(0);
    proxy.reset();
    const again = await iii(sb, ['worker', 'add', ref]);
    expect(again.code).toBe(0);
    expect(proxy.manifestGets()).toBe(1);
    expect(proxy.blobGets()).toBe(0);
    const lock = parseLockFile(await readFile(sb.lockPath, 'utf8'), sb.lockPath);
    expect(lock.workers.multi?.index).toMatch(/^sha256:/);
    expect(lock.workers.multi?.platform).toBe(`linux/${process.arch === 'x64' ? 'amd64' : process.arch}`);
  });

  it('refuses a name taken by another image, and --force keeps the user’s edited values', async () => {
    expect((await iii(sb, ['worker', 'add', `${registry.host}/busybox:1`])).code).toBe(0);
    const clash = await iii(sb, ['worker', 'add', `${registry.host}/team/other:1`, '--name', 'busybox']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/^Error: a worker named "busybox" already exists/m);
    expect(clash.stderr).toMatch(/--force/);
    expect(clash.stderr).toMatch(/--name/);

    await writeFile(sb.configPath, (await config()).replace('GREETING: hello', 'GREETING: edited-by-me'));
    const forced = await iii(sb, [
      'worker',
      'add',
      `${registry.host}/team/other:1`,
      '--name',
      'busybox',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    const entry = ConfigDocument.parse(await config(), sb.configPath).worker('busybox')!;
    expect(entry.image).toBe(`${registry.host}/team/other:1`);
    expect(entry.config).toMatchObject({ GREETING: 'edited-by-me', LOG_LEVEL: 'info' });
    const lock = parseLockFile(await readFile(sb.lockPath, 'utf8'), sb.lockPath);
    expect(lock.workers.busybox?.image).toBe(`${registry.host}/team/other:1`);
  });

  it('resolves registry shorthand through $III_API_URL and names the worker after the registry entry', async () => {
    const r = await iii(sb, ['worker', 'add', 'busybox-worker']);
    expect(r.code).toBe(0);
    const entry = ConfigDocument.parse(await config(), sb.configPath).worker('busybox-worker')!;
    expect(entry.image).toBe(`${registry.host}/busybox:1`);
  });

  it('reports a registry entry that is not an image as unsupported, changing nothing', async () => {
    const r = await iii(sb, ['worker', 'add', 'fn-worker@2.0.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: worker "fn-worker" is of type "binary", which is not supported by container workers$/m,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    await expect(readFile(sb.configPath)).rejects.toThrow();
  });

  it(`lands all ${CONCURRENT} entries when ${CONCURRENT} adds run at once`, async () => {
    const runs = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) => iii(sb, ['worker', 'add', `${registry.host}/c${i}:1`])),
    );
    for (const r of runs) expect(r.stderr).toContain('Added worker');
    const doc = ConfigDocument.parse(await config(), sb.configPath);
    expect(doc.workers.map((w) => w.name).sort()).toEqual(
      Array.from({ length: CONCURRENT }, (_, i) => `c${i}`).sort(),
    );
    const lock = parseLockFile(await readFile(sb.lockPath, 'utf8'), sb.lockPath);
    expect(Object.keys(lock.workers)).toHaveLength(CONCURRENT);
  }, 300_000);

  it('never leaves config.yaml or iii.lock unparseable when adds are killed with SIGKILL, and a rerun completes', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const [i, name] of names.entries()) {
      const child = spawnIii(sb, ['worker', 'add', `${registry.host}/c${i % CONCURRENT}:1`, '--name', name]);
      const exited = new Promise((r) => child.once('exit', r));
      // Spread the kills over start-up, pull, unpack and the locked write.
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 1500));
      child.kill('SIGKILL');
      await exited;
      const text = await readFile(sb.configPath, 'utf8').catch(() => 'workers: []\n');
      expect(() => ConfigDocument.parse(text, sb.configPath)).not.toThrow();
      const lockText = await readFile(sb.lockPath, 'utf8').catch(() => 'version: 1\n');
      expect(() => parseLockFile(lockText, sb.lockPath)).not.toThrow();
    }
    const reruns = await Promise.all(
      names.map((name, i) =>
        iii(sb, ['worker', 'add', `${registry.host}/c${i % CONCURRENT}:1`, '--name', name]),
      ),
    );
    for (const r of reruns) expect(r.code, r.stderr).toBe(0);
    const doc = ConfigDocument.parse(await config(), sb.configPath);
    expect(doc.workers.map((w) => w.name).sort()).toEqual([...names].sort());
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);
  }, 300_000);
});
