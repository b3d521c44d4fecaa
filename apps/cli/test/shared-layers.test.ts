// Workers of images on a common base share its unpacked layers: each layer is a snapshot keyed by
// chain ID, stacked by overlayfs under the worker's own upper layer. Two images built with buildah
// on the busybox fixture (one adds a file; one deletes a base file, a whiteout, and replaces a
// directory, an opaque one), pulled from a real registry, run at once with runc.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageStore, unpackImage } from '@iii/oci';
import { buildToLayout, busybox } from '@iii/tools/fixtures';
import {
  createLocalUser,
  freePort,
  requireTools,
  runCommand,
  skopeoCopy,
  startRegistry,
  subordinateRange,
  type TestRegistry,
} from '@iii/tools/test-env';
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
} from './as-user.ts';
import { recordOf } from './project-paths.ts';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Paths the runtime creates in a worker's root as mount points, and what the worker writes. */
const RUNTIME_PATHS = /^(?:\S+ )(?:proc|sys|dev|etc\/hosts|etc\/resolv\.conf|tmp\/env\.txt)(?:\/| |$)/;

/** How {@link listing} walks: mtimes too, directories not to enter, host owners as the sandbox sees them. */
interface ListingOptions {
  mtimes?: boolean;
  /** Top-level directories listed but not entered (the runtime's mounts, seen through /proc/<pid>/root). */
  skip?: readonly string[];
  owner?: (uid: number, gid: number) => string;
}

/** Type, path, mode, owner, link target and content hash of every entry below `root`. */
function listing(root: string, options: ListingOptions | boolean = {}): string[] {
  const {
    mtimes = false,
    skip = [],
    owner = (u: number, g: number) => `${u}:${g}`,
  } = typeof options === 'boolean' ? { mtimes: options } : options;
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
      const parts = [type, path, (st.mode & 0o7777).toString(8), owner(st.uid, st.gid)];
      if (type === 'symlink') parts.push(fs.readlinkSync(abs));
      if (type === 'file') parts.push(createHash('sha256').update(fs.readFileSync(abs)).digest('hex'));
      if (type === 'other') parts.push(`rdev=${st.rdev}`);
      if (mtimes) parts.push(String(st.mtimeMs));
      out.push(parts.join(' '));
      if (type === 'dir' && !(rel === '' && skip.includes(name))) walk(abs, path);
    }
  };
  walk(root, '');
  return out;
}

/** The two images, built once for both modes, and where umoci unpacked them. */
let registry: TestRegistry;
let fixtures: string;
const refs = { adds: '', deletes: '' };
const names = ['adds', 'deletes'] as const;

