// Two projects (two directories, each with its own config.yaml) sharing one $III_HOME: one image
// store, one `iii` per project, both with a worker called `api`. Real runc, a real registry behind a
// request-counting proxy, commands run in each project's directory as a developer would.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, crashingImage, pushFixture } from '@iii/tools/fixtures';
import { requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { until } from './until.ts';
import { type CountingProxy, countingProxy } from './worker-harness.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Row {
  name: string;
  status: string;
  pid?: number;
}

interface Listed {
  engine: { pid: number; address: string; configPath: string } | null;
  workers: Row[];
}

interface Project {
  name: string;
  dir: string;
  configPath: string;
  engine?: ChildProcess;
  exited?: Promise<number | null>;
  output: string;
}

describe('many projects share one $III_HOME and never cross over (runc, real registry)', () => {
  let registry: TestRegistry;
  let proxy: CountingProxy;
  let root: string;
  let env: NodeJS.ProcessEnv;
  let image: string;
  const shop: Project = { name: 'shop', dir: '', configPath: '', output: '' };
  const blog: Project = { name: 'blog', dir: '', configPath: '', output: '' };
  let clash: string;
  let pulledBlobs = 0;
  let proxyClosed = false;

  const iii = (cwd: string, ...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { env, cwd }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  const list = async (p: Project): Promise<Listed> => {
    const r = await iii(p.dir, 'worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Listed;
  };
  const api = async (p: Project): Promise<Row | undefined> =>
    (await list(p)).workers.find((w) => w.name === 'api');
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const start = async (p: Project): Promise<number> => {
    p.engine = spawn(process.execPath, [bin, 'start', '--port', '0'], { env, cwd: p.dir });
    p.engine.stdout?.on('data', (d: Buffer) => (p.output += d.toString()));
    p.engine.stderr?.on('data', (d: Buffer) => (p.output += d.toString()));
    const child = p.engine;
    p.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const row = await until(`api of ${p.name} running`, async () => {
      const w = await api(p).catch(() => undefined);
      return w?.status === 'running' && w.pid ? w : undefined;
    });
    return row.pid!;
  };
  const stopEngine = async (p: Project): Promise<number | null> => {
    if (!p.engine || p.engine.exitCode !== null) return p.engine?.exitCode ?? null;
    p.engine.kill('SIGINT');
    return p.exited!;
  };

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('busybox', registry, 'iii/busybox-worker:1');
    proxy = await countingProxy(registry.host);
    image = `${proxy.host}/iii/busybox-worker:1`;
    root = await mkdtemp(join(tmpdir(), 'iii-projects-'));
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('III_') || k === 'III_FIXTURES_DIR'),
    );
    env = { ...base, III_HOME: join(root, 'home'), CI: 'true' };
    for (const p of [shop, blog]) {
      p.dir = join(root, p.name);
      p.configPath = join(p.dir, 'config.yaml');
      await mkdir(p.dir);
      proxy.reset();
      const r = await iii(p.dir, 'worker', 'add', image, '--name', 'api');
      expect(r.code, r.stderr).toBe(0);
      if (p === shop) pulledBlobs = proxy.blobGets();
      else expect(proxy.blobGets(), 'the second project pulls nothing: the store has the image').toBe(0);
      // Each project's `api` greets with its own name, so output and environment tell them apart.
      const doc = parseDocument(await readFile(p.configPath, 'utf8'));
      doc.setIn(['workers', 0, 'config', 'GREETING'], `from-${p.name}`);
      await writeFile(p.configPath, doc.toString());
    }
    expect(pulledBlobs).toBeGreaterThan(0);
    clash = join(root, 'clash');
    await mkdir(clash);
  }, 300_000);

  afterAll(async () => {
    for (const p of [shop, blog]) await stopEngine(p);
    if (!proxyClosed) await proxy?.close();
    await registry?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  let shopPid: number;
  let blogPid: number;

  it("runs both at once, and the second project's start leaves the first one's workers alone", async () => {
    shopPid = await start(shop);
    blogPid = await start(blog);
    expect(blogPid).not.toBe(shopPid);
    expect((await api(shop))?.pid).toBe(shopPid);
    expect(alive(shopPid)).toBe(true);
    expect(shop.output).not.toMatch(/cleaned up/);
    expect(blog.output).not.toMatch(/cleaned up/);
  }, 180_000);

  it('lists, in each directory, only the workers of its own project', async () => {
    const a = await list(shop);
    const b = await list(blog);
    expect(a.engine?.configPath).toBe(shop.configPath);
    expect(b.engine?.configPath).toBe(blog.configPath);
    expect(a.engine?.address).not.toBe(b.engine?.address);
    expect(a.workers.map((w) => [w.name, w.pid])).toEqual([['api', shopPid]]);
    expect(b.workers.map((w) => [w.name, w.pid])).toEqual([['api', blogPid]]);
  });

  it('execs and reads logs in its own project only', async () => {
    for (const [p, other] of [
      [shop, blog],
      [blog, shop],
    ] as const) {
      const r = await iii(p.dir, 'worker', 'exec', 'api', '--', 'sh', '-c', 'echo "$GREETING"');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`from-${p.name}`);
      const logs = await until(`${p.name} api greeted`, async () => {
        const l = await iii(p.dir, 'worker', 'logs', 'api');
        return l.stdout.includes(`greeting=from-${p.name}`) ? l.stdout : undefined;
      });
      expect(logs).not.toContain(`greeting=from-${other.name}`);
    }
  });

  it('`iii ls` shows both running projects with their config, address and workers', async () => {
    const r = await iii(clash, 'ls', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { projects } = JSON.parse(r.stdout) as {
      projects: { name: string; configPath: string; address: string; workers: unknown; uptimeMs: number }[];
    };
    const a = await list(shop);
    const b = await list(blog);
    expect(projects.map((p) => [p.name, p.configPath, p.address, p.workers])).toEqual([
      ['shop', shop.configPath, a.engine?.address, { running: 1, total: 1 }],
      ['blog', blog.configPath, b.engine?.address, { running: 1, total: 1 }],
    ]);
    expect(r.stdout).not.toMatch(/token/i);
    const table = await iii(clash, 'ls');
    expect(table.stdout).toMatch(/^NAME\s+WORKERS\s+ADDRESS\s+UPTIME\s+CONFIG$/m);
    expect(table.stdout).toMatch(
      new RegExp(`^shop\\s+1/1 running\\s+${a.engine?.address}\\s+\\S+\\s+${shop.configPath}$`, 'm'),
    );
  });

  it("a project asking for another project's port is told whose it is and what to do", async () => {
    const port = new URL((await list(shop)).engine!.address).port;
    await writeFile(join(clash, 'config.yaml'), 'workers: []\n');
    const r = await iii(clash, 'start', '--port', port);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^Error: cannot listen on 127\\.0\\.0\\.1:${port}: the iii of project shop \\(${shop.configPath}, pid \\d+\\) listens there`,
        'm',
      ),
    );
    expect(r.stderr).toMatch(/--port 0/);
    expect(r.stderr).toMatch(/engine\.port/);
  });

  it('a command for a project whose iii does not run says so and touches no other project', async () => {
    const r = await iii(clash, 'worker', 'stop', 'api');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^Error: iii is not running for ${join(clash, 'config.yaml')}`, 'm'));
    expect(r.stderr).toMatch(/It runs for shop .*, blog /);
    const exec = await iii(clash, 'worker', 'list', '--json');
    expect(JSON.parse(exec.stdout)).toMatchObject({ engine: null, workers: [] });
    expect((await api(shop))?.pid).toBe(shopPid);
    expect((await api(blog))?.pid).toBe(blogPid);
  });

  it("stop and start act on the project's own `api`", async () => {
    const stopped = await iii(shop.dir, 'worker', 'stop', 'api', '--timeout', '2s');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect((await api(shop))?.status).toBe('stopped');
    expect(await api(blog)).toMatchObject({ status: 'running', pid: blogPid });
    expect(alive(blogPid)).toBe(true);
    const started = await iii(shop.dir, 'worker', 'start', 'api');
    expect(started.code, started.stderr).toBe(0);
    shopPid = (
      await until('shop api back', async () => {
        const w = await api(shop);
        return w?.status === 'running' && w.pid ? w : undefined;
      })
    ).pid!;
  });

  it("stopping one project's iii leaves the other's workers running", async () => {
    expect(await stopEngine(shop)).toBe(0);
    expect(alive(shopPid)).toBe(false);
    expect(await api(blog)).toMatchObject({ status: 'running', pid: blogPid });
    expect(alive(blogPid)).toBe(true);
    const ls = JSON.parse((await iii(clash, 'ls', '--json')).stdout) as { projects: { name: string }[] };
    expect(ls.projects.map((p) => p.name)).toEqual(['blog']);
    // Cleaning up after the stopped project leaves the running one alone.
    const cleanup = await iii(shop.dir, 'worker', 'cleanup');
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stderr).toMatch(/Nothing to clean up/);
    expect(alive(blogPid)).toBe(true);
    const refused = await iii(blog.dir, 'worker', 'cleanup');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already running for/);
    expect(alive(blogPid)).toBe(true);
  });

  it('prune in one project keeps what the other projects pin, and says for which', async () => {
    // An image only shop pins (blog runs the other one), added while shop's iii is stopped.
    const extra = await crashingImage((await busybox()).ref, join(root, 'extra-layout'), 'sleep 600');
    const added = await iii(shop.dir, 'worker', 'add', extra, '--name', 'extra');
    expect(added.code, added.stderr).toBe(0);
    const pruned = await iii(blog.dir, 'worker', 'prune', '-y', '--json');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout).keptFor).toContainEqual({ name: 'shop', configPath: shop.configPath });
    expect(pruned.stderr).toMatch(new RegExp(`Kept the images of .*shop \\(${shop.configPath}\\)`));
    const verified = await iii(shop.dir, 'worker', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
  });

  it("only prune --all drops another project's images, after naming them and asking", async () => {
    const refused = await iii(blog.dir, 'worker', 'prune', '--all');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`shop \\(${shop.configPath}\\): extra`));
    expect(refused.stderr).toMatch(/Pass -y/);
    expect((await iii(shop.dir, 'worker', 'verify')).code).toBe(0);
    const all = await iii(blog.dir, 'worker', 'prune', '--all', '-y');
    expect(all.code, all.stderr).toBe(0);
    const broken = await iii(shop.dir, 'worker', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/extra/);
    // What a running worker uses stays, whoever pins it.
    expect((await iii(blog.dir, 'worker', 'verify')).code).toBe(0);
    expect(await api(blog)).toMatchObject({ status: 'running', pid: blogPid });
  });

  it('with the registry stopped, another project adds the image the store already holds', async () => {
    await proxy.close();
    proxyClosed = true;
    const docs = join(root, 'docs');
    await mkdir(docs);
    const added = await iii(docs, 'worker', 'add', image, '--name', 'web');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/cannot reach/);
    expect(added.stderr).toMatch(
      /using sha256:[0-9a-f]{12}\S* from the local store, pulled \d{4}-\d\d-\d\dT/,
    );
    const pinned = (file: string) =>
      readFile(file, 'utf8').then((t) => /digest: (sha256:[0-9a-f]{64})/.exec(t)?.[1]);
    expect(await pinned(join(docs, 'iii.lock'))).toBe(await pinned(join(blog.dir, 'iii.lock')));
    const never = await iii(docs, 'worker', 'add', image, '--name', 'web2', '--pull', 'never');
    expect(never.code, never.stderr).toBe(0);
    const always = await iii(docs, 'worker', 'add', image, '--name', 'web3', '--pull', 'always');
    expect(always.code).toBe(1);
    expect(always.stderr).toMatch(/^Error: .*cannot reach/m);
    const unknown = await iii(docs, 'worker', 'add', `${proxy.host}/iii/never-pulled:1`, '--name', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^Error: /m);
    const bad = await iii(docs, 'worker', 'add', image, '--name', 'web4', '--pull', 'sometimes');
    expect(bad.code).toBe(2);
  });

  it('remove counts as unused only what prune would free: not an image another project pins', async () => {
    const docs = join(root, 'docs');
    // docs' workers use the image blog pins (and runs): nothing becomes free when they go.
    const removed = await iii(docs, 'worker', 'remove', 'web', 'web2', '-y', '--json');
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ removed: ['web', 'web2'], reclaimable: 0 });
    expect(removed.stderr).not.toMatch(/no longer used/);
    const dry = await iii(docs, 'worker', 'prune', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ freed: 0 });
  });

  it("prunes the shared cache from a directory that is no project, keeping every project's pins", async () => {
    const elsewhere = join(root, 'elsewhere');
    await mkdir(elsewhere);
    // Something only a prune frees: an unpack whose process died.
    const abandoned = join(root, 'home', 'snapshots', `.${'a'.repeat(64)}.unpack-999999999-x`);
    await mkdir(join(abandoned, 'fs'), { recursive: true });
    const dry = await iii(elsewhere, 'worker', 'prune', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/No config\.yaml at .*elsewhere.*keeping what every known project pins/);
    const planned = JSON.parse(dry.stdout);
    expect(planned).toMatchObject({ abandoned: 1, blobs: 0, sandboxes: [] });
    expect(planned.keptFor.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['shop', 'blog']),
    );
    const pruned = await iii(elsewhere, 'worker', 'prune', '-y');
    expect(pruned.code, pruned.stderr).toBe(0);
    await expect(readdir(abandoned)).rejects.toThrow();
    // It wrote nothing there (no lock file), and blog still has its images (shop lost one to the
    // prune --all above).
    expect(await readdir(elsewhere)).toEqual([]);
    expect((await iii(blog.dir, 'worker', 'verify')).code).toBe(0);
    // A config.yaml named but missing is an error, not a prune of the shared cache.
    const named = await iii(elsewhere, 'worker', 'prune', '--dry-run', '--config', 'typo.yaml');
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/^Error: no config found at .*typo\.yaml/m);
  });
});
