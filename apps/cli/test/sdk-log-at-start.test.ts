// A worker that logs through the engine before `iii` knows the pid of its sandbox (a loaded host)
// still finds its lines in `iii worker logs`. The host is made slow where it matters: a runc whose
// pid file appears 3 s after the container started, so the worker runs, connects and logs while
// `iii` cannot yet tell which processes are its. Real runc, the official iii-sdk.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushFixture } from '@iii/tools/fixtures';
import { freePort, requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './until.ts';
import { bin, iii, makeSandbox, type Sandbox } from './worker-harness.js';

/** runc, except that the pid file of `runc run` is written `delay` seconds late. */
function lateRunc(realRunc: string, delay: number): string {
  return `#!/bin/bash
args=() pidfile= run=
while [ $# -gt 0 ]; do
  case "$1" in
    run) run=1; args+=("$1"); shift ;;
    --pid-file)
      if [ -n "$run" ]; then pidfile=$2; args+=("$1" "$2.late"); else args+=("$1" "$2"); fi
      shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -n "$pidfile" ]; then
  ( sleep ${delay}; cp "$pidfile.late" "$pidfile.tmp" 2>/dev/null && mv "$pidfile.tmp" "$pidfile" ) &
fi
exec ${realRunc} "\${args[@]}"
`;
}

describe('lines a worker logs before iii knows its pid (runc, official iii-sdk)', () => {
  let registry: TestRegistry;
  let sb: Sandbox;
  let engine: ChildProcess | undefined;
  let exited: Promise<number | null> | undefined;
  let output = '';

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    const realRunc = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', 'command -v runc'], (err, stdout) =>
        err ? reject(err) : resolve(stdout.trim()),
      ),
    );
    sb = await makeSandbox({ OTEL_ENABLED: 'false' });
    // Named runc, so that iii drives it as runc.
    const runc = join(sb.root, 'runc');
    await writeFile(runc, lateRunc(realRunc, 3));
    await chmod(runc, 0o755);
    sb.env.III_RUNTIME = runc;
    const added = await iii(sb, ['worker', 'add', `${registry.host}/iii/node-worker:1`, '--name', 'nw']);
    expect(added.code, added.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await exited;
    }
    await registry?.stop();
    await sb?.remove();
  });

  it('keeps a line logged while the worker is still starting, and says the worker runs', async () => {
    const port = await freePort();
    const started = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      env: sb.env,
      cwd: sb.cwd,
    });
    engine = started;
    started.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => started.once('exit', (code) => resolve(code)));

    // The worker's function answers before iii has the pid of its sandbox.
    const logged = await until('node-worker::log to answer', async () => {
      const r = await iii(sb, [
        'trigger',
        'node-worker::log',
        'message=logged-while-starting',
        '--timeout',
        '5s',
      ]);
      return r.code === 0 ? r : undefined;
    });
    expect(logged.stdout).toContain('"logged": true');
    const listed = await iii(sb, ['worker', 'list', '--json']);
    const row = (JSON.parse(listed.stdout) as { workers: { name: string; pid?: number | null }[] })
      .workers[0];
    expect(row).toMatchObject({ name: 'nw' });
    expect(
      row?.pid ?? null,
      'the slow runc must keep the pid unknown this long: the test is void otherwise',
    ).toBeNull();

    // Before iii knew the pid, nothing could tell whose the line was, and it was dropped.
    const logs = await until(
      'the line in the worker log',
      async () => {
        // A warning is a line of its stderr, which `worker logs` prints on stderr.
        const r = await iii(sb, ['worker', 'logs', 'nw']);
        return r.stderr.includes('logged-while-starting') ? r : undefined;
      },
      30_000,
    ).catch(() => undefined);
    expect(logs?.stderr ?? '', `the line is not in the log; iii said:\n${output}`).toMatch(
      /\[warn\] logged-while-starting/,
    );
    expect(output).not.toMatch(/dropped SDK log lines/);
  });
});
