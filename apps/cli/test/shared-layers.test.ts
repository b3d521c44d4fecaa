// Workers of images on a common base share its unpacked layers: each layer is a snapshot keyed by
// chain ID, stacked by overlayfs under the worker's own upper layer. Two images built with buildah
// on the busybox fixture (one adds a file; one deletes a base file, a whiteout, and replaces a
// directory, an opaque one), pulled from a real registry, run at once with runc.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildToLayout, busybox } from '@iii/tools/fixtures';
import {
  freePort,
  requireTools,
  runCommand,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Paths the runtime creates in a worker's root as mount points, and what the worker writes. */
const RUNTIME_PATHS = /^(?:\S+ )(?:proc|sys|dev|etc\/hosts|etc\/resolv\.conf|tmp\/env\.txt)(?:\/| |$)/;

/** Type, path, mode, owner, link target and content hash of every entry below `root`. */
function listing(root: string, mtimes = false): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(abs);
      const type = st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFile()
            ? 'file'
            : 'other';
      const parts = [type, path, (st.mode & 0o7777).toString(8), `${st.uid}:${st.gid}`];
      if (type === 'symlink') parts.push(fs.readlinkSync(abs));
      if (type === 'file') parts.push(createHash('sha256').update(fs.readFileSync(abs)).digest('hex'));
      if (type === 'other') parts.push(`rdev=${st.rdev}`);
      if (mtimes) parts.push(String(st.mtimeMs));
      out.push(parts.join(' '));
      if (type === 'dir') walk(abs, path);
    }
  };
  walk(root, '');
  return out;
}

