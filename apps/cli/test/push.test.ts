import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  registryRef,
  requireTools,
  skopeoInspect,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built `iii` binary, as users run it.
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Manifest {
  config: { digest: string };
  layers: { digest: string }[];
}

let root: string;
let home: string;
let layout: string;
let localManifest: Manifest;
const registries: TestRegistry[] = [];

function iii(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [bin, ...args], {
    cwd: root,
    reject: false,
    env: { III_HOME: home, NODE_NO_WARNINGS: '1', DOCKER_CONFIG: join(root, 'no-docker-config'), ...env },
  });
}

/** Logs in the way `docker login` does: a config.json with base64 `user:password` per registry. */
async function dockerLogin(registry: TestRegistry, password = registry.password ?? ''): Promise<string> {
  const dir = join(root, `docker-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  const auth = Buffer.from(`${registry.username}:${password}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
  return dir;
}

/** Environment of a user who logged in to `registry` and trusts its certificate. */
async function loggedIn(registry: TestRegistry): Promise<Record<string, string>> {
  return {
    DOCKER_CONFIG: await dockerLogin(registry),
    ...(registry.caFile ? { NODE_EXTRA_CA_CERTS: registry.caFile } : {}),
  };
}

beforeAll(async () => {
  requireTools(['buildah', 'skopeo', 'docker-registry']);
  // Lower case on purpose: buildah names images pulled from local paths after the path.
  root = join(tmpdir(), `iii-push-${randomUUID()}`);
  home = join(root, 'home');
  // A user who never logged in anywhere.
  await mkdir(join(root, 'no-docker-config'), { recursive: true });
  await writeFile(join(root, 'no-docker-config', 'config.json'), '{"auths":{}}');
  const project = join(root, 'tiny');
  await mkdir(project, { recursive: true });
  await writeFile(join(project, 'hello.txt'), 'hello\n');
  await writeFile(join(project, 'data.bin'), Buffer.alloc(200_000, 7));
  await writeFile(
    join(project, 'Dockerfile'),
    'FROM scratch\nCOPY hello.txt /hello.txt\nCOPY data.bin /data.bin\nENV GREETING=Hello\n',
  );
  const build = await iii(['worker', 'build', 'tiny', '-t', 'tiny:0.1.0', '--builder', 'buildah', '--json']);
  expect(build.exitCode, build.stderr).toBe(0);
  layout = join(home, 'builds', 'tiny');
  localManifest = (await skopeoInspect(`oci:${layout}:0.1.0`, { mode: 'raw' })) as Manifest;
});

afterAll(async () => {
  await Promise.all(registries.map((r) => r.stop()));
  await rm(root, { recursive: true, force: true });
});

describe.each(['basic', 'token'] as const)('iii worker push to a registry with %s auth', (flavor) => {
  let registry: TestRegistry;
  let env: Record<string, string>;

  beforeAll(async () => {
    registry = await startRegistry({ flavor });
    registries.push(registry);
    env = await loggedIn(registry);
  });

  it('pushes a built image by its tag with the docker login credentials, keeping its config digest', async () => {
    const target = `${registry.host}/team/tiny:0.1.0`;
    const result = await iii(['worker', 'push', 'tiny:0.1.0', target, '--json'], env);
    expect(result.exitCode, result.stderr).toBe(0);
    const pushed = JSON.parse(result.stdout);
    expect(pushed).toMatchObject({ reference: target, blobs: { uploaded: localManifest.layers.length + 1 } });
    expect(result.stderr).toContain(`Pushed ${target}@${pushed.digest}`);

    const remote = (await skopeoInspect(registryRef(registry, 'team/tiny:0.1.0'), {
      registry,
      mode: 'raw',
    })) as Manifest;
    expect(remote.config.digest).toBe(localManifest.config.digest);
    expect(remote.layers.map((l) => l.digest)).toEqual(localManifest.layers.map((l) => l.digest));
    const config = (await skopeoInspect(registryRef(registry, 'team/tiny:0.1.0'), {
      registry,
      mode: 'config',
    })) as { config: { Env: string[] } };
    expect(config.config.Env).toContain('GREETING=Hello');
  });

  it('uploads no blob when the image is pushed again', async () => {
    const source = `oci-layout:${layout}:0.1.0`;
    const result = await iii(['worker', 'push', source, `${registry.host}/team/tiny:again`, '--json'], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).blobs).toEqual({
      uploaded: 0,
      existing: localManifest.layers.length + 1,
      mounted: 0,
    });
  });

  it('fails with a docker login hint when the credentials are wrong', async () => {
    const wrong = {
      DOCKER_CONFIG: await dockerLogin(registry, 'not-the-password'),
      ...(registry.caFile ? { NODE_EXTRA_CA_CERTS: registry.caFile } : {}),
    };
    const result = await iii(['worker', 'push', 'tiny:0.1.0', `${registry.host}/team/denied:1`], wrong);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^Error: /m);
    expect(result.stderr).toContain('docker login');
  });
});