/** An image FROM the busybox fixture with one more layer made by `run`, pushed as `name`. */
async function derived(name: string, run: string): Promise<string> {
  const base = await busybox();
  const layout = join(fixtures, `${name}-layout`);
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

/** umoci's unpack of an image (as root, with the image's owners): what its worker must see. */
async function umociRootfs(name: (typeof names)[number]): Promise<string> {
  const bundle = join(fixtures, `${name}-bundle`);
  if (fs.existsSync(bundle)) return join(bundle, 'rootfs');
  const layout = join(fixtures, `${name}-umoci`);
  await runCommand('skopeo', [
    'copy',
    '--quiet',
    `oci:${join(fixtures, `${name}-layout`)}:latest`,
    `oci:${layout}:i`,
  ]);
  await runCommand('umoci', ['unpack', '--image', `${layout}:i`, bundle]);
  return join(bundle, 'rootfs');
}

beforeAll(async () => {
  requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry', 'setfattr']);
  registry = await startRegistry({ flavor: 'plain' });
  fixtures = await mkdtemp(join(tmpdir(), 'iii-shared-layers-images-'));
  refs.adds = await derived('adds', 'echo added > /app/added.txt');
  refs.deletes = await derived(
    'deletes',
    'rm /app/message-link.txt && rm -rf /app/data/nested && mkdir -p /app/data/nested && echo new > /app/data/nested/new.txt',
  );
  for (const name of names) await umociRootfs(name);
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  if (fixtures) await rm(fixtures, { recursive: true, force: true });
});

describe('workers share the layers of a common base (overlayfs, runc, registry)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let output = '';

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

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iii-shared-layers-'));
    env = {
      ...process.env,
      III_HOME: join(dir, 'home'),
      III_CONFIG_PATH: join(dir, 'config.yaml'),
      CI: 'true',
      OTEL_ENABLED: 'false',
    };
  });

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await exited;
    }
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

    for (const name of names) {
      const inspect = JSON.parse(await ok('worker', 'inspect', name, '--json'));
      expect(inspect.run.rootfs).toMatch(/merged$/);
      // The worker's root as the kernel stacks it, against umoci's unpack of the same image.
      const theirs = listing(await umociRootfs(name)).filter((l) => !RUNTIME_PATHS.test(l));
      const ours = listing(inspect.run.rootfs).filter((l) => !RUNTIME_PATHS.test(l));
      expect(ours).toEqual(theirs);
    }
    expect(fs.existsSync(join(fixtures, 'adds-bundle/rootfs/app/added.txt'))).toBe(true);
    expect(fs.existsSync(join(fixtures, 'deletes-bundle/rootfs/app/message-link.txt'))).toBe(false);
    expect(fs.readdirSync(join(fixtures, 'deletes-bundle/rootfs/app/data/nested'))).toEqual(['new.txt']);

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
      sharedWith: string[];
    }[];
    expect(layers.map((l) => l.shared)).toEqual([true, true, true, true, false]);
    // ...and with which images.
    expect(layers.map((l) => l.sharedWith)).toEqual([[refs.adds], [refs.adds], [refs.adds], [refs.adds], []]);
    expect(await ok('worker', 'inspect', 'deletes')).toMatch(
      /^Layers:\s+5 unpacked: 4 shared with other images \(.+: \S+\/iii\/adds:1\), 1 its own/m,
    );

    // Removing one worker: prune frees its own layer, and keeps every layer the running one uses.
    await ok('worker', 'remove', 'deletes', '--yes');
    const dry = JSON.parse(await ok('worker', 'prune', '--dry-run', '--json'));
    expect(dry).toMatchObject({ snapshots: 1, sharedKept: 4, dryRun: true });
    expect(snapshotIds()).toEqual(all);
    const prune = await iii('worker', 'prune', '--yes');
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stderr).toMatch(/Keeps 4 layer snapshots of the deleted images that kept images share/);
    expect(prune.stderr).toMatch(/Freed .* 1 layer snapshots/);
    expect(snapshotIds()).toEqual(base);
    for (const id of shared) expect(listing(join(snapshots(), id), true)).toEqual(before.get(id));
    const df = JSON.parse(await ok('system', 'df', '--json'));
    expect(df.snapshots.count).toBe(5);
    expect(df.reclaimable).toMatchObject({ merged: 0, total: 0 });
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/added.txt')).toBe('added\n');

    // A merged tree of the pinned image, as iii unpacked images before it kept layers apart: the
    // running worker stacks the snapshots, so prune frees the tree and says so; the worker runs on.
    const digest = JSON.parse(await ok('worker', 'inspect', 'adds', '--json')).digest as string;
    const image = await new ImageStore(join(dir, 'home', 'store')).openDigest(digest);
    const merged = (await unpackImage(image, join(dir, 'home', 'rootfs'))).rootfs;
    await image.close?.();
    expect(fs.existsSync(join(merged, 'app', 'added.txt'))).toBe(true);
    // While an overlay stacks the tree (as a worker's root does, also one whose `iii` died), it stays.
    const mnt = join(dir, 'stacks-merged');
    for (const d of [mnt, `${mnt}-empty`]) fs.mkdirSync(d);
    await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${merged}:${mnt}-empty`, mnt]);
    try {
      expect(JSON.parse(await ok('worker', 'prune', '--dry-run', '--json'))).toMatchObject({ merged: 0 });
    } finally {
      await runCommand('umount', [mnt]);
    }
    const withMerged = JSON.parse(await ok('system', 'df', '--json'));
    expect(withMerged.reclaimable.merged).toBeGreaterThan(0);
    expect(withMerged.reclaimable.total).toBe(withMerged.reclaimable.merged);
    expect(await ok('system', 'df')).toMatch(/merged copies of images that now run on their layer snapshots/);
    const listed = await iii('worker', 'prune', '--dry-run');
    expect(listed.stdout).toContain(`merged    ${merged}`);
    expect(JSON.parse(await ok('worker', 'prune', '--dry-run', '--json'))).toMatchObject({
      rootfs: 1,
      merged: 1,
      snapshots: 0,
      freed: withMerged.reclaimable.merged,
    });
    expect(fs.existsSync(merged)).toBe(true);
    const freed = await iii('worker', 'prune', '--yes');
    expect(freed.stderr).toMatch(/1 merged copy of images that now run on their layer snapshots/);
    expect(fs.existsSync(merged)).toBe(false);
    expect(snapshotIds()).toEqual(base);
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/added.txt')).toBe('added\n');
  }, 600_000);
});

describe('rootless, an ordinary user shares the layers too (user namespace, userxattr overlay)', () => {
  let user: string;
  let uid: number;
  let gid: number;
  let sub: Range;
  let subGid: Range;
  let dir: string;
  let home: string;
  let restoreModes: (() => Promise<void>) | undefined;
  let engine: StartedIii | undefined;

  const iii = (...args: string[]) => cliOf(user, dir, home).iii(...args);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await iii(...args);
    expect(r.code, `iii ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const snapshots = () => join(home, 'snapshots');
  const snapshotIds = () =>
    fs
      .readdirSync(snapshots())
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .sort();
  /** A host owner as the sandbox sees it: the user is root, its subordinate ids are 1 and up. */
  const inside = (id: number, own: number, range: Range) =>
    id === own ? 0 : id >= range.start && id < range.start + range.count ? id - range.start + 1 : -1;
  const owner = (u: number, g: number) => `${inside(u, uid, sub)}:${inside(g, gid, subGid)}`;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This test creates an ordinary user (useradd) to run iii as: run the tests as root.');
    }
    requireTools(['useradd', 'userdel', 'su', 'getfattr']);
    const made = await createLocalUser('iiisl');
    user = made.name;
    uid = made.uid;
    gid = made.gid;
    const range = await subordinateRange(user);
    const gidRange = await subordinateRange(user, '/etc/subgid');
    if (!range || !gidRange) {
      throw new Error(
        `useradd gave ${user} no /etc/subuid or /etc/subgid range: set SUB_UID_COUNT in /etc/login.defs`,
      );
    }
    sub = range;
    subGid = gidRange;
    dir = await mkdtemp(join(tmpdir(), 'iii-shared-layers-rootless-'));
    await chown(dir, uid, gid);
    await chmod(dir, 0o700);
    home = join(dir, 'home');
    restoreModes = await letOthersTraverse(repoRoot);
  });

  afterAll(async () => {
    try {
      if (engine && engine.child.exitCode === null) {
        // Ctrl-C to `iii` itself (not to `su`): its workers stop and their mounts go.
        const record = await readFile(recordOf(home, join(dir, 'config.yaml')), 'utf8').catch(() => '');
        if (record) process.kill((JSON.parse(record) as { pid: number }).pid, 'SIGINT');
        await Promise.race([engine.exit, new Promise((r) => setTimeout(r, 20_000))]);
      }
      await killUserProcesses(engine, uid, sub);
      if (dir) await rm(dir, { recursive: true, force: true });
    } finally {
      await removeUser(user, restoreModes);
    }
  });

  it('runs both at once on shared snapshots, each seeing exactly its image, writes private; prune keeps the shared', async () => {
    // This kernel stacks layers in a user namespace (overlayfs with `userxattr`, Linux 5.11+): the
    // workers must run on the shared snapshots, not on the merged copy kept for kernels that cannot.
    const check = JSON.parse(await ok('system', 'check', '--json'));
    expect(check.mode).toBe('rootless');
    expect(check.rootfs.kind, JSON.stringify(check.rootfs)).toBe('userns-overlay');

    await ok('worker', 'add', refs.adds, '--name', 'adds');
    const base = snapshotIds();
    expect(base.length).toBe(5);
    await ok('worker', 'add', refs.deletes, '--name', 'deletes');
    const all = snapshotIds();
    expect(all.length).toBe(6);
    const own = all.filter((id) => !base.includes(id));
    expect(own.length).toBe(1);
    const parentOf = (id: string): string | null =>
      JSON.parse(fs.readFileSync(join(snapshots(), id, 'snapshot.json'), 'utf8')).parent;
    const shared: string[] = [];
    for (let id = parentOf(own[0] as string); id; id = parentOf(id.replace(/^sha256:/, ''))) {
      shared.push(id.replace(/^sha256:/, ''));
    }
    expect(shared.length).toBe(4);
    expect(shared.every((id) => base.includes(id))).toBe(true);
    // Rootless snapshots record opaque directories the way an overlay in a user namespace reads them.
    const opaque = await runCommand('getfattr', [
      '-R',
      '-m',
      'overlay',
      '--absolute-names',
      join(snapshots(), own[0] as string, 'fs'),
    ]);
    expect(opaque).toMatch(/user\.overlay\.opaque/);
    expect(opaque).not.toMatch(/trusted\.overlay/);
    const before = new Map(shared.map((id) => [id, listing(join(snapshots(), id), true)]));

    engine = startAs(user, dir, home, await freePort());
    const rows = await until('both workers running', async () => {
      const r = await iii('worker', 'list', '--json');
      const ws =
        r.code === 0
          ? (JSON.parse(r.stdout) as { workers: { name: string; status: string; pid?: number }[] }).workers
          : [];
      return ws.length === 2 && ws.every((w) => w.status === 'running' && w.pid) && ws;
    });
    expect(engine.output).not.toMatch(/merged copy/);

    for (const name of names) {
      const inspect = JSON.parse(await ok('worker', 'inspect', name, '--json'));
      expect(inspect.run.sandbox).toMatchObject({ mode: 'rootless', rootfs: 'userns-overlay' });
      // The runtime mounted the overlay in the sandbox's mount namespace: its root, seen through its
      // init process, with the host's owners mapped back to the sandbox's.
      const pid = rows.find((w) => w.name === name)?.pid as number;
      const root = `/proc/${pid}/root`;
      const ours = listing(root, { skip: ['proc', 'sys', 'dev'], owner }).filter(
        (l) => !RUNTIME_PATHS.test(l),
      );
      const theirs = listing(await umociRootfs(name)).filter((l) => !RUNTIME_PATHS.test(l));
      expect(ours).toEqual(theirs);
    }

    expect(await ok('worker', 'exec', 'deletes', '--', 'ls', '/app/data/nested')).toBe('new.txt\n');
    expect((await iii('worker', 'exec', 'deletes', '--', 'cat', '/app/message-link.txt')).code).not.toBe(0);
    await ok('worker', 'exec', 'adds', '--', 'sh', '-c', 'echo mine > /app/data/nested/deep/message.txt');
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/data/nested/deep/message.txt')).toBe(
      'mine\n',
    );
    expect(
      (await iii('worker', 'exec', 'deletes', '--', 'cat', '/app/data/nested/deep/message.txt')).code,
    ).not.toBe(0);
    await ok('worker', 'exec', 'deletes', '--', 'sh', '-c', 'echo theirs > /app/added.txt');
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/added.txt')).toBe('added\n');

    for (const id of shared) expect(listing(join(snapshots(), id), true)).toEqual(before.get(id));
    const layers = JSON.parse(await ok('worker', 'inspect', 'deletes', '--json')).layers as {
      shared: boolean;
    }[];
    expect(layers.map((l) => l.shared)).toEqual([true, true, true, true, false]);

    await ok('worker', 'remove', 'deletes', '--yes');
    const dry = JSON.parse(await ok('worker', 'prune', '--dry-run', '--json'));
    expect(dry).toMatchObject({ snapshots: 1, sharedKept: 4, dryRun: true });
    expect(snapshotIds()).toEqual(all);
    // The removed image's own snapshot holds files of subordinate ids: removed in the user namespace.
    const pruned = JSON.parse(await ok('worker', 'prune', '--yes', '--json'));
    expect(pruned).toMatchObject({ snapshots: 1, dryRun: false });
    expect(pruned.freed).toBeGreaterThan(0);
    expect(snapshotIds()).toEqual(base);
    for (const id of shared) expect(listing(join(snapshots(), id), true)).toEqual(before.get(id));
    expect(JSON.parse(await ok('system', 'df', '--json')).snapshots.count).toBe(5);
    expect(await ok('worker', 'exec', 'adds', '--', 'cat', '/app/added.txt')).toBe('added\n');
  }, 300_000);
});
