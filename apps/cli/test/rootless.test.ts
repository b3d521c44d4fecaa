// The whole worker lifecycle as an ordinary user: a user made for the test (useradd -M, which gives
// it a /etc/subuid and /etc/subgid range) runs the built `iii` through `su`, with its own HOME and
// $III_HOME, no sudo. Workers then run rootless: in a user namespace mapping the user's id to root
// and its subordinate ids to ids 1 and up, on overlays the runtime mounts inside it. A second user
// without a range shows the single-id map that is left then.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Logger, registerWorker } from '@iii/sdk';
import {
  BUSYBOX_USERS_FILES,
  busyboxUsers,
  CONNECTING_WORKER_SCRIPT,
  crashingImage,
  pushFixture,
} from '@iii/tools/fixtures';
import {
  freePort,
  requireTools,
  runCommand,
  startRegistry,
  subordinateRange,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliOf,
  hostUid,
  killUserProcesses,
  letOthersTraverse,
  processesOf,
  type Range,
  removeUser,
  repoRoot,
  type StartedIii,
  startAs,
} from './as-user.ts';
import { recordOf, sandboxOf } from './project-paths.ts';
import { until } from './until.ts';

const run = promisify(execFile);

interface ListRow {
  name: string;
  status: string;
  pid?: number;
}

/**
 * Gives `dir` to the user (mode 0700) and copies the busybox-users image into it as an OCI layout the
 * user owns; returns the image's `oci-layout:` reference.
 */
async function prepareUserDir(dir: string, uid: number, gid: number): Promise<string> {
  await chown(dir, uid, gid);
  await chmod(dir, 0o700);
  const layout = join(dir, 'user-image');
  await runCommand('skopeo', ['copy', '--quiet', (await busyboxUsers()).ref, `oci:${layout}:user`]);
  // Written by root with private modes: hand the layout to the user, who adds it.
  await run('chown', ['-R', `${uid}:${gid}`, layout]);
  return `oci-layout:${layout}:user`;
}

