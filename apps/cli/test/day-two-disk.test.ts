// Where the disk goes, through the built `iii` and runc: `iii system df` against what du measures,
// `prune --dry-run`, and prune freeing the sandbox directories and logs of removed workers.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { busybox, crashingImage } from '@iii/tools/fixtures';
import { freePort, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxOf } from './project-paths.ts';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Df {
  home: string;
  total: number;
  store: { path: string; bytes: number; blobs: number };
  rootfs: { path: string; bytes: number };
  snapshots: { path: string; bytes: number; count: number };
  sandboxes: { path: string; bytes: number };
  other: { bytes: number };
  images: {
    digest: string;
    compressed: number;
    unpacked: number | null;
    shared: number;
    workers: string[];
    prunable: boolean;
  }[];
  workers: { name: string; bytes: number; logs: number; configured: boolean; prunable: boolean }[];
  reclaimable: { images: number; sandboxes: number; total: number };
}

/** `du -sb --one-file-system`: apparent bytes, as df measures them. */
async function du(path: string): Promise<number> {
  const { stdout } = await run('du', ['-sbx', path]);
  return Number(stdout.split('\t')[0]);
}

describe('iii system df and prune (runc, built iii)', () => {
  let dir: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess | undefined;

  const iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [bin, ...args], { env, cwd: dir }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
  const ok = async (...args: string[]): Promise<Result> => {
    const r = await iii(...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const df = async (): Promise<Df> => JSON.parse((await ok('system', 'df', '--json')).stdout) as Df;

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah']);
    dir = await mkdtemp(join(tmpdir(), 'iii-day-two-disk-'));
    home = join(dir, 'home');
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    env = { ...base, III_HOME: home, III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' };
    const source = (await busybox()).ref;
    const script = (v: string) => `trap "exit 0" TERM; echo ${v} up; while :; do sleep 0.2; done`;
    await ok('worker', 'add', await crashingImage(source, join(dir, 'a'), script('keep')), '--name', 'keep');
    await ok('worker', 'add', await crashingImage(source, join(dir, 'b'), script('gone')), '--name', 'gone');
    const port = await freePort();
    let output = '';
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      env,
      cwd: dir,
      stdio: 'pipe',
    });
    engine.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await until('both printed', async () => {
      const a = await iii('worker', 'logs', 'keep');
      const b = await iii('worker', 'logs', 'gone');
      return a.stdout.includes('keep up') && b.stdout.includes('gone up');
    });
    // The removed worker's logs are kept, so a directory of a worker config.yaml no longer has remains.
    await ok('worker', 'remove', 'gone', '-y', '--keep-logs');
    const exited = new Promise((r) => engine!.once('exit', r));
    engine.kill('SIGTERM');
    await exited;
    engine = undefined;
    expect(output).toContain('stopped');
  }, 300_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) engine.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('df adds up to what du measures, part by part', async () => {
    const d = await df();
    expect(d.home).toBe(home);
    expect(d.total).toBe(await du(home));
    expect(d.store.bytes).toBe(await du(join(home, 'store')));
    // Images are unpacked as shared layer snapshots; merged trees only where roots are copied.
    expect(d.rootfs.bytes).toBe(existsSync(join(home, 'rootfs')) ? await du(join(home, 'rootfs')) : 0);
    expect(d.snapshots.bytes).toBe(await du(join(home, 'snapshots')));
    expect(d.snapshots.count).toBeGreaterThan(0);
    expect(d.sandboxes.bytes).toBe(await du(join(sandboxOf(home, join(dir, 'config.yaml')), 'workers')));
    expect(d.store.bytes + d.rootfs.bytes + d.snapshots.bytes + d.sandboxes.bytes + d.other.bytes).toBe(
      d.total,
    );
    for (const w of d.workers) {
      expect(w.bytes).toBe(await du(join(sandboxOf(home, join(dir, 'config.yaml')), 'workers', w.name)));
      expect(w.logs).toBe(
        await du(join(sandboxOf(home, join(dir, 'config.yaml')), 'workers', w.name, 'logs')),
      );
    }
  });

  it('df shows each image (compressed, unpacked, shared) and worker, and what prune would free', async () => {
    const d = await df();
    expect(d.images).toHaveLength(2);
    const keep = d.images.find((i) => i.workers.includes('keep'))!;
    const gone = d.images.find((i) => i.workers.length === 0)!;
    // Two copies of one image with another command: every layer is shared.
    expect(keep.shared).toBeGreaterThan(0);
    // Unpacked: the image's layer snapshots, each counted whole (shared ones too).
    const layers = JSON.parse((await ok('worker', 'inspect', 'keep', '--json')).stdout).layers as {
      chainId: string;
    }[];
    let unpacked = 0;
    for (const l of layers) unpacked += await du(join(home, 'snapshots', l.chainId.slice(7)));
    expect(keep.unpacked).toBe(unpacked);
    expect(keep.prunable).toBe(false);
    expect(gone.prunable).toBe(true);
    expect(d.workers.map((w) => [w.name, w.configured, w.prunable])).toEqual([
      ['gone', false, true],
      ['keep', true, false],
    ]);
    expect(d.reclaimable.sandboxes).toBe(
      await du(join(sandboxOf(home, join(dir, 'config.yaml')), 'workers', 'gone')),
    );
    expect(d.reclaimable.images).toBeGreaterThan(0);
    expect(d.reclaimable.total).toBe(d.reclaimable.images + d.reclaimable.sandboxes);
    const text = await ok('system', 'df');
    expect(text.stdout).toMatch(/^total\s+\S+ \S+\s/m);
    expect(text.stdout).toContain('`iii worker prune` would free');

    const inspect = JSON.parse((await ok('worker', 'inspect', 'keep', '--json')).stdout) as {
      size: number;
      unpackedSize: number;
    };
    expect(inspect.size).toBe(keep.compressed);
    expect(inspect.unpackedSize).toBe(keep.unpacked);
  });

  it('prune --dry-run lists what prune frees and deletes nothing; prune frees it, sandbox and logs included', async () => {
    const before = await df();
    const dry = JSON.parse((await ok('worker', 'prune', '--dry-run', '--json')).stdout) as {
      freed: number;
      sandboxes: string[];
      dryRun: boolean;
    };
    expect(dry).toMatchObject({ freed: before.reclaimable.total, sandboxes: ['gone'], dryRun: true });
    expect((await df()).total).toBe(before.total);
    expect(existsSync(join(sandboxOf(home, join(dir, 'config.yaml')), 'workers', 'gone'))).toBe(true);

    const pruned = JSON.parse((await ok('worker', 'prune', '-y', '--json')).stdout) as { freed: number };
    expect(pruned.freed).toBe(before.reclaimable.total);
    expect(existsSync(join(sandboxOf(home, join(dir, 'config.yaml')), 'workers', 'gone'))).toBe(false);
    const after = await df();
    expect(after.reclaimable.total).toBe(0);
    expect(after.images.map((i) => i.workers)).toEqual([['keep']]);
    expect(after.total).toBe(await du(home));
    expect((await ok('worker', 'verify')).code).toBe(0);
  });
});
