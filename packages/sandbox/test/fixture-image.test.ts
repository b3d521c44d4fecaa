import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, type SandboxImageConfig, type Worker } from '../src/index.js';

const run = promisify(execFile);

interface BusyboxFixture {
  layout: string;
  tag: string;
}

// The fixture builders are test tooling outside this package's type graph; only this shape is used.
const fixturesModule = '@iii/tools/fixtures';

let scratch: string;
let rootfs: string;
let imageConfig: SandboxImageConfig;
let sandbox: Sandbox;

beforeAll(async () => {
  const { busybox } = (await import(fixturesModule)) as { busybox: () => Promise<BusyboxFixture> };
  const fx = await busybox();
  scratch = await mkdtemp(join(tmpdir(), 'iii-sandbox-fixture-'));
  rootfs = join(scratch, 'rootfs');
  // Unpacked by umoci, a peer tool, so this checks the sandbox against an image it did not make.
  await run('umoci', ['raw', 'unpack', '--image', `${fx.layout}:${fx.tag}`, rootfs]).catch((err: Error) => {
    throw new Error(`umoci failed (apt-get install -y umoci): ${err.message}`);
  });
  const { stdout } = await run('skopeo', ['inspect', '--config', `oci:${fx.layout}:${fx.tag}`]);
  imageConfig = JSON.parse(stdout) as SandboxImageConfig;
  sandbox = await Sandbox.open({ stateDir: join(scratch, 'state'), runtime: 'runc', strictRuntime: true });
});

afterAll(async () => {
  await sandbox?.stopAll({ timeoutMs: 1000 });
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function waitForLine(worker: Worker, pred: (line: string) => boolean): Promise<string> {
  const ac = new AbortController();
  for await (const l of worker.logs({ follow: true, signal: ac.signal, pollMs: 20 })) {
    if (pred(l.line)) {
      ac.abort();
      return l.line;
    }
  }
  throw new Error('log ended');
}

describe('the busybox fixture image (built by buildah, unpacked by umoci)', () => {
  it('runs with the env, cwd and user the spec says and stops gracefully on SIGTERM', async () => {
    const engineUrl = 'ws://127.0.0.1:45678';
    const w = await sandbox.start({
      name: 'busybox-fixture',
      imageRootfs: rootfs,
      imageConfig,
      engineUrl,
      config: { GREETING: 'from-config' },
    });
    expect(await waitForLine(w, (l) => l.includes('started'))).toBe(
      'busybox-worker: started greeting=from-config',
    );
    const env = (await w.exec({ args: ['cat', '/tmp/env.txt'] })).stdout!.split('\n');
    expect(env).toEqual(
      expect.arrayContaining([
        'GREETING=from-config',
        'LOG_LEVEL=info',
        'PATH=/bin:/usr/bin',
        'HOME=/root',
        'III_WORKER_NAME=busybox-fixture',
        `III_URL=${engineUrl}`,
        `III_ENGINE_URL=${engineUrl}`,
      ]),
    );
    // The worker's own process (the child of the init, pid 1): cwd from WORKDIR, root as the image
    // has no USER; the init runs the same argv after `--`, in the same place, as the same user.
    const ps = (await w.exec({ args: ['ps', '-o', 'pid,ppid'] })).stdout!.trim().split('\n').slice(1);
    const children = ps.map((l) => l.trim().split(/\s+/)).filter((p) => p[1] === '1');
    expect(children).toHaveLength(1);
    const worker = children[0]![0];
    for (const pid of [1, worker]) {
      expect((await w.exec({ args: ['readlink', `/proc/${pid}/cwd`] })).stdout).toBe('/app\n');
      expect((await w.exec({ args: ['stat', '-c', '%u:%g', `/proc/${pid}`] })).stdout).toBe('0:0\n');
    }
    expect((await w.exec({ args: ['cat', '/proc/1/cmdline'] })).stdout?.split('\0').slice(0, 3)).toEqual([
      '/dev/init',
      '--',
      '/usr/local/bin/iii-worker.sh',
    ]);
    expect((await w.exec({ args: ['cat', `/proc/${worker}/cmdline`] })).stdout?.split('\0')[1]).toBe(
      '/usr/local/bin/iii-worker.sh',
    );
    const final = await w.stop({ timeoutMs: 30_000 });
    expect(final).toMatchObject({ status: 'stopped', exitCode: 0 });
    expect(await waitForLine(w, (l) => l.includes('stopping'))).toBe('busybox-worker: stopping');
  });
});
