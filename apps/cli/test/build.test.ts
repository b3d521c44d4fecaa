import { randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBuildBase } from '@iii/tools/fixtures';
import { requireTools } from '@iii/tools/test-env';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built `iii` binary, as users run it.
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const sdkDir = fileURLToPath(new URL('../../../packages/sdk', import.meta.url));

let root: string;
let home: string;
beforeAll(async () => {
  // Lower case on purpose: buildah names images pulled from local paths after the path.
  root = join(tmpdir(), `iii-build-${randomUUID()}`);
  home = join(root, 'home');
  await mkdir(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function iii(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    reject: false,
    env: { III_HOME: home, NODE_NO_WARNINGS: '1', ...options.env },
  });
}

describe('iii worker build with buildah, from a node project made by iii init', () => {
  let project: string;
  let built: { builder: string; reference: string; source: string; output: { path: string; tag: string } };
  let buildResult: Awaited<ReturnType<typeof iii>>;

  beforeAll(async () => {
    requireTools(['buildah', 'skopeo']);
    // A stand-in for node:20-slim with node and npm: the image build runs npm itself.
    const base = await nodeBuildBase();
    project = join(root, 'greeter');
    // Inside this repository the SDK is not on npm yet: the project gets the workspace's @iii/sdk as
    // the tarball npm would download, exactly as a user's project gets the published one. It lies in
    // the project, since the image build sees only the project.
    const pack = await execa('npm', ['pack', sdkDir, '--pack-destination', root, '--json']);
    const tarball = (JSON.parse(pack.stdout) as { filename: string }[])[0]?.filename ?? '';
    const init = await iii(['init', 'greeter', '--lang', 'node', '--sdk-version', `file:./${tarball}`]);
    expect(init.exitCode, init.stderr).toBe(0);
    await copyFile(join(root, tarball), join(project, tarball));
    // No npm install or build here: a clean checkout builds (npm install and the bundle run in the image).
    buildResult = await iii(
      [
        'worker',
        'build',
        '-t',
        'greeter:0.1.0',
        '--builder',
        'buildah',
        '--build-arg',
        `BASE_IMAGE=${base.ref}`,
        '--json',
      ],
      { cwd: project },
    );
    expect(buildResult.exitCode, buildResult.stderr).toBe(0);
    built = JSON.parse(buildResult.stdout);
  });

  it('stores the image as an OCI layout under $III_HOME/builds and prints how to add it', () => {
    expect(built).toMatchObject({
      builder: 'buildah',
      reference: 'greeter:0.1.0',
      source: `oci-layout:${join(home, 'builds', 'greeter')}:0.1.0`,
    });
    expect(buildResult.stderr).toContain(
      `iii worker add oci-layout:${join(home, 'builds', 'greeter')}:0.1.0`,
    );
  });

  it('gives the image the template entrypoint, ENV defaults, user and worker manifest', async () => {
    const { stdout } = await execa('skopeo', ['inspect', '--config', `oci:${built.output.path}:0.1.0`]);
    const { config } = JSON.parse(stdout) as {
      config: {
        Entrypoint: string[];
        Env: string[];
        User: string;
        WorkingDir: string;
        Labels: Record<string, string>;
      };
    };
    expect(config.Entrypoint).toEqual(['node', '/app/worker.mjs']);
    expect(config.Env).toContain('GREETING=Hello');
    expect(config.User).toBe('1000:1000');
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.source': '',
      'org.opencontainers.image.version': '0.1.0',
    });
    const raw = JSON.parse(
      (await execa('skopeo', ['inspect', '--raw', `oci:${built.output.path}:0.1.0`])).stdout,
    ) as { layers: { digest: string }[] };
    const files: string[] = [];
    for (const layer of raw.layers) {
      const blob = join(built.output.path, 'blobs', ...layer.digest.split(':'));
      files.push(...(await execa('tar', ['-tzf', blob], { maxBuffer: 64 << 20 })).stdout.split('\n'));
    }
    expect(files).toEqual(
      expect.arrayContaining(['app/worker.mjs', 'iii/worker.yaml', 'app/node_modules/@iii/sdk/package.json']),
    );
    // The build stage's sources, dev dependencies and npm cache stay out of the image.
    expect(files.filter((f) => /^(src|app\/src|app\/dist|root\/\.npm)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('app/node_modules/esbuild/'))).toEqual([]);
  });

  it('keeps buildah state in private storage under $III_HOME', async () => {
    const { stdout } = await execa('buildah', [
      '--root',
      join(home, 'buildah', 'storage'),
      '--runroot',
      join(home, 'buildah', 'run'),
      '--storage-driver',
      'vfs',
      'images',
      '--format',
      '{{.Name}}',
    ]);
    // The base stays cached for the next build; the built image itself was moved to the layout.
    expect(stdout).toContain('iii-fixture/node-build-base');
    expect(stdout).not.toContain('greeter');
  });

  it('runs under iii once added: iii trigger <name>::hello returns the template answer', async () => {
    requireTools(['runc']);
    const config = join(root, 'config.yaml');
    const add = await iii(['worker', 'add', built.source, '--config', config]);
    expect(add.exitCode, add.stderr).toBe(0);
    const entry = await readFile(config, 'utf8');
    // The image's ENV and /iii/worker.yaml became the entry's defaults.
    expect(entry).toMatch(/name: greeter\n/);
    expect(entry).toMatch(/GREETING: Hello/);
    // The template's engine address default; the worker still reaches the engine on --port 0.
    expect(entry).toMatch(/III_URL: ws:\/\/localhost:49134/);
    expect(entry).toMatch(/memory: 256Mi/);

    const engine = execa(process.execPath, [bin, 'start', '--config', config, '--port', '0'], {
      cwd: root,
      reject: false,
      env: { III_HOME: home, NODE_NO_WARNINGS: '1' },
    });
    try {
      await waitForListening(engine);
      const answer = await triggerWhenReady(['greeter::hello', 'name=Ada']);
      expect(JSON.parse(answer)).toEqual({ message: 'Hello, Ada!' });
      const fallback = await iii(['trigger', 'greeter::hello']);
      expect(JSON.parse(fallback.stdout)).toEqual({ message: 'Hello, world!' });
      // The template logs through the SDK Logger, whose lines land in the worker's log.
      const logs = await iii(['worker', 'logs', 'greeter', '--config', config]);
      expect(logs.exitCode, logs.stderr).toBe(0);
      expect(`${logs.stdout}${logs.stderr}`).toContain('saying hello to Ada');
    } finally {
      engine.kill('SIGTERM');
    }
    const stopped = await engine;
    expect(stopped.exitCode, stopped.stderr).toBe(0);
  });

  it('refuses to build a node project whose Dockerfile copies a dist/ never built, saying how to build it', async () => {
    const fresh = join(root, 'unbuilt');
    expect((await iii(['init', 'unbuilt', '--lang', 'node'])).exitCode).toBe(0);
    // A Dockerfile of the older kind, which takes a bundle built on the host.
    await writeFile(join(fresh, 'Dockerfile'), 'FROM scratch\nCOPY dist/worker.mjs /app/worker.mjs\n');
    const result = await iii(['worker', 'build', fresh, '-t', 'unbuilt:1', '--builder', 'buildah']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('has not been built yet');
    expect(result.stderr).toContain('npm install && npm run build');
  });
});

