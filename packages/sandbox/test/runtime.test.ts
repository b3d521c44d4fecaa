import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSpec, detectRuntime, prepareRootfs, type RuntimeDriver, releaseRootfs } from '../src/index.js';
import { buildBusyboxRootfs } from './busybox-rootfs.js';

let scratch: string;
let driver: RuntimeDriver;
let bundle: string;
let rootfsDir: string;
// Container ids are host-wide (cgroups), so concurrent runs of this test must not share one.
const id = `iii-test-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'iii-runtime-test-'));
  const image = await buildBusyboxRootfs(scratch);
  driver = (await detectRuntime({ stateDir: join(scratch, 'state'), preferred: 'runc', strict: true }))
    .driver;
  bundle = join(scratch, 'bundle');
  rootfsDir = join(scratch, 'rootfs');
  await mkdir(bundle);
  const rootfs = await prepareRootfs({ image, dir: rootfsDir });
  await writeFile(join(scratch, 'hosts'), '127.0.0.1 localhost\n');
  await writeFile(join(scratch, 'resolv.conf'), '');
  const spec = buildSpec({
    imageConfig: { config: { Cmd: ['sh', '-c', 'echo created-and-started; exec sleep 1000'] } },
    worker: { name: 'detached' },
    engineUrl: 'ws://127.0.0.1:1',
    rootfs: rootfs.path,
    hostsFile: join(scratch, 'hosts'),
    resolvFile: join(scratch, 'resolv.conf'),
  });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
});

afterAll(async () => {
  await driver?.delete(id, { force: true });
  await releaseRootfs(rootfsDir);
  await rm(scratch, { recursive: true, force: true });
});

describe('runtime driver', () => {
  it('creates, starts, lists, signals and deletes a detached container in its private root', async () => {
    const out = join(scratch, 'out.log');
    const fd = openSync(out, 'a');
    try {
      await driver.create(id, bundle, { pidFile: join(scratch, 'pid'), stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    expect((await driver.state(id))?.status).toBe('created');
    await driver.start(id);
    const running = await driver.state(id);
    expect(running).toMatchObject({ id, status: 'running', bundle });
    expect(running?.pid).toBe(Number(await readFile(join(scratch, 'pid'), 'utf8')));
    expect((await driver.list()).map((c) => c.id)).toEqual([id]);
    expect(driver.root.startsWith(scratch)).toBe(true);

    // The container writes straight into the file we handed over; wait for its first line.
    for (let i = 0; i < 250 && (await readFile(out, 'utf8')) === ''; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await readFile(out, 'utf8')).toBe('created-and-started\n');
    expect(await driver.kill(id, 'SIGKILL')).toBe(true);
    for (let i = 0; i < 100 && (await driver.state(id))?.status !== 'stopped'; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await driver.state(id))?.status).toBe('stopped');
    expect(await driver.kill(id, 'SIGTERM')).toBe(false);
    await driver.delete(id);
    expect(await driver.state(id)).toBeUndefined();
    await driver.delete(id);
    expect(await driver.list()).toEqual([]);
  });
});
