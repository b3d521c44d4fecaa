import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type RegistryFlavor,
  registryRef,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ImageNotFoundError,
  openRegistryImage,
  parseReference,
  RegistryClient,
  staticCredentials,
  UnauthorizedError,
} from '../src/index.js';
import { buildLayoutImage } from './build-image.js';

let work: string;
let layout: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'oci-pull-'));
  layout = join(work, 'layout');
  await buildLayoutImage(
    layout,
    'v1',
    [[{ path: 'app/a.txt', content: 'hello' }], [{ path: 'app/big.bin', content: 300_000 }]],
    { env: ['FOO=bar'], cmd: '/app/run' },
  );
});
afterAll(() => rm(work, { recursive: true, force: true }));

function clientCredentials(registry: TestRegistry, withCredentials = true) {
  return staticCredentials(
    withCredentials && registry.username
      ? { [registry.host]: { kind: 'basic', username: registry.username, password: registry.password ?? '' } }
      : {},
  );
}

function clientFor(registry: TestRegistry, withCredentials = true): RegistryClient {
  return new RegistryClient({
    caFiles: registry.caFile ? [registry.caFile] : [],
    credentials: staticCredentials(
      withCredentials && registry.username
        ? {
            [registry.host]: {
              kind: 'basic',
              username: registry.username,
              password: registry.password ?? '',
            },
          }
        : {},
    ),
    env: {},
  });
}

describe.each<RegistryFlavor>(['plain', 'basic', 'token'])('pull from a %s registry', (flavor) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ flavor });
    await skopeoCopy(`oci:${layout}:v1`, registryRef(registry, 'team/app:v1'), { destRegistry: registry });
  });
  afterAll(() => registry?.stop());

  it('reads manifest, config and verified layers', async () => {
    const client = clientFor(registry);
    try {
      const image = await openRegistryImage(parseReference(`${registry.host}/team/app:v1`), { client });
      const manifest = await image.manifest();
      expect(manifest.layers).toHaveLength(2);
      const config = await image.config();
      expect(config.config?.Env).toContain('FOO=bar');
      for (const layer of await image.layers()) {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of await layer.open()) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        expect(`sha256:${hash.digest('hex')}`).toBe(layer.descriptor.digest);
        expect(size).toBe(layer.descriptor.size);
      }
    } finally {
      client.close();
    }
  });

  it('works over an injected fetch implementation', async () => {
    if (registry.caFile) return; // global fetch cannot trust a per-client CA; the default transport can
    const seen: string[] = [];
    const client = new RegistryClient({
      fetch: (url, init) => {
        seen.push(`${init.method} ${new URL(url).pathname}`);
        return fetch(url, init);
      },
      credentials: clientCredentials(registry),
      env: {},
    });
    const image = await openRegistryImage(parseReference(`${registry.host}/team/app:v1`), { client });
    for (const layer of await image.layers()) for await (const _ of await layer.open());
    expect(seen).toContain('GET /v2/team/app/manifests/v1');
    expect(seen.filter((s) => s.includes('/blobs/'))).toHaveLength(3);
  });

  it('says the repository or tag does not exist on 404', async () => {
    const client = clientFor(registry);
    try {
      const err = await openRegistryImage(parseReference(`${registry.host}/team/app:nope`), { client }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(ImageNotFoundError);
      expect(err.message).toMatch(/repository or tag does not exist/);
    } finally {
      client.close();
    }
  });

  if (flavor !== 'plain') {
    it('uses the login stored in the docker config file', async () => {
      const dockerConfig = await mkdtemp(join(work, 'docker-config-'));
      const auth = Buffer.from(`${registry.username}:${registry.password}`).toString('base64');
      await writeFile(
        join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [registry.host]: { auth } } }),
      );
      const client = new RegistryClient({
        caFiles: registry.caFile ? [registry.caFile] : [],
        env: { DOCKER_CONFIG: dockerConfig },
      });
      try {
        const image = await openRegistryImage(parseReference(`${registry.host}/team/app:v1`), { client });
        expect((await image.config()).config?.Env).toContain('FOO=bar');
      } finally {
        client.close();
      }
    });
  }

  if (flavor === 'basic') {
    it('suggests docker login when no credentials are given', async () => {
      const client = clientFor(registry, false);
      try {
        const err = await openRegistryImage(parseReference(`${registry.host}/team/app:v1`), { client }).catch(
          (e) => e,
        );
        expect(err).toBeInstanceOf(UnauthorizedError);
        expect(err.hint).toContain('docker login');
      } finally {
        client.close();
      }
    });
  }
});

describe('a token registry without anonymous pulls', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'token', anonymousPull: false });
    await skopeoCopy(`oci:${layout}:v1`, registryRef(registry, 'team/app:v1'), { destRegistry: registry });
  });
  afterAll(() => registry?.stop());

  it('refuses anonymous pulls with a docker login hint and accepts the account', async () => {
    const anonymous = clientFor(registry, false);
    const err = await openRegistryImage(parseReference(`${registry.host}/team/app:v1`), {
      client: anonymous,
    }).catch((e) => e);
    anonymous.close();
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err.hint).toContain(`docker login ${registry.host}`);
    const client = clientFor(registry);
    try {
      const image = await openRegistryImage(parseReference(`${registry.host}/team/app:v1`), { client });
      expect((await image.layers()).length).toBe(2);
    } finally {
      client.close();
    }
  });
});
