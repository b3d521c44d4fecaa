// What a Docker user types first, through the built `iii`: exec -it/-i/-t, stop/start/restart/logs of
// several names, logs --tail all, list -q and --format, version and -v. Real runc, the busybox fixture.
import { type ChildProcess, spawn } from 'node:child_process';
import { busybox } from '@iii/tools/fixtures';
import { freePort, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iiiOnTerminal } from './terminal.js';
import { until } from './until.ts';
import { bin, iii, makeSandbox, type Sandbox } from './worker-harness.js';

describe('version', () => {
  it('`iii version` and `iii -v` print what `iii --version` prints', async () => {
    const sb = await makeSandbox();
    try {
      const long = await iii(sb, ['--version']);
      expect(long.code).toBe(0);
      expect(long.stdout).toMatch(/^@iii\/cli\/\d+\.\d+\.\d+\S* linux-\S+ node-v\d+/);
      for (const args of [['version'], ['-v']]) {
        const r = await iii(sb, args);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout, args.join(' ')).toBe(long.stdout);
      }
      const json = JSON.parse((await iii(sb, ['version', '--json'])).stdout) as { version: string };
      expect(long.stdout).toContain(`/${json.version} `);
    } finally {
      await sb.remove();
    }
  });
});

describe('docker habits on running workers', () => {
  let sb: Sandbox;
  let engine: ChildProcess | undefined;
  let engineExit: Promise<unknown> | undefined;

  const statuses = async () => {
    const r = await iii(sb, ['worker', 'list', '--format', '{{.Name}}={{.Status}}']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  /** Runs `iii` with `input` on its stdin (a pipe) and resolves with its stdout. */
  const piping = (args: string[], input: string) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: sb.cwd, env: sb.env });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', reject);
      child.once('close', () => resolve(out));
      child.stdin.end(input);
    });

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'script']);
    const b = await busybox();
    sb = await makeSandbox();
    const image = `oci-layout:${b.layout}:${b.tag}`;
    for (const name of ['a', 'b']) {
      const added = await iii(sb, ['worker', 'add', image, '--name', name]);
      expect(added.code, added.stderr).toBe(0);
    }
    const port = await freePort();
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      cwd: sb.cwd,
      env: sb.env,
      stdio: 'ignore',
    });
    const child = engine;
    engineExit = new Promise((resolve) => child.once('exit', resolve));
    await until('a and b running', async () => (await statuses()) === 'a=running\nb=running\n');
    // Each has printed a line or two of its loop.
    await until('output of a and b', async () => {
      const r = await iii(sb, ['worker', 'logs', 'a', 'b', '--tail', 'all']);
      return /^a \| busybox-worker line 1$/m.test(r.stdout) && /^b \| busybox-worker line 1$/m.test(r.stdout);
    });
  });

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await engineExit;
    }
    await sb?.remove();
  });

  it('list -q prints the names only; --format prints fields or JSON per worker', async () => {
    const q = await iii(sb, ['worker', 'list', '-q']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toBe('a\nb\n');
    expect(q.stderr).toBe('');

    const json = await iii(sb, ['worker', 'list', '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; status: string; pid: number | null });
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
    ]);
    expect(rows[0]!.pid).toBeGreaterThan(0);

    const table = await iii(sb, ['worker', 'list', '--format', 'table {{.Name}}\\t{{.Status}}']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe('NAME   STATUS\na      running\nb      running\n');

    const inspect = await iii(sb, ['worker', 'inspect', 'a', '--format', '{{.Name}}\\t{{.Run.Status}}']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toBe('a\trunning\n');
  });

  it('an unknown --format field is one line naming the valid ones, exit 2', async () => {
    const r = await iii(sb, ['worker', 'list', '--format', '{{.Name}} {{.State}}']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const first = r.stderr.split('\n')[0]!;
    expect(first).toMatch(/^Error: unknown field "\.State" in --format; valid fields: \.Name, \.Image, /);
    expect(first).toContain('.Status');
    const both = await iii(sb, ['worker', 'list', '-q', '--json']);
    expect(both.code).toBe(2);
  });

  it('exec -it gives an interactive shell on a terminal', async () => {
    const r = await iiiOnTerminal(['worker', 'exec', '-it', 'a', 'sh'], {
      cwd: sb.cwd,
      env: sb.env,
      input: 'tty; echo "sum=$((40 + 2))"; echo "term=$TERM"; exit 3\n',
    });
    expect(r.code, r.output).toBe(3);
    expect(r.output).toMatch(/^\/dev\/pts\/\d+$/m);
    expect(r.output).toMatch(/^sum=42$/m);
    // The image sets no TERM: the terminal gets xterm, as with docker exec -t.
    expect(r.output).toMatch(/^term=xterm$/m);
  });

  it('exec -t alone has a terminal, -i alone and no terminal at all do not', async () => {
    const t = await iiiOnTerminal(['worker', 'exec', '-t', 'a', 'tty'], { cwd: sb.cwd, env: sb.env });
    expect(t.code, t.output).toBe(0);
    expect(t.output).toMatch(/^\/dev\/pts\/\d+$/m);

    const i = await iiiOnTerminal(['worker', 'exec', '-i', 'a', 'tty'], { cwd: sb.cwd, env: sb.env });
    expect(i.code, i.output).toBe(1);
    expect(i.output).toMatch(/^not a tty$/m);

    // Off a terminal: no terminal, stdin passed through, the command's flags are its own.
    const piped = await iii(sb, ['worker', 'exec', 'a', 'sh', '-c', 'tty; ls -a /app']);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/^not a tty\n/);
    expect(piped.stdout).toMatch(/^data$/m);
    // -i passes stdin (also the default); --no-interactive gives the command an empty one.
    expect(await piping(['worker', 'exec', '-i', 'a', 'cat'], 'fed through\n')).toBe('fed through\n');
    expect(await piping(['worker', 'exec', '--no-interactive', 'a', 'cat'], 'not read\n')).toBe('');
    const noInput = await iii(sb, ['worker', 'exec', '-t', 'a', 'tty']);
    expect(noInput.code).toBe(1);
    expect(noInput.stderr).toMatch(/^Error: A terminal was requested for exec, but stdin is not a terminal/);
  });

  it('logs of several workers prefixes each line with its name; --tail takes a number or all', async () => {
    const two = await iii(sb, ['worker', 'logs', 'a', 'b', '--tail', '2']);
    expect(two.code, two.stderr).toBe(0);
    const lines = two.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('a | busybox-worker line '))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('b | busybox-worker line '))).toHaveLength(2);

    const all = await iii(sb, ['worker', 'logs', 'a', '--tail', 'all']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.split('\n')[0]).toBe('busybox-worker: started greeting=hello');

    const missing = await iii(sb, ['worker', 'logs', 'a', 'nope', '-n', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^a {4}\| busybox-worker line \d+\n$/);
    expect(missing.stderr).toBe('Error: no worker named "nope" in config.yaml\n');
  });

  it('stop, start and restart take several names; one that fails does not stop the others', async () => {
    const stopped = await iii(sb, ['worker', 'stop', 'a', 'b', '--timeout', '2s']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr.trimEnd().split('\n').sort()).toEqual(['Stopped a.', 'Stopped b.']);
    expect(await statuses()).toBe('a=stopped\nb=stopped\n');

    const started = await iii(sb, ['worker', 'start', 'a', 'nope', 'b', '--json']);
    expect(started.code).toBe(1);
    const lines = started.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines).toContain('Error: no worker named "nope" in config.yaml');
    expect(
      lines.filter((l) => /^Started [ab]( \(pid \d+\))?\.$/.test(l)),
      started.stderr,
    ).toHaveLength(2);
    const { results } = JSON.parse(started.stdout) as {
      results: { name: string; error: { code: string } | null; started?: boolean }[];
    };
    expect(results.map((r) => [r.name, r.error?.code ?? null, r.started ?? null])).toEqual([
      ['a', null, true],
      ['nope', 'WORKER_NOT_FOUND', null],
      ['b', null, true],
    ]);
    await until('a and b running again', async () => (await statuses()) === 'a=running\nb=running\n');

    const restarted = await iii(sb, ['worker', 'restart', 'a', 'b', '--timeout', '2s']);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stderr.trimEnd().split('\n')).toHaveLength(2);
    await until(
      'a and b running after the restart',
      async () => (await statuses()) === 'a=running\nb=running\n',
    );
  });
});
