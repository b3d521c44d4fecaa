// What the CLI says where it used to say nothing or something raw: logs of a worker that never ran,
// exec of a missing command or worker, progress on a terminal without a width.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { busybox, crashingImage } from '@iii/tools/fixtures';
import { freePort, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iiiOnTerminal } from './terminal.js';
import { until } from './until.ts';
import { bin, iii, makeSandbox, type Sandbox } from './worker-harness.js';

let image: string;
beforeAll(async () => {
  requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'script']);
  const b = await busybox();
  image = `oci-layout:${b.layout}:${b.tag}`;
});

describe('progress on a terminal', () => {
  const sandboxes: Sandbox[] = [];
  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.remove()));
  });

  it('falls back to plain lines when the terminal reports 0 columns', async () => {
    const sb = await makeSandbox();
    sandboxes.push(sb);
    const r = await iiiOnTerminal(['worker', 'add', image, '--name', 'narrow'], {
      cwd: sb.cwd,
      env: sb.env,
      columns: 0,
    });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^[0-9a-f]{12}: pulled \S+ \S+ in \d+\.\ds$/m);
    expect(r.output).not.toContain('\x1b[2K');
    expect(r.output).toMatch(/Added worker "narrow"/);
  });

  it('draws bars on a terminal with a width', async () => {
    const sb = await makeSandbox();
    sandboxes.push(sb);
    const r = await iiiOnTerminal(['worker', 'add', image, '--name', 'wide'], {
      cwd: sb.cwd,
      env: sb.env,
      columns: 100,
    });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/\x1b\[2K[0-9a-f]{12}: Pull complete/);
  });
});

describe('logs and exec say what is wrong', () => {
  let sb: Sandbox;
  let engine: ChildProcess | undefined;
  let engineExit: Promise<unknown> | undefined;

  beforeAll(async () => {
    sb = await makeSandbox();
    const added = await iii(sb, ['worker', 'add', image, '--name', 'bb']);
    expect(added.code, added.stderr).toBe(0);
  });

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await engineExit;
    }
    await sb?.remove();
  });

  it('says a worker that never started has no output yet (exit 0)', async () => {
    const r = await iii(sb, ['worker', 'logs', 'bb']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Worker "bb" has not started yet, so it has no output\./);
  });

  it('exec with iii stopped says to start iii', async () => {
    const r = await iii(sb, ['worker', 'exec', 'bb', '--', 'true']);
    expect(r.code).toBe(1);
    // The message names the project (its config.yaml) that has no iii running.
    expect(r.stderr).toBe(
      `Error: iii is not running for ${sb.configPath}\nStart it with \`iii\` (or \`iii start\`) in another terminal, then try again.\n`,
    );
  });

  it('exec of a worker config.yaml does not have says so, with iii stopped or running', async () => {
    const stopped = await iii(sb, ['worker', 'exec', 'nope', '--', 'true']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/^Error: no worker named "nope" in config\.yaml\n/);

    const port = await freePort();
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      cwd: sb.cwd,
      env: sb.env,
      stdio: 'ignore',
    });
    const child = engine;
    engineExit = new Promise((resolve) => child.once('exit', resolve));
    await until('bb running', async () => {
      const r = await iii(sb, ['worker', 'exec', 'bb', '--', 'true']);
      return r.code === 0;
    });
    const running = await iii(sb, ['worker', 'exec', 'nope', '--', 'true']);
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/^Error: no worker named "nope" in config\.yaml\n/);
    expect(running.stderr).not.toMatch(/worker start/);
  });

  it('exec of a command that is not in the worker says so and exits 127', async () => {
    const r = await iii(sb, ['worker', 'exec', 'bb', '--', 'no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: executable "no-such-command" not found in the worker's PATH`,
    );
    expect(r.stderr).not.toMatch(/level=error|exec failed|container process/);
    const abs = await iii(sb, ['worker', 'exec', 'bb', '--', '/no/such/file']);
    expect(abs.code).toBe(127);
    expect(abs.stderr.split('\n')[0]).toBe('Error: executable "/no/such/file" not found in the worker');
  });

  it('says the same on a terminal', async () => {
    const r = await iiiOnTerminal(['worker', 'exec', 'bb', '--', 'no-such-command'], {
      cwd: sb.cwd,
      env: sb.env,
    });
    expect(r.code, r.output).toBe(127);
    expect(r.output).toContain(`Error: executable "no-such-command" not found in the worker's PATH`);
    expect(r.output).not.toMatch(/level=error|exec failed/);
  });

  it("passes the command's own stderr through unchanged", async () => {
    const r = await iii(sb, [
      'worker',
      'exec',
      'bb',
      '--',
      'sh',
      '-c',
      'printf "time=1 exec failed\\n" >&2; exit 3',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('time=1 exec failed\n');
  });

  it('says nothing of a worker that runs and has printed nothing yet: it has started', async () => {
    const quiet = await crashingImage((await busybox()).ref, join(sb.cwd, 'quiet-layout'), 'exec sleep 600');
    const added = await iii(sb, ['worker', 'add', quiet, '--name', 'quiet', '--no-wait']);
    expect(added.code, added.stderr).toBe(0);
    // iii runs (the exec tests started it) and starts the worker added meanwhile.
    await until('quiet running', async () => {
      const r = await iii(sb, ['worker', 'list', '--json']);
      const rows = JSON.parse(r.stdout) as { workers: { name: string; status: string }[] };
      return rows.workers.find((w) => w.name === 'quiet')?.status === 'running';
    });
    const r = await iii(sb, ['worker', 'logs', 'quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/has not started/);
  });

  it('exec of a configured worker that iii does not run says to start that worker', async () => {
    const stopped = await iii(sb, ['worker', 'stop', 'bb', '--timeout', '2s']);
    expect(stopped.code, stopped.stderr).toBe(0);
    const r = await iii(sb, ['worker', 'exec', 'bb', '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: worker "bb" is not running (no running sandbox)\nStart it with `iii worker start bb`.\n',
    );
  });
});
