// The exported manifests run for real: `iii export kubernetes` of a config.yaml with the Node worker,
// applied with `podman kube play` (runc), and `iii trigger` answered by the worker through the
// exported engine. The engine image is the built CLI running `iii start --no-workers`, built with
// `iii worker build` on the Node base fixture (the CLI's Dockerfile needs a public Node image and
// `npm ci`, which this test does not download).
//
// Two things of this machine kind are set up around podman, not in the manifests:
// - root lacks CAP_SYS_RESOURCE, so podman's default rlimits (above the current ones) are refused;
//   a containers.conf gives it limits below them.
// - `podman kube play` creates no Service DNS records; the test gives the engine pod the Service's
//   name as a network alias, which is what a cluster's DNS does for `ws://iii-engine:49134`.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushFixture, repoRoot } from '@iii/tools/fixtures';
import { requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { until } from './until.ts';
import { bin } from './worker-harness.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

let dir: string;
let registry: TestRegistry;
let env: NodeJS.ProcessEnv;
let podmanArgs: string[];
let network: string;
let played = false;

const iii = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  exec(process.execPath, [bin, ...args], { ...env, ...extra }, join(dir, 'project'));
const podman = (args: string[]) => exec('podman', [...podmanArgs, ...args], env);

/** The built CLI with the production dependencies it runs with, as a build context. */
async function engineContext(base: string): Promise<string> {
  const root = repoRoot();
  const ctx = join(dir, 'engine');
  const app = join(ctx, 'app');
  await mkdir(join(app, 'apps', 'cli'), { recursive: true });
  await cp(join(root, 'package.json'), join(app, 'package.json'));
  for (const f of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) {
    await cp(join(root, 'apps', 'cli', f), join(app, 'apps', 'cli', f), { recursive: true });
  }
  for (const p of await readdir(join(root, 'packages'))) {
    for (const f of ['dist', 'package.json']) {
      await cp(join(root, 'packages', p, f), join(app, 'packages', p, f), { recursive: true });
    }
  }
  // Hard links: the same files, without copying half a gigabyte.
  const link = await exec('cp', ['-al', join(root, 'node_modules'), join(app, 'node_modules')], env);
  if (link.code !== 0) await cp(join(root, 'node_modules'), join(app, 'node_modules'), { recursive: true });
  await writeFile(
    join(ctx, 'Dockerfile'),
    [
      `FROM ${base}`,
      'COPY app /opt/iii',
      'ENV III_HOME=/tmp/iii',
      'ENTRYPOINT ["node", "/opt/iii/apps/cli/bin/run.js", "start", "--no-workers", "--host", "0.0.0.0"]',
      '',
    ].join('\n'),
  );
  return ctx;
}

beforeAll(async () => {
  requireTools(['podman', 'runc', 'buildah', 'skopeo', 'docker-registry']);
  dir = await mkdtemp(join(tmpdir(), 'iii-export-podman-'));
  registry = await startRegistry({ flavor: 'plain' });
  await pushFixture('node-base', registry, 'iii/node-base:1');
  await pushFixture('node-worker', registry, 'iii/node-worker:1');

  // Below this process's own hard limits: raising one needs CAP_SYS_RESOURCE.
  const limits = await readFile('/proc/self/limits', 'utf8');
  const hard = (name: string) => {
    const line = limits.split('\n').find((l) => l.startsWith(name)) ?? '';
    const value = line.slice(name.length).trim().split(/\s+/)[1];
    return value === 'unlimited' || value === undefined ? Number.POSITIVE_INFINITY : Number(value);
  };
  const nofile = Math.min(4096, hard('Max open files'));
  const nproc = Math.min(4096, hard('Max processes'));
  await writeFile(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'registries.conf'),
    `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`,
  );
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
  env = {
    ...base,
    CI: 'true',
    III_HOME: join(dir, 'home'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
  };
  podmanArgs = [
    '--root',
    join(dir, 'podman', 'root'),
    '--runroot',
    join(dir, 'podman', 'run'),
    '--network-config-dir',
    join(dir, 'podman', 'networks'),
  ];
  await mkdir(join(dir, 'project'), { recursive: true });

  // The engine image, built and pushed by `iii worker build`.
  const ctx = await engineContext(`${registry.host}/iii/node-base:1`);
  const build = await iii([
    'worker',
    'build',
    ctx,
    '-t',
    `${registry.host}/iii/engine:test`,
    '--builder',
    'buildah',
    '--push',
    '--insecure',
    '--json',
  ]);
  expect(build.code, build.stderr).toBe(0);
  const engineDigest = (JSON.parse(build.stdout) as { pushed: { digest: string } }).pushed.digest;

  const add = await iii(['worker', 'add', `${registry.host}/iii/node-worker:1`, '--name', 'node-worker']);
  expect(add.code, add.stderr).toBe(0);
  const configPath = join(dir, 'project', 'config.yaml');
  const doc = parseDocument(await readFile(configPath, 'utf8'));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${VAR} syntax of config.yaml.
  doc.setIn(['workers', 0, 'config', 'GREETING'], '${GREETING}');
  await writeFile(configPath, doc.toString());

  const exported = await iii(
    [
      'export',
      'kubernetes',
      '--engine-image',
      `${registry.host}/iii/engine@${engineDigest}`,
      '--inline-env',
      '-o',
      'k8s.yaml',
    ],
    { GREETING: 'from-the-exporting-shell' },
  );
  expect(exported.code, exported.stderr).toBe(0);

  network = `iii-export-${Math.random().toString(36).slice(2, 8)}`;
  const net = await podman(['network', 'create', network]);
  expect(net.code, net.stderr).toBe(0);
  played = true;
  const play = await podman(['kube', 'play', '--network', network, join(dir, 'project', 'k8s.yaml')]);
  expect(play.code, play.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  if (played) {
    await podman(['kube', 'down', join(dir, 'project', 'k8s.yaml')]);
    await podman(['network', 'rm', '-f', network]);
  }
  if (podmanArgs) await podman(['rmi', '-a', '-f']);
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('exported manifests on podman kube play', () => {
  it('the exported Node worker answers iii trigger through the exported engine', async () => {
    const infra = await podman(['pod', 'inspect', 'iii-engine-pod-0', '--format', '{{.InfraContainerID}}']);
    expect(infra.code, infra.stderr).toBe(0);
    const id = infra.stdout.trim();
    // What the cluster's DNS does for the Service: its name resolves to the engine pod.
    expect((await podman(['network', 'disconnect', network, id])).code).toBe(0);
    const alias = await podman(['network', 'connect', '--alias', 'iii-engine', network, id]);
    expect(alias.code, alias.stderr).toBe(0);
    const ip = (
      await podman([
        'inspect',
        id,
        '--format',
        `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
      ])
    ).stdout.trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const answer = await until(
      'node-worker::echo through the exported engine',
      async () => {
        const r = await iii([
          'trigger',
          'node-worker::echo',
          '--address',
          `ws://${ip}:49134`,
          '-d',
          '{"n":1}',
          '--timeout',
          '5s',
        ]);
        return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
      },
      180_000,
    ).catch(async (err) => {
      const logs = await podman(['logs', 'node-worker-pod-0-worker']);
      const engineLogs = await podman(['logs', 'iii-engine-pod-0-engine']);
      throw new Error(
        `${(err as Error).message}\nworker:\n${logs.stdout}${logs.stderr}\nengine:\n${engineLogs.stdout}${engineLogs.stderr}`,
      );
    });
    expect(answer).toMatchObject({
      input: { n: 1 },
      greeting: 'from-the-exporting-shell',
      workerName: 'node-worker',
    });
    const logs = await podman(['logs', 'iii-engine-pod-0-engine']);
    expect(logs.stdout + logs.stderr).toContain('--no-workers: running the engine without local workers');
  });
});
