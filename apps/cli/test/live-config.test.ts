// While `iii` runs, config.yaml is the truth: saved edits apply live, only to the workers they change,
// through the built `iii` and runc, checked by pid. The workers are busybox shells that hold a
// WebSocket to the engine (so `worker add` can wait for them to connect).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busybox, CONNECTING_WORKER_SCRIPT, crashingImage } from '@iii/tools/fixtures';
import { freePort, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument, stringify } from 'yaml';
import { until } from './until.ts';
import { bin, iii, makeSandbox, type Sandbox } from './worker-harness.ts';

interface Row {
  name: string;
  status: string;
  pid: number | null;
  connected: boolean | null;
  configChanged: boolean | null;
}

const MiB = 1024 * 1024;

describe('live config.yaml (runc, built iii)', () => {
  let sb: Sandbox;
  let ref: string;
  let engine: ChildProcess | undefined;
  let engineExit: Promise<unknown> = Promise.resolve();
  let output = '';

  const ok = async (...args: string[]) => {
    const r = await iii(sb, args);
    expect(r.code, r.stderr).toBe(0);
    return r;
  };
  const list = async (): Promise<Row[]> => JSON.parse((await ok('worker', 'list', '--json')).stdout).workers;
  const pids = async (): Promise<Record<string, number | null>> =>
    Object.fromEntries((await list()).map((w) => [w.name, w.pid]));
  /** Every named worker running and connected; their pids. */
  const allConnected = (names: string[]) =>
    until(`${names.join(', ')} connected`, async () => {
      const rows = await list();
      const waiting = names.filter((n) => rows.find((w) => w.name === n)?.connected !== true);
      if (waiting.length > 0) {
        const states = waiting.map((n) => `${n}: ${rows.find((w) => w.name === n)?.status ?? 'absent'}`);
        throw new Error(`not connected: ${states.join(', ')}\n${output.slice(-2000)}`);
      }
      return Object.fromEntries(rows.map((w) => [w.name, w.pid]));
    });
  const startIii = async (...flags: string[]) => {
    output = '';
    const child = spawn(process.execPath, [bin, 'start', '--port', String(await freePort()), ...flags], {
      cwd: sb.cwd,
      env: sb.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    engineExit = new Promise((resolve) => child.once('exit', resolve));
    engine = child;
    await until('iii started its workers', async () => output.includes('started '));
  };
  const stopIii = async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGTERM');
      await engineExit;
    }
    engine = undefined;
  };
  /** Edits config.yaml as an editor does: a new file renamed over the old one, or written in place. */
  const editConfig = async (
    edit: (doc: ReturnType<typeof parseDocument>) => void,
    how: 'rename' | 'in place',
    from?: string,
  ) => {
    const doc = parseDocument(from ?? (await readFile(sb.configPath, 'utf8')));
    edit(doc);
    if (how === 'rename') {
      await writeFile(join(sb.cwd, '.config.yaml.swp'), doc.toString());
      await rename(join(sb.cwd, '.config.yaml.swp'), sb.configPath);
    } else await writeFile(sb.configPath, doc.toString());
  };
  const indexOf = (doc: ReturnType<typeof parseDocument>, name: string) =>
    (doc.get('workers') as { items: { get(k: string): unknown }[] }).items.findIndex(
      (w) => w.get('name') === name,
    );
  /** Output of `iii` since `mark` (its length before an edit). */
  const since = (mark: number) => output.slice(mark);

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah']);
    sb = await makeSandbox();
    ref = await crashingImage((await busybox()).ref, join(sb.root, 'layout'), CONNECTING_WORKER_SCRIPT);
    for (const name of ['a', 'b', 'c']) await ok('worker', 'add', ref, '--name', name);
    await startIii();
    await allConnected(['a', 'b', 'c']);
  }, 300_000);

  afterAll(async () => {
    await stopIii();
    await sb?.remove();
  });

  it('an edit of one worker`s config: restarts that worker only, saved by rename and in place', async () => {
    const before = await pids();
    let mark = output.length;
    await editConfig((doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'config', 'FOO'], 'one'), 'rename');
    const afterB = await until('b restarted', async () => {
      const now = await pids();
      return now.b !== before.b && now.b ? now : undefined;
    });
    expect(since(mark)).toContain('restarted b (config: FOO added)');
    expect(afterB.a).toBe(before.a);
    expect(afterB.c).toBe(before.c);

    mark = output.length;
    await editConfig(
      (doc) => doc.setIn(['workers', indexOf(doc, 'c'), 'config', 'GREETING'], 'hi'),
      'in place',
    );
    const afterC = await until('c restarted', async () => {
      const now = await pids();
      return now.c !== before.c && now.c ? now : undefined;
    });
    expect(since(mark)).toContain('restarted c (config: GREETING changed)');
    expect(afterC.a).toBe(before.a);
    expect(afterC.b).toBe(afterB.b);
    // One change, one line: nothing else was touched.
    expect(since(mark).match(/^(started|restarted|stopped|updated) /gm)).toHaveLength(1);
  }, 120_000);

  it('a memory edit changes the cgroup limit of the running sandbox, same pid', async () => {
    const before = await pids();
    const mark = output.length;
    await editConfig(
      (doc) => doc.setIn(['workers', indexOf(doc, 'a'), 'resources', 'memory'], '128Mi'),
      'rename',
    );
    await until('a updated', async () => since(mark).includes('updated a'));
    expect(since(mark)).toContain('updated a (memory 256Mi -> 128Mi, in place)');
    expect(await pids()).toEqual(before);
    const cgroup = await readFile(`/proc/${before.a}/cgroup`, 'utf8');
    const path = /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m.exec(cgroup)?.[1];
    expect(path, cgroup).toBeDefined();
    const limit = await readFile(join('/sys/fs/cgroup/memory', path!, 'memory.limit_in_bytes'), 'utf8');
    expect(Number(limit.trim())).toBe(128 * MiB);
  });

  it('a syntax error and a schema error change nothing and are reported with file:line', async () => {
    const before = await pids();
    const good = await readFile(sb.configPath, 'utf8');
    let mark = output.length;
    await writeFile(sb.configPath, `${good}\n  - name: [broken\n`);
    await until('syntax error reported', async () => since(mark).includes('config.yaml not applied'));
    expect(since(mark)).toMatch(/config\.yaml:\d+:\d+: /);
    mark = output.length;
    await editConfig(
      (doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'restart'], 'sometimes'),
      'rename',
      good,
    );
    await until('schema error reported', async () => since(mark).includes('config.yaml not applied'));
    expect(since(mark)).toMatch(/config\.yaml:\d+:\d+: .*restart/);
    expect(await pids()).toEqual(before);
    // The next good save applies.
    mark = output.length;
    await editConfig((doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'restart'], 'always'), 'rename', good);
    await until('b restarted with the good save', async () =>
      since(mark).includes('restarted b (restart on-failure -> always)'),
    );
  });

  it('an unset variable and an image not pulled change nothing, and say where and what to run', async () => {
    const before = await pids();
    const good = await readFile(sb.configPath, 'utf8');
    let mark = output.length;
    await editConfig(
      (doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'config', 'TOKEN'], `\${III_LIVE_TEST_UNSET}`),
      'rename',
      good,
    );
    await until('unset variable reported', async () => since(mark).includes('config.yaml not applied'));
    expect(since(mark)).toMatch(
      /config\.yaml:\d+:\d+: worker "b": config key TOKEN uses \$\{III_LIVE_TEST_UNSET\}, which is not set \(iii read its environment once, at start/,
    );
    mark = output.length;
    await editConfig(
      (doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'image'], 'localhost:9/not-pulled:1'),
      'rename',
      good,
    );
    await until('unpulled image reported', async () => since(mark).includes('config.yaml not applied'));
    expect(since(mark)).toMatch(
      /config\.yaml:\d+:\d+: worker "b": localhost:9\/not-pulled:1 is not pinned in iii\.lock .*run `iii worker add localhost:9\/not-pulled:1 --name b --force`/,
    );
    expect(await pids()).toEqual(before);
    // Back to what runs: nothing to change, nothing restarted.
    await writeFile(sb.configPath, good);
    expect((await ok('reload')).stderr).toContain('Nothing to change');
    expect(await pids()).toEqual(before);
  });

  it('worker add while iii runs starts the worker and waits until it has connected', async () => {
    const before = await pids();
    const r = await ok('worker', 'add', ref, '--name', 'd');
    expect(r.stderr).toMatch(/Worker "d" started \(pid \d+\) and connected to the engine in \d+\.\ds\./);
    const rows = await list();
    expect(rows.find((w) => w.name === 'd')).toMatchObject({ status: 'running', connected: true });
    for (const name of ['a', 'b', 'c']) expect(rows.find((w) => w.name === name)?.pid).toBe(before[name]);
  });

  it('worker add --timeout gives up waiting for a worker that never connects, and leaves it running', async () => {
    const quiet = (await busybox()).ref; // logs a line a second, never dials the engine
    const r = await iii(sb, ['worker', 'add', quiet, '--name', 'quiet', '--timeout', '2s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/worker "quiet" has not connected to the engine after 2s \(status: running\)/);
    expect((await list()).find((w) => w.name === 'quiet')?.status).toBe('running');
    await ok('worker', 'remove', 'quiet', '-y');
  });

  it('removing an entry by hand stops its worker', async () => {
    const before = await pids();
    const mark = output.length;
    await editConfig((doc) => doc.deleteIn(['workers', indexOf(doc, 'c')]), 'in place');
    await until('c stopped', async () => since(mark).includes('stopped c (removed from config.yaml)'));
    await until('c gone', async () => (await list()).every((w) => w.name !== 'c'));
    const sleeping = await readFile(`/proc/${before.c}/stat`, 'utf8').catch(() => undefined);
    expect(sleeping).toBeUndefined();
    const now = await pids();
    for (const name of ['a', 'b', 'd']) expect(now[name]).toBe(before[name]);
  });

  it('twenty workers and one changed: nineteen keep their pids', async () => {
    // Seventeen more entries beside a, b and d, pinned like a (written by hand, as a user might).
    const config = parse(await readFile(sb.configPath, 'utf8'));
    const lock = parse(await readFile(sb.lockPath, 'utf8'));
    const a = config.workers.find((w: { name: string }) => w.name === 'a');
    for (let i = 1; i <= 17; i++) {
      const name = `w${String(i).padStart(2, '0')}`;
      config.workers.push({ ...a, name, resources: { memory: '64Mi' } });
      lock.workers[name] = lock.workers.a;
    }
    await writeFile(sb.lockPath, stringify(lock, { aliasDuplicateObjects: false }));
    await writeFile(sb.configPath, stringify(config, { aliasDuplicateObjects: false }));
    const names = config.workers.map((w: { name: string }) => w.name);
    expect(names).toHaveLength(20);
    const before = await allConnected(names);
    const mark = output.length;
    await editConfig((doc) => doc.setIn(['workers', indexOf(doc, 'w09'), 'config', 'FOO'], 'x'), 'rename');
    const after = await until('w09 restarted', async () => {
      const now = await pids();
      return now.w09 !== before.w09 && now.w09 ? now : undefined;
    });
    const unchanged = names.filter((n: string) => after[n] === before[n]);
    expect(unchanged).toHaveLength(19);
    expect(since(mark).match(/^(started|restarted|stopped|updated) /gm)).toEqual(['restarted ']);
  }, 240_000);

  it('with --no-watch, edits wait: list says `config changed`, and `iii reload` applies them', async () => {
    await stopIii();
    await writeFile(
      sb.configPath,
      stringify({
        workers: parse(await readFile(sb.configPath, 'utf8')).workers.filter((w: { name: string }) =>
          ['a', 'b'].includes(w.name),
        ),
      }),
    );
    await startIii('--no-watch');
    expect(output).toContain('not watching config.yaml (--no-watch)');
    const before = await allConnected(['a', 'b']);
    await editConfig((doc) => doc.setIn(['workers', indexOf(doc, 'a'), 'config', 'FOO'], 'later'), 'rename');
    const text = await until('a marked', async () => {
      const r = await ok('worker', 'list');
      return /^a\s.*running, config changed/m.test(r.stdout) ? r.stdout : undefined;
    });
    expect(text).not.toMatch(/^b\s.*config changed/m);
    expect(await pids()).toEqual(before);
    const reload = await ok('reload');
    expect(reload.stderr).toContain('restarted a (config: FOO added)');
    const after = await pids();
    expect(after.a).not.toBe(before.a);
    expect(after.b).toBe(before.b);
    expect((await list()).find((w) => w.name === 'a')?.configChanged).toBeNull();
    expect((await ok('reload')).stderr).toContain('Nothing to change');
    // SIGHUP to iii converges as `iii reload` does.
    const mark = output.length;
    await editConfig((doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'config', 'FOO'], 'hup'), 'in place');
    engine?.kill('SIGHUP');
    await until('b restarted on SIGHUP', async () =>
      since(mark).includes('restarted b (config: FOO changed)'),
    );
    const hup = await pids();
    expect(hup.b).not.toBe(before.b);
    expect(hup.a).toBe(after.a);
  }, 120_000);

  it('engine.watch: false in config.yaml turns the watcher off as --no-watch does', async () => {
    await stopIii();
    await editConfig((doc) => doc.setIn(['engine', 'watch'], false), 'in place');
    await startIii();
    expect(output).toContain('not watching config.yaml (engine.watch: false)');
    const before = await allConnected(['a', 'b']);
    await editConfig((doc) => doc.setIn(['workers', indexOf(doc, 'b'), 'config', 'FOO'], 'off'), 'rename');
    await until('b marked', async () =>
      /^b\s.*running, config changed/m.test((await ok('worker', 'list')).stdout) ? true : undefined,
    );
    expect(await pids()).toEqual(before);
  }, 120_000);
});