/** Resolves once `iii start` says it listens (it prints its address on stderr). */
async function waitForListening(engine: ResultPromise): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    engine.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (/listening on ws:\/\//.test(seen)) resolve();
    });
    engine.once('exit', () => reject(new Error(`iii exited before listening:\n${seen}`)));
  });
}

/** The worker registers its function a moment after `iii` starts it: retry until it answers. */
async function triggerWhenReady(args: string[]): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 60; attempt++) {
    const result = await iii(['trigger', ...args]);
    if (result.exitCode === 0) return result.stdout;
    last = result.stderr;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the worker never answered:\n${last}`);
}

describe('iii worker build errors', () => {
  it('reports a missing Dockerfile', async () => {
    await mkdir(join(root, 'empty'), { recursive: true });
    const result = await iii(['worker', 'build', 'empty', '-t', 'x:1', '--builder', 'buildah']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^Error: no Dockerfile at .*empty\/Dockerfile$/m);
  });

  it('says how to install a builder when none is usable', async () => {
    // A PATH with only a docker client whose daemon is down, as on many laptops.
    const path = join(root, 'path');
    await mkdir(path, { recursive: true });
    await writeFile(
      join(path, 'docker'),
      '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n',
    );
    await chmod(join(path, 'docker'), 0o755);
    await mkdir(join(root, 'proj'), { recursive: true });
    await writeFile(join(root, 'proj', 'Dockerfile'), 'FROM scratch\n');
    const run = await iii(['worker', 'build', 'proj', '-t', 'x:1'], { env: { PATH: path } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      'Error: no image builder found: docker is installed but its daemon is not reachable',
    );
    expect(run.stderr).toContain('apt-get install buildah');
  });

  it('treats a malformed --build-arg, a bad tag or an unknown builder as errors before building', async () => {
    await mkdir(join(root, 'proj'), { recursive: true });
    await writeFile(join(root, 'proj', 'Dockerfile'), 'FROM scratch\n');
    expect((await iii(['worker', 'build', 'proj', '-t', 'x:1', '--build-arg', '=v'])).exitCode).toBe(2);
    expect((await iii(['worker', 'build', 'proj', '-t', 'x:1', '--builder', 'kaniko'])).exitCode).toBe(2);
    const badTag = await iii(['worker', 'build', 'proj', '-t', 'Upper:1', '--builder', 'buildah']);
    expect(badTag.exitCode).toBe(1);
    expect(badTag.stderr).toContain('invalid image reference "Upper:1"');
  });
});
