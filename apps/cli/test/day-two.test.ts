// Living with workers for weeks, through the built `iii` and runc: removing a worker in any state
// (also by editing config.yaml), a stop that outlasts a restart of `iii`, and logs that belong to one
// instance of a worker and hold everything it printed.
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { busybox, crashingImage } from '@iii/tools/fixtures';
import { requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { IiiProject } from './iii-project.ts';
import { sandboxOf } from './project-paths.ts';
import { until } from './until.ts';

/** The bound of the issue: a removed worker has no process and no list row within 15 s. */
const REMOVE_BOUND_MS = 15_000;

interface Row {
  name: string;
  status: string;
  pid?: number;
  stoppedAt?: string;
}

/** A process that runs (a zombie waiting for its parent does not). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Processes running inside the worker's sandbox directory, and its container if the runtime has one. */
async function traces(home: string, name: string): Promise<string[]> {
  const dir = join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'workers', name);
  const found: string[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p) || !(await running(Number(p)))) continue;
    const root = await readlink(`/proc/${p}/root`).catch(() => '');
    const cmd = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    if (root.startsWith(dir) || cmd.includes(`-${name} `)) found.push(`process ${p}: ${cmd}`);
  }
  const runtimeRoot = join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'runtime', 'runc');
  for (const id of await readdir(runtimeRoot).catch(() => [] as string[]))
    if (id.endsWith(`-${name}`)) found.push(`container ${id}`);
  return found;
}