describe('iii runs workers rootless as an ordinary user (runc, user namespaces)', () => {
  let registry: TestRegistry;
  let user: string;
  let uid: number;
  let gidOf: number;
  /** The user's /etc/subuid and /etc/subgid ranges (useradd gives one). */
  let sub: Range;
  let subGid: Range;
  let dir: string;
  let home: string;
  let port: number;
  /** The busybox-users image (`USER 1000:1000`, files of 1000 and 2000), as an OCI layout the user can read. */
  let userImage: string;
  let restoreModes: (() => Promise<void>) | undefined;
  let engine: StartedIii | undefined;
  const engineOutput = () => engine?.output ?? '';

  const iii = (...args: string[]) => cliOf(user, dir, home).iii(...args);
  const list = async (): Promise<ListRow[]> => {
    const r = await iii('worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { workers: ListRow[] }).workers;
  };
  const row = async (name: string) => (await list()).find((w) => w.name === name);
  const exec = (name: string, script: string) => iii('worker', 'exec', name, '--', 'sh', '-c', script);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This test creates an ordinary user (useradd) to run iii as: run the tests as root.');
    }
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry', 'useradd', 'userdel', 'su']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    await pushFixture('busybox', registry, 'iii/busybox-worker:1');

    user = `iiirl${randomBytes(4).toString('hex')}`;
    await run('useradd', ['-M', '-s', '/bin/bash', user]);
    uid = Number((await run('id', ['-u', user])).stdout.trim());
    const gid = Number((await run('id', ['-g', user])).stdout.trim());
    gidOf = gid;
    const range = await subordinateRange(user);
    const gidRange = await subordinateRange(user, '/etc/subgid');
    if (!range || !gidRange) {
      throw new Error(
        `useradd gave ${user} no /etc/subuid or /etc/subgid range: set SUB_UID_COUNT in /etc/login.defs`,
      );
    }
    sub = range;
    subGid = gidRange;
    dir = await mkdtemp(join(tmpdir(), 'iii-rootless-'));
    userImage = await prepareUserDir(dir, uid, gid);
    home = join(dir, 'home');
    restoreModes = await letOthersTraverse(repoRoot);
    // One of the user's own files, outside any worker's rootfs.
    await writeFile(join(dir, 'secret.txt'), 'only-the-user\n', { mode: 0o600 });
    await chown(join(dir, 'secret.txt'), uid, gid);
    port = await freePort();
  });

  afterAll(async () => {
    try {
      // Anything the user still runs was started by this test.
      await killUserProcesses(engine, uid, sub);
      await registry?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    } finally {
      await removeUser(user, restoreModes);
    }
  });

  it("adds the images as the user; the image's other owners are the user's subordinate ids", async () => {
    const check = await iii('system', 'check', '--json');
    expect(check.code, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout) as {
      mode: string;
      rootfs: { kind: string };
      cgroup: { limitsEnforced: boolean };
    };
    expect(report.mode).toBe('rootless');
    expect(report.rootfs.kind).toBe('userns-overlay');
    expect(report).toMatchObject({
      userNamespace: {
        mapping: 'subordinate',
        uidMap: `0 -> ${uid}, 1-${sub.count} -> ${sub.start}-${sub.start + sub.count - 1}`,
      },
    });

    for (const args of [
      [`${registry.host}/iii/node-worker:1`, '--name', 'node-worker'],
      [`${registry.host}/iii/busybox-worker:1`, '--name', 'busybox-worker'],
      [`${registry.host}/iii/busybox-worker:1`, '--name', 'neighbour'],
      [userImage, '--name', 'as-user'],
    ]) {
      const r = await iii('worker', 'add', ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    // Everything is the user's, or (image files of other owners) one of its subordinate ids.
    const { stdout } = await run('find', [home, '-printf', '%U %G %p\\n'], { maxBuffer: 64 << 20 });
    const inRange = (id: number, own: number, r: Range) =>
      id === own || (id >= r.start && id < r.start + r.count);
    const strangers = stdout
      .split('\n')
      .filter(Boolean)
      .filter((l) => {
        const [u, g] = l.split(' ').map(Number);
        return !inRange(u as number, uid, sub) || !inRange(g as number, gidOf, subGid);
      });
    expect(strangers).toEqual([]);
    const { workerFile, otherFile } = BUSYBOX_USERS_FILES;
    const owners = (path: string) =>
      stdout
        .split('\n')
        .find((l) => l.endsWith(path))
        ?.split(' ')
        .slice(0, 2)
        .map(Number);
    expect(owners(workerFile.path)).toEqual([
      sub.start + workerFile.uid - 1,
      subGid.start + workerFile.gid - 1,
    ]);
    expect(owners(otherFile.path)).toEqual([sub.start + otherFile.uid - 1, subGid.start + otherFile.gid - 1]);
  });

  it('starts iii in the background and runs both workers as processes of the user', async () => {
    engine = startAs(user, dir, home, port);
    const rows = await until('all workers running', async () => {
      const all = await list();
      return all.every((w) => w.status === 'running') && all;
    });
    for (const w of rows) {
      expect(w.pid).toBeGreaterThan(0);
      // The host sees a root worker's init as the user's process; USER 1000 as its 1000th subordinate id.
      expect(await hostUid(w.pid as number)).toBe(w.name === 'as-user' ? sub.start + 999 : uid);
    }
    // Said once, plainly: limits cannot be enforced without a cgroup the user may write.
    expect(engineOutput().match(/limits are not enforced/g) ?? [], engineOutput()).toHaveLength(1);
  });

  it("triggers the Node worker's function", async () => {
    const answer = await until('node-worker::echo', async () => {
      const r = await iii('trigger', 'node-worker::echo', 'who=rootless', '--timeout', '5s');
      return r.code === 0 && (JSON.parse(r.stdout) as Record<string, unknown>);
    });
    expect(answer).toMatchObject({ workerName: 'node-worker' });
  });

  it("writes a worker's own SDK lines to its log, and none that another local user logs in its name", async () => {
    // This test runs as root, another user than the one running iii: it reaches the port and claims
    // to be node-worker, but no process of node-worker holds its connection, so its line is dropped.
    const other = registerWorker(`ws://127.0.0.1:${port}`, { workerName: 'node-worker' });
    try {
      new Logger(other).info('forged by another user');
      await until(
        'the engine to drop the other user line',
        async () =>
          /dropped SDK log lines from 127\.0\.0\.1:\d+: no worker/.test(engineOutput()) || undefined,
      );
    } finally {
      await other.shutdown();
    }
    const logged = await iii('trigger', 'node-worker::log', 'message=rootless hello');
    expect(logged.code, logged.stderr).toBe(0);
    const logs = await until('the worker line in its logs', async () => {
      const r = await iii('worker', 'logs', 'node-worker', '-n', '200');
      return r.stderr.includes('[warn] rootless hello') ? r : undefined;
    });
    expect(`${logs.stdout}${logs.stderr}`).not.toContain('forged by another user');
  });

  it('sees a USER 1000 worker connect: add waits for it, list says connected', async () => {
    // The worker is one of the user's subordinate ids on the host, whose /proc/<pid>/fd the user may
    // not list; `iii` reads them inside the worker's user namespace, which is the user's.
    const layout = join(dir, 'connecting-as-user');
    const image = await crashingImage((await busyboxUsers()).ref, layout, CONNECTING_WORKER_SCRIPT);
    await run('chown', ['-R', `${uid}:${gidOf}`, layout]);
    const add = await iii('worker', 'add', image, '--name', 'dialer', '--timeout', '30s');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toMatch(/Worker "dialer" started \(pid \d+\) and connected/);
    const w = (await list()).find((r) => r.name === 'dialer') as ListRow & { connected?: boolean };
    expect(w.connected).toBe(true);
    expect(await hostUid(w.pid as number)).toBe(sub.start + 999);
    const removed = await iii('worker', 'remove', 'dialer', '--yes');
    expect(removed.code, removed.stderr).toBe(0);
  });

  it("runs a USER 1000 image as uid 1000, which the host sees as the user's subordinate id", async () => {
    expect(engineOutput()).not.toMatch(/worker "as-user": runs as root/);
    const { workerFile, otherFile } = BUSYBOX_USERS_FILES;
    const id = await exec(
      'as-user',
      `id -u; id -g; cat ${workerFile.path}; stat -c '%u:%g' ${workerFile.path} ${otherFile.path} /; echo made > /home/worker/made; cat /home/worker/made`,
    );
    expect(id.code, id.stderr).toBe(0);
    // The image's owners inside: uid 1000 reads its private file; 2000's file stays 2000's.
    expect(id.stdout.split('\n').slice(0, 7)).toEqual([
      '1000',
      '1000',
      workerFile.text.trim(),
      `${workerFile.uid}:${workerFile.gid}`,
      `${otherFile.uid}:${otherFile.gid}`,
      '0:0',
      'made',
    ]);
    const pid = (await row('as-user'))?.pid as number;
    expect(await hostUid(pid)).toBe(sub.start + 999);
    // PID 1 is the init (bind-mounted from the host into the user namespace), as the image's USER too.
    const init = await exec('as-user', `tr '\\0' ' ' < /proc/1/cmdline; echo; stat -c '%u' /proc/1`);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^\/dev\/init -- \S+.*\n1000\n$/);
  });

  it('execs as root of the user namespace, which is the user on the host', async () => {
    const id = await exec('busybox-worker', 'id -u; cat /proc/self/uid_map');
    expect(id.code, id.stderr).toBe(0);
    const [inside, own, rest] = id.stdout.split('\n');
    expect(inside).toBe('0');
    expect(own?.trim().split(/\s+/)).toEqual(['0', String(uid), '1']);
    expect(rest?.trim().split(/\s+/)).toEqual(['1', String(sub.start), String(sub.count)]);
  });

  it('shows in inspect that the worker runs rootless without enforced limits', async () => {
    const r = await iii('worker', 'inspect', 'busybox-worker', '--json');
    expect(r.code, r.stderr).toBe(0);
    const sandbox = (JSON.parse(r.stdout) as { run: { sandbox: Record<string, unknown> } }).run.sandbox;
    expect(sandbox).toMatchObject({
      mode: 'rootless',
      idMap: 'subordinate',
      rootfs: 'userns-overlay',
      limitsEnforced: false,
    });
    const text = await iii('worker', 'inspect', 'busybox-worker');
    expect(text.stdout).toMatch(/Sandbox:\s+rootless, subordinate ids mapped, .*limits not enforced \(.+\)/);
  });

  it("isolates workers: no user's files, no host processes, no neighbour's writes", async () => {
    const secret = await exec('busybox-worker', `cat ${join(dir, 'secret.txt')}`);
    expect(secret.code).not.toBe(0);
    expect(secret.stdout).not.toContain('only-the-user');
    // Inside its pid namespace the worker sees its own processes only: not even `iii`, which runs
    // on the host as the same user.
    const ps = await exec(
      'busybox-worker',
      'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done',
    );
    expect(ps.code, ps.stderr).toBe(0);
    const commands = ps.stdout.split('\n').filter(Boolean);
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.length).toBeLessThan(10);
    expect(ps.stdout).not.toContain('run.js');
    expect((await processesOf(uid, sub)).length).toBeGreaterThan(commands.length);

    const wrote = await exec('busybox-worker', 'echo mine > /root/written && cat /root/written');
    expect(wrote.stdout.trim()).toBe('mine');
    const seen = await exec('neighbour', 'cat /root/written');
    expect(seen.code).not.toBe(0);
    // The image's layers (shared, read-only snapshots) never get a worker's write.
    const { stdout } = await run('find', [join(home, 'snapshots'), '-name', 'written']);
    expect(stdout).toBe('');
  });

  it('prints the logs, stops, starts and removes a worker', async () => {
    const logs = await until('log lines', async () => {
      const r = await iii('worker', 'logs', 'busybox-worker', '-n', '2');
      return r.code === 0 && /busybox-worker line \d+/.test(r.stdout) && r.stdout;
    });
    expect(logs).toMatch(/busybox-worker line/);

    const stop = await iii('worker', 'stop', 'busybox-worker');
    expect(stop.code, stop.stderr).toBe(0);
    expect((await row('busybox-worker'))?.status).toBe('stopped');
    const start = await iii('worker', 'start', 'busybox-worker');
    expect(start.code, start.stderr).toBe(0);
    await until(
      'busybox-worker running again',
      async () => (await row('busybox-worker'))?.status === 'running',
    );
    // Its writable layer began afresh.
    expect((await exec('busybox-worker', 'cat /root/written')).code).not.toBe(0);

    const removed = await iii('worker', 'remove', 'neighbour', '--yes');
    expect(removed.code, removed.stderr).toBe(0);
    expect(await row('neighbour')).toBeUndefined();
  });

  it('shuts down on Ctrl-C and leaves no process or mount behind', async () => {
    const record = JSON.parse(await readFile(recordOf(home, join(dir, 'config.yaml')), 'utf8')) as {
      pid: number;
    };
    process.kill(record.pid, 'SIGINT');
    expect(await engine?.exit).toBe(0);
    await until('no process of the user', async () => (await processesOf(uid, sub)).length === 0, 30_000);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
    const runtimeRoot = join(sandboxOf(home, join(dir, 'config.yaml')), 'runtime', 'runc');
    expect(await readdir(runtimeRoot).catch(() => [])).toEqual([]);
  });
});