describe('workers share the layers of a common base (overlayfs, runc, registry)', () => {
  let registry: TestRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let output = '';
  const refs = { adds: '', deletes: '' };

  const iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await iii(...args);
    expect(r.code, `iii ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const snapshots = () => join(dir, 'home', 'snapshots');
  const snapshotIds = () =>
    fs
      .readdirSync(snapshots())
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .sort();

  /** An image FROM the busybox fixture with one more layer made by `run`, pushed as `name`. */
  async function derived(name: string, run: string): Promise<string> {
    const base = await busybox();
    const layout = join(dir, `${name}-layout`);
    await buildToLayout(`oci:${layout}:latest`, {
      files: { Containerfile: { text: `FROM localhost/iii-test/base:latest\nRUN ${run}\n` } },
      image: `iii-test/${name}:latest`,
      budExtra: ['--pull-never'],
      // The overlay driver writes a removed-and-recreated directory as opaque (`.wh..wh..opq`).
      driver: 'overlay',
      prepare: async (_context, storeRef) => {
        await skopeoCopy(base.ref, storeRef('localhost/iii-test/base:latest'));
      },
    });
    await skopeoCopy(`oci:${layout}:latest`, `docker://${registry.host}/iii/${name}:1`, {
      destRegistry: registry,
    });
    return `${registry.host}/iii/${name}:1`;
  }

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry', 'setfattr']);
    registry = await startRegistry({ flavor: 'plain' });
    dir = await mkdtemp(join(tmpdir(), 'iii-shared-layers-'));
    env = {
      ...process.env,
      III_HOME: join(dir, 'home'),
      III_CONFIG_PATH: join(dir, 'config.yaml'),
      CI: 'true',
      OTEL_ENABLED: 'false',
    };
    refs.adds = await derived('adds', 'echo added > /app/added.txt');
    refs.deletes = await derived(
      'deletes',
      'rm /app/message-link.txt && rm -rf /app/data/nested && mkdir -p /app/data/nested && echo new > /app/data/nested/new.txt',
    );
  }, 600_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await exited;
    }
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs both at once on shared snapshots, each seeing exactly its image, writes private', async () => {
    await ok('worker', 'add', refs.adds, '--name', 'adds');
    const base = snapshotIds();
    expect(base.length).toBe(5);
    await ok('worker', 'add', refs.deletes, '--name', 'deletes');
    // The second image costs only its own layer.
    const all = snapshotIds();
    expect(all.length).toBe(6);
    // The layers below the second image's own one are the first image's, unpacked once.
    const parentOf = (id: string): string | null =>
      JSON.parse(fs.readFileSync(join(snapshots(), id, 'snapshot.json'), 'utf8')).parent;
    const own = all.filter((id) => !base.includes(id));
    expect(own.length).toBe(1);
    const shared: string[] = [];
    for (let id = parentOf(own[0] as string); id; id = parentOf(id.replace(/^sha256:/, ''))) {
      shared.push(id.replace(/^sha256:/, ''));
    }
    expect(shared.length).toBe(4);
    expect(shared.every((id) => base.includes(id))).toBe(true);
    const before = new Map(shared.map((id) => [id, listing(join(snapshots(), id), true)]));

    const port = await freePort();
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], { env, cwd: dir });
    engine.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const started = engine;
    exited = new Promise((resolve) => started.once('exit', (code) => resolve(code)));
    await until('both workers running', async () => {
      const r = await iii('worker', 'list', '--json');
      const rows = r.code === 0 ? (JSON.parse(r.stdout) as { workers: { status: string }[] }).workers : [];
      return rows.length === 2 && rows.every((w) => w.status === 'running');
    });
    expect(output).not.toMatch(/merged copy/);

    for (const name of ['adds', 'deletes'] as const) {
      const inspect = JSON.parse(await ok('worker', 'inspect', name, '--json'));
      expect(inspect.run.rootfs).toMatch(/merged$/);
      // The worker's root as the kernel stacks it, against umoci's unpack of the same image.
      const layout = join(dir, `${name}-umoci`);
      await runCommand('skopeo', [
        'copy',
        '--quiet',
        `oci:${join(dir, `${name}-layout`)}:latest`,
        `oci:${layout}:i`,
      ]);
      await runCommand('umoci', ['unpack', '--image', `${layout}:i`, join(dir, `${name}-bundle`)]);
      const theirs = listing(join(dir, `${name}-bundle`, 'rootfs')).filter((l) => !RUNTIME_PATHS.test(l));
      const ours = listing(inspect.run.rootfs).filter((l) => !RUNTIME_PATHS.test(l));
      expect(ours).toEqual(theirs);
    }
    expect(fs.existsSync(join(dir, 'adds-bundle/rootfs/app/added.txt'))).toBe(true);
    expect(fs.existsSync(join(dir, 'deletes-bundle/rootfs/app/message-link.txt'))).toBe(false);
    expect(fs.readdirSync(join(dir, 'deletes-bundle/rootfs/app/data/nested'))).toEqual(['new.txt']);

    // Inside the sandboxes: the whiteout and the opaque directory hold, and writes stay private.
    expect(await ok('worker', 'exec', 'deletes', '--', 'ls', '/app/data/nested')).toBe('new.txt\n');
    expect((await iii('worker', 'exec', 'deletes', '--', 'cat', '/app/message-link.txt')).code).not.toBe(0);
    expect((await ok('worker', 'exec', 'adds', '--', 'cat', '/app/message-link.txt')).length).toBeGreaterThan(
      0,
    );
    await ok('worker', 'exec', 'adds', '--', 'sh', '-c', 'echo mine > /app/data/nested/deep/message.txt');
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/data/nested/deep/message.txt')).toBe(
      'mine\n',
    );
    expect(
      (await iii('worker', 'exec', 'deletes', '--', 'cat', '/app/data/nested/deep/message.txt')).code,
    ).not.toBe(0);
    await ok('worker', 'exec', 'deletes', '--', 'sh', '-c', 'echo theirs > /app/added.txt');
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/added.txt')).toBe('added\n');

    // The shared snapshots are byte for byte what they were before both ran and wrote.
    for (const id of shared) expect(listing(join(snapshots(), id), true)).toEqual(before.get(id));

    // inspect tells the shared layers from the image's own.
    const layers = JSON.parse(await ok('worker', 'inspect', 'deletes', '--json')).layers as {
      shared: boolean;
    }[];
    expect(layers.map((l) => l.shared)).toEqual([true, true, true, true, false]);
    expect(await ok('worker', 'inspect', 'deletes')).toMatch(
      /^Layers:\s+5 unpacked: 4 shared with other images/m,
    );

    // Removing one worker: prune frees its own layer, and keeps every layer the running one uses.
    await ok('worker', 'remove', 'deletes', '--yes');
    const dry = JSON.parse(await ok('worker', 'prune', '--dry-run', '--json'));
    expect(dry).toMatchObject({ snapshots: 1, dryRun: true });
    expect(snapshotIds()).toEqual(all);
    const pruned = JSON.parse(await ok('worker', 'prune', '--yes', '--json'));
    expect(pruned).toMatchObject({ snapshots: 1, dryRun: false });
    expect(pruned.freed).toBeGreaterThan(0);
    expect(snapshotIds()).toEqual(base);
    for (const id of shared) expect(listing(join(snapshots(), id), true)).toEqual(before.get(id));
    const df = JSON.parse(await ok('system', 'df', '--json'));
    expect(df.snapshots.count).toBe(5);
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/added.txt')).toBe('added\n');
  }, 600_000);
});