describe('removing, stopping and the logs of workers over time (runc, built iii)', () => {
  let project: IiiProject;
  let dir: string;
  let home: string;
  let crashRef: string;
  let quietRef: string;
  let chattyRef: string;

  const iii = (...args: string[]) => project.iii(...args);
  const list = () => project.list<Row>();
  const row = async (name: string) => (await list()).find((w) => w.name === name);
  const add = async (ref: string, name: string) => {
    // While iii runs, add starts the worker at once; these never connect to the engine: no wait.
    const r = await iii('worker', 'add', ref, '--name', name, '--no-wait');
    expect(r.code, r.stderr).toBe(0);
  };
  // Without the watch, so an entry deleted by hand meets the check before its restart (the watch
  // would stop it at once: see live-config.test.ts).
  const startIii = () =>
    project.start('iii listening', (output) => output.includes('started '), ['--no-watch']);
  const stopIii = () => project.stop();

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah']);
    project = await IiiProject.create('iii-day-two-');
    ({ dir, home } = project);
    const source = (await busybox()).ref;
    crashRef = await crashingImage(source, join(dir, 'crashy-layout'));
    quietRef = await crashingImage(
      source,
      join(dir, 'quiet-layout'),
      'trap "exit 0" TERM; echo quiet up; while :; do sleep 0.2; done',
    );
    chattyRef = await crashingImage(
      source,
      join(dir, 'chatty-layout'),
      'trap "exit 0" TERM; i=1; while [ $i -le 300 ]; do echo "chatty line $i"; i=$((i+1)); done; while :; do sleep 0.2; done',
    );
    await add(crashRef, 'crashy');
    await add(crashRef, 'crashy-by-hand');
    await add(quietRef, 'quiet');
    await add(chattyRef, 'chatty');
    await startIii();
  }, 300_000);

  afterAll(async () => {
    await project?.remove();
  });

  it('remove ends a worker waiting in restart backoff: no process and no list row within 15 s', async () => {
    await until('crashy waiting to restart', async () => (await row('crashy'))?.status === 'restarting');
    const begin = Date.now();
    const r = await iii('worker', 'remove', 'crashy', '-y');
    expect(r.code, r.stderr).toBe(0);
    // The command itself ended it (not its next restart): told to stop, and no row once it returns.
    expect(r.stderr).toContain('Stopping "crashy"');
    expect(await row('crashy')).toBeUndefined();
    const removedIn = Date.now() - begin;
    // When a check began that found it gone: it was gone by then (the checks themselves take a while).
    const goneAt = await until(
      'crashy gone',
      async () => {
        const at = Date.now();
        const gone = (await row('crashy')) === undefined && (await traces(home, 'crashy')).length === 0;
        return gone ? at : undefined;
      },
      REMOVE_BOUND_MS,
    );
    expect(goneAt - begin, `the remove command took ${removedIn} ms`).toBeLessThan(REMOVE_BOUND_MS);
    // And it stays gone: its backoff does not bring it back.
    await new Promise((res) => setTimeout(res, 5000));
    expect(await row('crashy')).toBeUndefined();
    expect(await traces(home, 'crashy')).toEqual([]);
    expect(existsSync(join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'workers', 'crashy'))).toBe(
      false,
    );
  });

  it('a worker deleted from config.yaml by hand is not restarted after its backoff', async () => {
    await until('crashy-by-hand waiting to restart', async () => {
      return (await row('crashy-by-hand'))?.status === 'restarting';
    });
    const configPath = join(dir, 'config.yaml');
    const doc = parseDocument(await readFile(configPath, 'utf8'));
    const workers = doc.get('workers') as { items: { get(k: string): unknown }[] };
    const index = workers.items.findIndex((w) => w.get('name') === 'crashy-by-hand');
    doc.deleteIn(['workers', index]);
    await writeFile(configPath, doc.toString());
    await until(
      'crashy-by-hand gone',
      async () =>
        (await row('crashy-by-hand')) === undefined && (await traces(home, 'crashy-by-hand')).length === 0,
    );
    expect(project.engineOutput).toContain(
      'worker "crashy-by-hand" is no longer in config.yaml; not restarted',
    );
  }, 120_000);

  it('logs --since returns all 300 lines a worker printed; -n all too; the default is the last 100', async () => {
    await until('chatty printed its 300 lines', async () => {
      const r = await iii('worker', 'logs', 'chatty', '-n', 'all');
      return r.stdout.includes('chatty line 300');
    });
    const since = await iii('worker', 'logs', 'chatty', '--since', '10m');
    expect(since.code, since.stderr).toBe(0);
    const lines = since.stdout.split('\n').filter((l) => l.startsWith('chatty line '));
    expect(lines).toEqual(Array.from({ length: 300 }, (_, i) => `chatty line ${i + 1}`));
    const all = await iii('worker', 'logs', 'chatty', '-n', 'all');
    expect(all.stdout.split('\n').filter((l) => l.startsWith('chatty line '))).toHaveLength(300);
    const last = await iii('worker', 'logs', 'chatty');
    expect(last.stdout.split('\n').filter((l) => l.startsWith('chatty line '))).toHaveLength(100);
    const bad = await iii('worker', 'logs', 'chatty', '-n', 'many');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"all"');
  }, 120_000);

  it('a worker removed and added again under the same name starts with empty logs', async () => {
    const r = await iii('worker', 'remove', 'chatty', '-y');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'workers', 'chatty'))).toBe(
      false,
    );
    // iii runs: add starts the new chatty at once; none of the old one's lines come back.
    await add(quietRef, 'chatty');
    const before = await iii('worker', 'logs', 'chatty', '-n', 'all');
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).not.toContain('chatty line');
    const started = await iii('worker', 'start', 'chatty');
    expect(started.code, started.stderr).toBe(0);
    const after = await until('the new chatty printed', async () => {
      const l = await iii('worker', 'logs', 'chatty', '-n', 'all');
      return l.stdout.includes('quiet up') ? l : undefined;
    });
    expect(after.stdout).not.toContain('chatty line');
    expect(after.stdout.trim().split('\n')).toEqual(['quiet up']);
  }, 120_000);

  it('remove --keep-logs keeps the logs and nothing else of the sandbox directory', async () => {
    await add(quietRef, 'kept');
    expect((await iii('worker', 'start', 'kept')).code).toBe(0);
    await until('kept printed', async () =>
      (await iii('worker', 'logs', 'kept')).stdout.includes('quiet up'),
    );
    const r = await iii('worker', 'remove', 'kept', '-y', '--keep-logs');
    expect(r.code, r.stderr).toBe(0);
    expect(
      await readdir(join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'workers', 'kept')),
    ).toEqual(['logs']);
    expect((await iii('worker', 'logs', 'kept')).stdout).toContain('quiet up');
  }, 120_000);

  it('a worker stopped with `iii worker stop` stays stopped across a restart of iii, until `worker start`', async () => {
    await until('quiet running', async () => (await row('quiet'))?.status === 'running');
    const stopped = await iii('worker', 'stop', 'quiet');
    expect(stopped.code, stopped.stderr).toBe(0);
    await stopIii();
    await startIii();
    const held = await row('quiet');
    expect(held).toMatchObject({ status: 'stopped' });
    expect(held?.pid).toBeNull();
    expect(Number.isNaN(Date.parse(held?.stoppedAt ?? ''))).toBe(false);
    expect(project.engineOutput).toContain('stopped with `iii worker stop`: quiet');
    const text = await iii('worker', 'list');
    expect(text.stdout).toMatch(/^quiet\s.*stopped \(until `iii worker start`\)/m);
    // Without iii too, the list says so.
    await stopIii();
    expect((await iii('worker', 'list')).stdout).toMatch(/^quiet\s.*stopped \(until `iii worker start`\)/m);
    await startIii();
    expect((await row('quiet'))?.status).toBe('stopped');

    const started = await iii('worker', 'start', 'quiet');
    expect(started.code, started.stderr).toBe(0);
    await until('quiet running again', async () => (await row('quiet'))?.status === 'running');
    await stopIii();
    await startIii();
    await until('quiet starts with iii again', async () => (await row('quiet'))?.status === 'running');
    expect((await row('quiet'))?.stoppedAt).toBeNull();
  }, 240_000);
});