describe('a user without a subordinate id range runs workers with the single-id map', () => {
  let user: string;
  let uid: number;
  let dir: string;
  let home: string;
  let userImage: string;
  let restoreModes: (() => Promise<void>) | undefined;
  let engine: StartedIii | undefined;
  const engineOutput = () => engine?.output ?? '';
  const iii = (...args: string[]) => cliOf(user, dir, home).iii(...args);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This test creates an ordinary user (useradd) to run iii as: run the tests as root.');
    }
    requireTools(['runc', 'skopeo', 'buildah', 'useradd', 'userdel', 'su']);
    user = `iiirs${randomBytes(4).toString('hex')}`;
    await run('useradd', ['-M', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', '-s', '/bin/bash', user]);
    expect(await subordinateRange(user)).toBeUndefined();
    uid = Number((await run('id', ['-u', user])).stdout.trim());
    const gid = Number((await run('id', ['-g', user])).stdout.trim());
    dir = await mkdtemp(join(tmpdir(), 'iii-rootless-single-'));
    userImage = await prepareUserDir(dir, uid, gid);
    home = join(dir, 'home');
    restoreModes = await letOthersTraverse(repoRoot);
  });

  afterAll(async () => {
    try {
      await killUserProcesses(engine, uid);
      if (dir) await rm(dir, { recursive: true, force: true });
    } finally {
      await removeUser(user, restoreModes);
    }
  });

  it('says which map it uses and how to get a range', async () => {
    const check = await iii('system', 'check', '--json');
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      mode: 'rootless',
      userNamespace: {
        mapping: 'single',
        uidMap: `0 -> ${uid}`,
        hint: expect.stringMatching(/usermod --add-subuids/),
      },
    });
  });

  it("runs a USER 1000 image as the sandbox's root, every file the user's, and says why", async () => {
    const add = await iii('worker', 'add', userImage, '--name', 'as-user');
    expect(add.code, add.stderr).toBe(0);
    const { stdout } = await run('find', [home, '!', '-user', String(uid), '-print', '-quit']);
    expect(stdout).toBe('');

    const port = await freePort();
    engine = startAs(user, dir, home, port);
    const pid = await until('as-user running', async () => {
      const r = await iii('worker', 'list', '--json');
      const w = r.code === 0 ? (JSON.parse(r.stdout) as { workers: ListRow[] }).workers[0] : undefined;
      return w?.status === 'running' && w.pid;
    });
    expect(await hostUid(pid)).toBe(uid);
    expect(engineOutput()).toMatch(
      /worker "as-user": runs as root of its user namespace .*without a subordinate id range/,
    );

    const { workerFile } = BUSYBOX_USERS_FILES;
    const id = await iii(
      'worker',
      'exec',
      'as-user',
      '--',
      'sh',
      '-c',
      `id -u; cat /proc/self/uid_map; stat -c '%u' ${workerFile.path}`,
    );
    expect(id.code, id.stderr).toBe(0);
    const [inside, map, owner] = id.stdout.split('\n');
    expect(inside).toBe('0');
    expect(map?.trim().split(/\s+/)).toEqual(['0', String(uid), '1']);
    expect(owner).toBe('0');

    const inspect = await iii('worker', 'inspect', 'as-user', '--json');
    expect((JSON.parse(inspect.stdout) as { run: { sandbox: unknown } }).run.sandbox).toMatchObject({
      idMap: 'single',
    });
  });

  it('shuts down on Ctrl-C and leaves no process or mount behind', async () => {
    const record = JSON.parse(await readFile(recordOf(home, join(dir, 'config.yaml')), 'utf8')) as {
      pid: number;
    };
    process.kill(record.pid, 'SIGINT');
    expect(await engine?.exit).toBe(0);
    await until('no process of the user', async () => (await processesOf(uid)).length === 0, 30_000);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  });
});
