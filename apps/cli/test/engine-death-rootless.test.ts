// The watchdog needs nothing an ordinary user lacks: the same kill -9 of `iii` as in
// engine-death.test.ts, with `iii` run through `su` by a user made for the test (rootless sandboxes).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { busybox } from '@iii/tools/fixtures';
import { requireTools, runCommand, subordinateRange } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliOf,
  killUserProcesses,
  letOthersTraverse,
  type Range,
  removeUser,
  repoRoot,
  type StartedIii,
  startAs,
  processesOf as userProcesses,
  withCommandLines,
} from './as-user.ts';
import { recordOf, sandboxOf } from './project-paths.ts';
import { until } from './until.ts';

const run = promisify(execFile);
const REAP_BOUND_MS = 10_000;
/** The user's processes and their subordinate ids' processes, as `<pid>: <command line>`. */
const processesOf = async (uid: number, sub?: Range) => withCommandLines(await userProcesses(uid, sub));

describe('workers do not outlive iii run by an ordinary user (rootless runc)', () => {
  let user: string | undefined;
  let uid = 0;
  /** The user's /etc/subuid range (useradd gives one): a USER 1000 worker runs as one of these ids. */
  let sub: Range | undefined;
  let dir: string;
  let home: string;
  let restoreModes: (() => Promise<void>) | undefined;
  let engine: StartedIii | undefined;

  const iii = (...args: string[]) => cliOf(user!, dir, home).iii(...args);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This test creates an ordinary user (useradd) to run iii as: run the tests as root.');
    }
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'useradd', 'userdel', 'su']);
    user = `iiiwd${randomBytes(4).toString('hex')}`;
    await run('useradd', ['-M', '-s', '/bin/bash', user]);
    uid = Number((await run('id', ['-u', user])).stdout.trim());
    const gid = Number((await run('id', ['-g', user])).stdout.trim());
    sub = await subordinateRange(user);
    dir = await mkdtemp(join(tmpdir(), 'iii-death-rootless-'));
    await chown(dir, uid, gid);
    await chmod(dir, 0o700);
    home = join(dir, 'home');
    restoreModes = await letOthersTraverse(repoRoot);
    // A worker that prints once and sleeps: it would not die of SIGPIPE when iii is gone.
    const layout = join(dir, 'quiet-image');
    await runCommand('skopeo', ['copy', '--quiet', (await busybox()).ref, `oci:${layout}:quiet`]);
    await runCommand('umoci', [
      'config',
      '--image',
      `${layout}:quiet`,
      '--config.entrypoint',
      '/bin/sh',
      '--config.cmd',
      '-c',
      '--config.cmd',
      'echo quiet-worker up; exec sleep 1000000',
    ]);
    // quiet-b runs as USER 1000: with the user's subordinate ids, a host id iii's user is not.
    await runCommand('skopeo', ['copy', '--quiet', `oci:${layout}:quiet`, `oci:${layout}:quiet-user`]);
    await runCommand('umoci', ['config', '--image', `${layout}:quiet-user`, '--config.user', '1000:1000']);
    await run('chown', ['-R', `${uid}:${gid}`, layout]);
    for (const [name, tag] of [
      ['quiet-a', 'quiet'],
      ['quiet-b', 'quiet-user'],
    ] as const) {
      const r = await iii('worker', 'add', `oci-layout:${layout}:${tag}`, '--name', name);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    try {
      await killUserProcesses(engine, uid, sub);
      if (dir) await rm(dir, { recursive: true, force: true });
    } finally {
      await removeUser(user, restoreModes);
    }
  });

  it('kill -9 of the user’s iii: within 10 s none of the user’s processes, containers or mounts remain', async () => {
    engine = startAs(user!, dir, home, 0);
    await until(`both workers running (iii said: ${engine.output})`, async () => {
      const r = await iii('worker', 'list', '--json');
      const rows = (JSON.parse(r.stdout) as { workers: { status: string }[] }).workers;
      return rows.length === 2 && rows.every((w) => w.status === 'running');
    });
    const record = JSON.parse(await readFile(recordOf(home, join(dir, 'config.yaml')), 'utf8')) as {
      pid: number;
    };
    const dog = JSON.parse(
      await readFile(join(sandboxOf(home, join(dir, 'config.yaml')), 'watchdog.json'), 'utf8'),
    ) as { pid: number };
    const before = await processesOf(uid, sub);
    // iii, its watchdog, two runtime processes and two workers at least, all the user's.
    expect(before.some((p) => p.startsWith(`${record.pid}:`))).toBe(true);
    expect(before.some((p) => p.startsWith(`${dog.pid}:`))).toBe(true);
    // The workers themselves, not the init above each one (whose argv ends with the worker's).
    const isWorker = (p: string) => /^\d+: sleep 1000000$/.test(p);
    expect(before.filter(isWorker)).toHaveLength(2);
    if (sub) {
      const asUser = (await processesOf(sub.start + 999)).filter(isWorker);
      expect(asUser, 'the USER 1000 worker runs as the subordinate id of 1000').toHaveLength(1);
    }

    const killedAt = Date.now();
    process.kill(record.pid, 'SIGKILL');
    const runtimeRoot = join(sandboxOf(home, join(dir, 'config.yaml')), 'runtime', 'runc');
    const left = async () => [
      ...(await processesOf(uid, sub)),
      ...(await readdir(runtimeRoot).catch(() => [] as string[])).map((id) => `container ${id}`),
      ...(await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(home)),
    ];
    let remaining = await left();
    while (remaining.length > 0 && Date.now() - killedAt < REAP_BOUND_MS) {
      await new Promise((r) => setTimeout(r, 200));
      remaining = await left();
    }
    expect(remaining, '10 s after kill -9 of iii').toEqual([]);
    expect(await readFile(join(sandboxOf(home, join(dir, 'config.yaml')), 'watchdog.log'), 'utf8')).toMatch(
      /removed 2 container/,
    );
  });
});
