// The packages as people install them: `npm run release` publishes every package to a real npm
// registry (verdaccio, storage in a temp dir, third-party packages from npm's registry), and an
// ordinary user, in fresh directories and with only that registry, uses them the four ways the design
// names: `npx @iii/cli`, a project importing @iii/oci, `iii init` to a running worker, and a plugin.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmod,
  chown,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busybox, nodeBuildBase, pushFixture } from '../fixtures/index.ts';
import {
  createLocalUser,
  type LocalUser,
  requireTools,
  runCommand,
  startRegistry,
  type TestRegistry,
} from '../test-env/index.ts';
import { type NpmRegistry, startNpmRegistry } from './npm-registry.ts';
import { repoRoot } from './packages.ts';
import { type ReleaseResult, releaseCopy } from './release-copy.ts';

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Host pids of the processes running as `uid`. */
async function processesOf(uid: number): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const status = await readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) out.push(Number(p));
  }
  return out;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the released packages, installed from a real npm registry by an ordinary user', () => {
  let npm: NpmRegistry;
  let release: ReleaseResult;
  let images: TestRegistry;
  let user: LocalUser;
  let dir: string;
  let home: string;
  let nodeBase: string;
  let engine: ChildProcess | undefined;
  let engineOutput = '';
  const timings: Record<string, number> = {};
  let globalCli: Promise<void> | undefined;
  /** `npm install -g @iii/cli` as the user (into its own prefix), once for the tests that run `iii`. */
  const installCli = () => {
    globalCli ??= (async () => {
      expectOk(await sh(await fresh('global'), `npm install -g @iii/cli@${release.version}`));
    })();
    return globalCli;
  };

  /** The user's environment: nothing of ours leaks in (env -i), npm knows only the test registry. */
  const env = () => ({
    HOME: home,
    PATH: [
      join(home, '.npm-global', 'bin'),
      dirname(process.execPath),
      '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    ].join(':'),
    npm_config_registry: npm.url,
    npm_config_prefix: join(home, '.npm-global'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    III_HOME: join(home, '.iii'),
    NODE_NO_WARNINGS: '1',
    CI: 'true',
  });
  const line = (cwd: string, script: string) =>
    `cd ${quote(cwd)} && exec env -i ${Object.entries(env())
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ')} /bin/sh -c ${quote(script)}`;
  /** Runs `script` with sh as the user in `cwd`. */
  const sh = async (cwd: string, script: string): Promise<Run> => {
    const started = Date.now();
    const r = await user.sh(line(cwd, script));
    timings[script.slice(0, 60)] = Date.now() - started;
    return r;
  };
  const expectOk = (r: Run) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  /** A fresh directory of the user's. */
  const fresh = async (name: string) => {
    const d = join(dir, name);
    await mkdir(d);
    await chown(d, user.uid, user.gid);
    return d;
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error('This test creates an ordinary user (useradd): run it as root.');
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry', 'useradd', 'userdel', 'su']);
    let started = Date.now();
    npm = await startNpmRegistry({ localOnly: ['@iii/*', 'iii-plugin-*'] });
    timings['start verdaccio'] = Date.now() - started;
    started = Date.now();
    release = await releaseCopy(npm.publishConfig, npm.url);
    timings['npm run release'] = Date.now() - started;

    images = await startRegistry({ flavor: 'plain' });
    await pushFixture('busybox', images, 'iii/busybox:1');

    user = await createLocalUser('iiipub');
    dir = await mkdtemp(join(tmpdir(), 'iii-published-'));
    await chmod(dir, 0o755);
    home = join(dir, 'home');
    await mkdir(home);
    await chown(home, user.uid, user.gid);
    // The template's Node base image for `iii worker build`: the host's node and npm on busybox,
    // offline (the image build runs npm ci against the local registry itself).
    nodeBase = join(dir, 'node-build-base.tar');
    await copyFile((await nodeBuildBase()).file, nodeBase);
    await chmod(nodeBase, 0o644);
    await busybox();
  }, 1_200_000);

  afterAll(async () => {
    try {
      if (engine && engine.exitCode === null) engine.kill('SIGTERM');
      // Whatever the user still runs was started by this test (iii, a worker, npm).
      if (user) {
        for (const pid of await processesOf(user.uid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {}
        }
        await delay(500);
      }
      await images?.stop();
      await npm?.stop();
      if (release?.dir) await rm(release.dir, { recursive: true, force: true });
      if (dir) await rm(dir, { recursive: true, force: true });
    } finally {
      await user?.remove();
      console.log(`published-packages timings (ms): ${JSON.stringify(timings, null, 1)}`);
    }
  }, 120_000);

  it('publishes every public package with one version, sibling ranges pointing at it', async () => {
    expect(release.names).toEqual(
      expect.arrayContaining([
        '@iii/cli',
        '@iii/config',
        '@iii/engine',
        '@iii/oci',
        '@iii/sdk',
        '@iii/templates',
      ]),
    );
    for (const name of release.names) {
      const res = await fetch(`${npm.url}${name.replace('/', '%2f')}`);
      expect(res.status, name).toBe(200);
      const doc = (await res.json()) as {
        versions: Record<
          string,
          { dependencies?: Record<string, string>; license?: string; repository?: unknown }
        >;
      };
      const published = doc.versions[release.version];
      expect(published, `${name}@${release.version}`).toBeDefined();
      expect(published?.license).toBe('Apache-2.0');
      expect(published?.repository).toBeDefined();
      for (const [dep, range] of Object.entries(published?.dependencies ?? {})) {
        if (dep.startsWith('@iii/')) expect(range, `${name} -> ${dep}`).toBe(`^${release.version}`);
      }
    }
  });

  it('ships the JSON Schemas, LICENSE and README in the @iii/config tarball', async () => {
    const tarball = join(dir, 'config.tgz');
    const res = await fetch(`${npm.url}@iii/config/-/config-${release.version}.tgz`);
    expect(res.status).toBe(200);
    await writeFile(tarball, Buffer.from(await res.arrayBuffer()));
    const files = (await runCommand('tar', ['-tzf', tarball])).split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/schema/config.schema.json',
        'package/schema/worker.schema.json',
        'package/LICENSE',
        'package/README.md',
        'package/dist/index.cjs',
        'package/dist/index.d.cts',
      ]),
    );
  });

  it('npx @iii/cli --version, and npx @iii/cli worker add writes config.yaml', async () => {
    const cwd = await fresh('npx');
    const version = await sh(cwd, `npx --yes @iii/cli@${release.version} --version`);
    expectOk(version);
    expect(version.stdout).toContain(`@iii/cli/${release.version}`);

    const add = await sh(
      cwd,
      `npx --yes @iii/cli@${release.version} worker add ${images.host}/iii/busybox:1 --name bb`,
    );
    expectOk(add);
    const config = await readFile(join(cwd, 'config.yaml'), 'utf8');
    // Editors find the schema of config.yaml in the @iii/config release the CLI depends on.
    expect(config.split('\n')[0]).toBe(
      `# yaml-language-server: $schema=https://unpkg.com/@iii/config@${release.version}/schema/config.schema.json`,
    );
    expect(config).toMatch(/^ {2}- name: bb$/m);
    expect(config).toContain(`image: ${images.host}/iii/busybox:1`);
    expect((await stat(join(cwd, 'config.yaml'))).uid).toBe(user.uid);
  }, 600_000);

  it('a project installs @iii/oci, pulls with it from ESM and CommonJS, and type-checks from .ts and .cts', async () => {
    const cwd = await fresh('oci-user');
    const ref = `${images.host}/iii/busybox:1`;
    const files: Record<string, string> = {
      'package.json': JSON.stringify({ name: 'oci-user', version: '1.0.0', private: true, type: 'module' }),
      'pull.mjs': [
        "import { ImageStore, openImage, RegistryClient } from '@iii/oci';",
        'const client = new RegistryClient();',
        `const image = await openImage(${JSON.stringify(ref)}, { client });`,
        "const stored = await new ImageStore('store-esm').pull(image);",
        'client.close();',
        'console.log(stored.digest);',
      ].join('\n'),
      'pull.cjs': [
        "const { ImageStore, openImage, RegistryClient } = require('@iii/oci');",
        '(async () => {',
        '  const client = new RegistryClient();',
        `  const image = await openImage(${JSON.stringify(ref)}, { client });`,
        "  const stored = await new ImageStore('store-cjs').pull(image);",
        '  client.close();',
        '  console.log(stored.digest);',
        '})();',
      ].join('\n'),
      'src/esm.ts': [
        "import { parseReference, type ImageStore } from '@iii/oci';",
        "export const ref: string = parseReference('alpine').toString();",
        'export type Store = ImageStore;',
      ].join('\n'),
      'src/cjs.cts': [
        "import { parseReference, type ImageStore } from '@iii/oci';",
        "export const ref: string = parseReference('alpine').familiar();",
        'export type Store = ImageStore;',
      ].join('\n'),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['src'],
      }),
    };
    await mkdir(join(cwd, 'src'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(cwd, name), text);
    await runCommand('chown', ['-R', `${user.uid}:${user.gid}`, cwd]);

    expectOk(await sh(cwd, `npm install @iii/oci@${release.version} typescript@5.9 @types/node@20`));
    const esm = await sh(cwd, 'node pull.mjs');
    expectOk(esm);
    const cjs = await sh(cwd, 'node pull.cjs');
    expectOk(cjs);
    expect(esm.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(cjs.stdout.trim()).toBe(esm.stdout.trim());
    const tsc = await sh(cwd, 'npx tsc -p .');
    expectOk(tsc);
    // The .cts file sees the real typings (not `any`): a wrong type there fails the check.
    await writeFile(
      join(cwd, 'src', 'bad.cts'),
      "import { parseReference } from '@iii/oci';\nexport const n: number = parseReference('alpine').toString();\n",
    );
    const bad = await sh(cwd, 'npx tsc -p .');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/src\/bad\.cts\(2,14\): error TS2322/);
  }, 600_000);

  it('iii init -l node, npm install, build, iii worker build, worker add, iii, and iii trigger answers', async () => {
    await installCli();
    const cwd = await fresh('project');
    expectOk(await sh(cwd, 'iii init hello -l node'));
    expect((await readFile(join(cwd, 'hello', 'iii.worker.yaml'), 'utf8')).split('\n')[0]).toBe(
      `# yaml-language-server: $schema=https://unpkg.com/@iii/config@${release.version}/schema/worker.schema.json`,
    );
    const pkg = JSON.parse(await readFile(join(cwd, 'hello', 'package.json'), 'utf8'));
    expect(pkg.dependencies['@iii/sdk']).toBe(`^${release.version}`);
    expectOk(await sh(join(cwd, 'hello'), 'npm install && npm run build'));
    const built = await sh(
      cwd,
      `iii worker build hello -t hello:0.1.0 --builder buildah --build-arg BASE_IMAGE=docker-archive:${nodeBase} --json`,
    );
    expectOk(built);
    const source = (JSON.parse(built.stdout) as { source: string }).source;
    expectOk(await sh(cwd, `iii worker add ${quote(source)}`));

    engine = spawn('su', [user.name, '-s', '/bin/sh', '-c', line(cwd, 'exec iii start --port 0')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    engine.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    const deadline = Date.now() + 120_000;
    let answer: Run | undefined;
    while (Date.now() < deadline) {
      expect(engine.exitCode, engineOutput).toBeNull();
      answer = await sh(cwd, 'iii trigger hello::hello name=registry');
      if (answer.code === 0) break;
      await delay(1000);
    }
    expect(answer?.code, `${answer?.stderr}\n${engineOutput}`).toBe(0);
    expect(JSON.parse(answer?.stdout ?? '')).toEqual({ message: 'Hello, registry!' });
    // Ctrl-C to iii itself (su's child; su passes its exit status on), as in a terminal.
    const exited = new Promise((resolve) => engine?.once('exit', resolve));
    const children = await readFile(`/proc/${engine.pid}/task/${engine.pid}/children`, 'utf8');
    const iiiPid = Number(children.trim().split(/\s+/)[0]);
    expect(iiiPid).toBeGreaterThan(0);
    process.kill(iiiPid, 'SIGINT');
    expect(await exited, engineOutput).toBe(0);
    expect(engineOutput).toContain('worker "hello" stopped');
  }, 900_000);

  it('a third-party plugin, published to the registry, installs with iii plugins install and runs', async () => {
    await installCli();
    // The example plugin of this repository, as its author would publish it against this release.
    const src = await fresh('plugin-src');
    await cp(join(repoRoot, 'examples', 'plugin-hello'), src, {
      recursive: true,
      filter: (path) => !/\/(node_modules|dist)(\/|$)/.test(path),
    });
    const manifestPath = join(src, 'package.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.dependencies['@iii/cli'] = `^${release.version}`;
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    await runCommand('chown', ['-R', `${user.uid}:${user.gid}`, src]);
    expectOk(await sh(src, 'npm install && npm run build'));
    await runCommand('npm', ['publish'], {
      cwd: src,
      env: { ...process.env, npm_config_userconfig: npm.publishConfig, npm_config_registry: npm.url },
    });

    const cwd = await fresh('plugin-user');
    expectOk(await sh(cwd, 'iii plugins install iii-plugin-hello'));
    const plugins = await sh(cwd, 'iii plugins');
    expectOk(plugins);
    expect(plugins.stdout).toContain('iii-plugin-hello');

    const add = await sh(cwd, `iii worker add ${images.host}/iii/busybox:1 --name bb`);
    expectOk(add);
    expect(add.stderr).toMatch(/^hello plugin: added worker bb \(sha256:[0-9a-f]{12}…\)$/m);

    const hello = await sh(cwd, 'iii hello --greeting Hi');
    expectOk(hello);
    expect(hello.stdout).toBe('Hi, bb!\niii is not running\n');
    const json = await sh(cwd, 'iii hello --json');
    expectOk(json);
    expect(JSON.parse(json.stdout)).toEqual({
      configPath: join(cwd, 'config.yaml'),
      workers: ['bb'],
      engine: null,
    });
    // iii's error rendering and exit status, through the plugin's base command.
    const missing = await sh(cwd, 'iii hello --config nowhere.yaml');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: .*nowhere\.yaml/m);
  }, 900_000);
});
