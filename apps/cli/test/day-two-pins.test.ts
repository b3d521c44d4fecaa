// Pins over time, through the built `iii`, runc and a real registry whose tag moves: a running
// worker that lags behind its pin says so, a rename keeps the pin, `enabled: false` keeps an entry
// without running it, a commented-out worker can be repaired, and rollback works with the registry down.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busybox, crashingImage } from '@iii/tools/fixtures';
import { registryRef, requireTools, skopeoCopy, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IiiProject, type Result } from './iii-project.ts';
import { until } from './until.ts';

interface Row {
  name: string;
  status: string;
  digest?: string;
  pinnedDigest?: string;
}

interface Lock {
  workers: Record<string, { image: string; digest: string; previous?: { digest: string } }>;
}

describe('pins over time: update, rename, enabled, rollback (runc, registry)', () => {
  let registry: TestRegistry | undefined;
  let project: IiiProject;
  let dir: string;
  let image: string;
  let layoutA: string;
  let layoutB: string;
  let digestA: string;
  let digestB: string;

  const iii = (...args: string[]) => project.iii(...args);
  const ok = async (...args: string[]): Promise<Result> => {
    const r = await iii(...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const list = async (): Promise<Row[]> =>
    (JSON.parse((await ok('worker', 'list', '--json')).stdout) as { workers: Row[] }).workers;
  const row = async (name: string) => (await list()).find((w) => w.name === name);
  const lock = async (): Promise<Lock> => parse(await readFile(join(dir, 'iii.lock'), 'utf8')) as Lock;
  const config = () => readFile(join(dir, 'config.yaml'), 'utf8');
  /** Points the tag at one of the two images. */
  const pushAs = (layout: string) =>
    skopeoCopy(layout, registryRef(registry!, 'iii/app:1'), { destRegistry: registry! });
  // Without the watch, a running worker lags behind a moved pin until it restarts (with it, the new
  // pin applies at once: see live-config.test.ts).
  const startIii = () =>
    project.start('iii started its workers', (output) => /started \d+ of \d+ worker/.test(output), [
      '--no-watch',
    ]);
  const stopIii = () => project.stop();

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    project = await IiiProject.create('iii-day-two-pins-');
    dir = project.dir;
    const source = (await busybox()).ref;
    const script = (v: string) => `trap "exit 0" TERM; echo version ${v}; while :; do sleep 0.2; done`;
    layoutA = (await crashingImage(source, join(dir, 'a'), script('A'))).replace(/^oci-layout:/, 'oci:');
    layoutB = (await crashingImage(source, join(dir, 'b'), script('B'))).replace(/^oci-layout:/, 'oci:');
    image = `${registry.host}/iii/app:1`;
    digestA = await pushAs(layoutA);
    await ok('worker', 'add', image, '--name', 'app');
    expect((await lock()).workers.app?.digest).toBe(digestA);
    await startIii();
    await until('app running', async () => (await row('app'))?.status === 'running');
  }, 300_000);

  afterAll(async () => {
    await project?.stop();
    await registry?.stop();
    await project?.remove();
  });

  it('after update, list and inspect show that the running digest is not the pinned one, until restart', async () => {
    digestB = await pushAs(layoutB);
    expect(digestB).not.toBe(digestA);
    const updated = await ok('worker', 'update', 'app');
    expect(updated.stderr).toContain('`iii worker restart app`');
    expect((await lock()).workers.app).toMatchObject({ digest: digestB, previous: { digest: digestA } });

    const lagging = await row('app');
    expect(lagging).toMatchObject({ status: 'running', digest: digestA, pinnedDigest: digestB });
    const text = await ok('worker', 'list');
    expect(text.stdout).toContain('`iii worker restart app` switches to it');
    const inspect = JSON.parse((await ok('worker', 'inspect', 'app', '--json')).stdout) as {
      digest: string;
      runningDigest: string | null;
    };
    expect(inspect).toMatchObject({ digest: digestB, runningDigest: digestA });
    expect((await ok('worker', 'inspect', 'app')).stdout).toMatch(
      /^Running: +sha256:\S+: not the pinned image; `iii worker restart app` switches to it$/m,
    );

    await ok('worker', 'restart', 'app', '--timeout', '3s');
    const current = await row('app');
    expect(current?.digest).toBe(digestB);
    expect(current?.pinnedDigest).toBeNull();
    const after = JSON.parse((await ok('worker', 'inspect', 'app', '--json')).stdout) as {
      runningDigest: string | null;
    };
    expect(after.runningDigest).toBeNull();
    expect((await ok('worker', 'logs', 'app')).stdout).toContain('version B');
  }, 180_000);

  it('rollback re-pins the previous digest from the store with the registry down, keeping the tag', async () => {
    await stopIii();
    // The tag moves back and forth in the registry; then the registry is gone.
    await registry!.stop();
    registry = undefined;
    const before = await config();
    const r = await ok('worker', 'rollback', 'app');
    expect(r.stderr).toContain(`→ ${digestA.slice(0, 19)}`);
    expect((await lock()).workers.app).toMatchObject({
      image,
      digest: digestA,
      previous: { digest: digestB },
    });
    expect(await config()).toBe(before);
    expect((await ok('worker', 'verify')).code).toBe(0);
    await startIii();
    await until('app runs image A again', async () =>
      (await iii('worker', 'logs', 'app', '-n', '1')).stdout.includes('version A'),
    );
    expect((await row('app'))?.digest).toBe(digestA);
    // A second rollback undoes the first.
    await ok('worker', 'rollback', 'app');
    expect((await lock()).workers.app).toMatchObject({ digest: digestB, previous: { digest: digestA } });
    await ok('worker', 'rollback', 'app');
    expect((await lock()).workers.app?.digest).toBe(digestA);
  }, 180_000);

  it('a hand rename keeps the digest although the tag moved; `add` of the same image under the new name says so', async () => {
    // The registry is back, and the tag points to B, while app is pinned to A.
    registry = await startRegistry({ flavor: 'plain' });
    // The new registry has another port: the image reference changes with it, as in config.yaml.
    const moved = `${registry.host}/iii/app:1`;
    await pushAs(layoutA);
    // iii runs: add starts svc, which never connects to the engine, so do not wait for it.
    await ok('worker', 'add', moved, '--name', 'svc', '--no-wait');
    expect(await pushAs(layoutB)).toBe(digestB);
    await stopIii();
    // Rename by hand: `name: svc` becomes `name: web`.
    await writeFile(join(dir, 'config.yaml'), (await config()).replace('name: svc', 'name: web'));
    await startIii();
    await until('web runs', async () => (await row('web'))?.status === 'running');
    expect(project.engineOutput).toContain('worker "web" keeps the pin of "svc"');
    expect((await lock()).workers.web?.digest).toBe(digestA);
    expect((await lock()).workers.svc).toBeUndefined();
    expect((await iii('worker', 'logs', 'web', '-n', '1')).stdout).toContain('version A');

    // The same by `sync`, and by `add` of the same image under the new name: never a silent upgrade.
    await stopIii();
    await writeFile(join(dir, 'config.yaml'), (await config()).replace('name: web', 'name: site'));
    const synced = await ok('worker', 'sync');
    expect(synced.stderr).toContain('Worker "site" keeps the pin of "web"');
    expect((await lock()).workers.site?.digest).toBe(digestA);
    await writeFile(join(dir, 'config.yaml'), (await config()).replace('name: site', 'name: www'));
    const added = await ok('worker', 'add', moved, '--name', 'www');
    expect(added.stderr).toContain('Worker "www" keeps the pin of "site"');
    expect(added.stderr).not.toContain('nothing changed');
    expect((await lock()).workers.www?.digest).toBe(digestA);

    // `iii worker rename` does it explicitly, logs and all.
    await startIii();
    await until('www printed', async () => (await iii('worker', 'logs', 'www')).stdout.includes('version A'));
    const running = await iii('worker', 'rename', 'www', 'front');
    expect(running.code).toBe(1);
    expect(running.stderr).toContain('iii worker stop www');
    await stopIii();
    const renamed = await ok('worker', 'rename', 'www', 'front');
    expect(renamed.stderr).toContain(`keeps ${digestA.slice(0, 19)}`);
    expect((await lock()).workers.front?.digest).toBe(digestA);
    expect((await lock()).workers.www).toBeUndefined();
    expect(await config()).toMatch(/name: front\n/);
    expect((await ok('worker', 'logs', 'front')).stdout).toContain('version A');
    expect((await iii('worker', 'rename', 'front', 'app')).code).toBe(1);
  }, 240_000);

  it('enabled: false keeps an entry without running it; a commented-out worker gets a fix that works', async () => {
    await writeFile(
      join(dir, 'config.yaml'),
      (await config()).replace(/(- name: front\n)/, '$1    enabled: false\n'),
    );
    await startIii();
    expect(project.engineOutput).toContain('enabled: false in config.yaml: front');
    expect((await row('front'))?.status).toBe('disabled');
    const start = await iii('worker', 'start', 'front');
    expect(start.code).toBe(1);
    expect(start.stderr).toContain('enabled: false');
    expect((await ok('worker', 'verify')).code).toBe(0);
    await stopIii();

    // Comment the entry out: verify names the fix, and the fix works.
    const text = await config();
    const commented = text.replace(/( {2}- name: front\n(?: {4}.*\n)*)/, (m) =>
      m
        .split('\n')
        .map((l) => (l ? `#${l}` : l))
        .join('\n'),
    );
    expect(commented).not.toBe(text);
    await writeFile(join(dir, 'config.yaml'), commented);
    const failing = await iii('worker', 'verify');
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('fix with `iii worker remove front -y`');
    await ok('worker', 'remove', 'front', '-y');
    expect((await lock()).workers.front).toBeUndefined();
    expect((await ok('worker', 'verify')).code).toBe(0);
  }, 180_000);
});