describe('iii worker build --push', () => {
  it('builds and pushes in one step', async () => {
    const registry = await startRegistry({ flavor: 'token' });
    registries.push(registry);
    const target = `${registry.host}/team/tiny:direct`;
    const result = await iii(
      ['worker', 'build', 'tiny', '-t', target, '--builder', 'buildah', '--push', '--json'],
      await loggedIn(registry),
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const built = JSON.parse(result.stdout);
    expect(built.pushed).toMatchObject({ reference: target });
    const remote = (await skopeoInspect(registryRef(registry, 'team/tiny:direct'), {
      registry,
      mode: 'raw',
    })) as Manifest;
    // A new build (new timestamps): compare with what this build stored locally.
    const local = (await skopeoInspect(`oci:${layout}:direct`, { mode: 'raw' })) as Manifest;
    expect(remote.config.digest).toBe(local.config.digest);
  });
});

describe('iii worker push of an image pulled by iii worker add', () => {
  it('pushes it from the local store to another registry, with the origin gone', async () => {
    const origin = await startRegistry({ flavor: 'plain' });
    const mirror = await startRegistry({ flavor: 'plain' });
    registries.push(origin, mirror);
    const ref = `${origin.host}/team/tiny:0.1.0`;
    expect((await iii(['worker', 'push', 'tiny:0.1.0', ref])).exitCode).toBe(0);
    const add = await iii(['worker', 'add', ref, '--config', join(root, 'config.yaml')]);
    expect(add.exitCode, add.stderr).toBe(0);
    await origin.stop();

    const result = await iii(['worker', 'push', ref, `${mirror.host}/copy/tiny:0.1.0`]);
    expect(result.exitCode, result.stderr).toBe(0);
    const remote = (await skopeoInspect(registryRef(mirror, 'copy/tiny:0.1.0'), {
      registry: mirror,
      mode: 'raw',
    })) as Manifest;
    expect(remote.config.digest).toBe(localManifest.config.digest);
  });

  it('mounts the blobs from the repository it was pulled from when pushing to the same registry', async () => {
    const registry = await startRegistry({ flavor: 'token' });
    registries.push(registry);
    const env = await loggedIn(registry);
    const ref = `${registry.host}/team/tiny:0.1.0`;
    expect((await iii(['worker', 'push', 'tiny:0.1.0', ref], env)).exitCode).toBe(0);
    const add = await iii(
      ['worker', 'add', ref, '--name', 'tiny-mounted', '--config', join(root, 'mount.yaml')],
      env,
    );
    expect(add.exitCode, add.stderr).toBe(0);

    const result = await iii(['worker', 'push', ref, `${registry.host}/other/tiny:0.1.0`, '--json'], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).blobs).toEqual({
      uploaded: 0,
      existing: 0,
      mounted: localManifest.layers.length + 1,
    });
  });
});

describe('iii worker push errors', () => {
  it('says how to get a local image when there is none by that name', async () => {
    const result = await iii(['worker', 'push', 'nothing-here:1', 'localhost:5000/x:1']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: no local image nothing-here:1');
    expect(result.stderr).toContain('iii worker build');
  });
});
