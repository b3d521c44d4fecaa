import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busybox } from '../fixtures/index.ts';
import {
  dockerConfigJson,
  registryRef,
  registryRequest,
  requireTools,
  runCommand,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
  type TestRegistry,
} from './index.ts';

requireTools(['docker-registry', 'openssl', 'skopeo', 'buildah', 'busybox']);

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

let layout: string;

beforeAll(async () => {
  // The busybox fixture: built by buildah (never by our own code) and cached between runs.
  const image = await busybox();
  layout = `${image.layout}:${image.tag}`;
});

function basicAuth(registry: TestRegistry, password = registry.password): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${registry.username}:${password}`).toString('base64')}` };
}

/** Parses `Bearer realm="...",service="...",scope="..."`. */
function parseBearer(header: string | undefined): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('plain registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'plain' });
  });
  afterAll(() => registry?.stop());

  it('serves an image pushed by skopeo through the catalog and manifest endpoints', async () => {
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const digest = await skopeoCopy(`oci:${layout}`, registryRef(registry, 'smoke/busybox:1'), {
      destRegistry: registry,
    });
    const catalog = await registryRequest(registry, '/v2/_catalog');
    expect(catalog.status).toBe(200);
    expect(catalog.json()).toEqual({ repositories: ['smoke/busybox'] });
    const manifest = await registryRequest(registry, '/v2/smoke/busybox/manifests/1', {
      headers: { accept: MANIFEST_ACCEPT },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers['docker-content-digest']).toBe(digest);
    expect((manifest.json() as { layers: unknown[] }).layers.length).toBeGreaterThanOrEqual(3);
  });

  it('removes its storage and stops answering after stop()', async () => {
    const other = await startRegistry({ flavor: 'plain' });
    await other.stop();
    await expect(registryRequest(other, '/v2/')).rejects.toThrow();
    await expect(stat(other.dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('basic-auth TLS registry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'basic' });
  });
  afterAll(() => registry?.stop());

  it('serves HTTPS with a certificate trusted through caFile and skopeo --cert-dir', async () => {
    expect(registry.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const digest = await skopeoCopy(`oci:${layout}`, registryRef(registry, 'smoke/busybox:1'), {
      destRegistry: registry,
    });
    const catalog = await registryRequest(registry, '/v2/_catalog', { headers: basicAuth(registry) });
    expect(catalog.status).toBe(200);
    expect(catalog.json()).toEqual({ repositories: ['smoke/busybox'] });
    const manifest = await registryRequest(registry, '/v2/smoke/busybox/manifests/1', {
      headers: { ...basicAuth(registry), accept: MANIFEST_ACCEPT },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers['docker-content-digest']).toBe(digest);
    const inspected = (await skopeoInspect(registryRef(registry, 'smoke/busybox:1'), { registry })) as {
      Digest: string;
    };
    expect(inspected.Digest).toBe(digest);
  });

  it('rejects a TLS client that does not trust the self-signed certificate', async () => {
    await expect(registryRequest({ url: registry.url }, '/v2/')).rejects.toThrow(
      /self[- ]signed|certificate/i,
    );
  });

  it('rejects missing and wrong credentials with a Basic challenge', async () => {
    const anonymous = await registryRequest(registry, '/v2/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const wrong = await registryRequest(registry, '/v2/', {
      headers: basicAuth(registry, 'not-the-password'),
    });
    expect(wrong.status).toBe(401);
    const right = await registryRequest(registry, '/v2/', { headers: basicAuth(registry) });
    expect(right.status).toBe(200);
  });

  it('accepts the credentials of a docker config.json written by dockerConfigJson', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iii-docker-config-'));
    try {
      const authfile = join(dir, 'config.json');
      await writeFile(authfile, JSON.stringify(dockerConfigJson([registry])));
      const out = await runCommand('skopeo', [
        'inspect',
        `--cert-dir=${registry.certDir}`,
        `--authfile=${authfile}`,
        registryRef(registry, 'smoke/busybox:1'),
      ]);
      expect((JSON.parse(out) as { Name: string }).Name).toBe(`${registry.host}/smoke/busybox`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes skopeo fail with wrong credentials', async () => {
    await expect(
      skopeoCopy(`oci:${layout}`, registryRef(registry, 'smoke/denied:1'), {
        destRegistry: { ...registry, password: 'not-the-password' },
      }),
    ).rejects.toThrow(/unauthorized|authentication/i);
  });
});

describe('bearer-token registry', () => {
  let registry: TestRegistry;
  let digest: string;
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'token' });
    digest = await skopeoCopy(`oci:${layout}`, registryRef(registry, 'smoke/busybox:1'), {
      destRegistry: registry,
    });
  });
  afterAll(() => registry?.stop());

  it('answers 401 with a Bearer challenge, then serves the manifest with a token from the realm', async () => {
    const path = '/v2/smoke/busybox/manifests/1';
    const first = await registryRequest(registry, path, { headers: { accept: MANIFEST_ACCEPT } });
    expect(first.status).toBe(401);
    const challenge = parseBearer(first.headers['www-authenticate'] as string | undefined);
    expect(challenge.realm).toBe(registry.tokenServer?.url);
    expect(challenge.scope).toBe('repository:smoke/busybox:pull');

    const before = registry.tokenServer!.requests();
    const tokenUrl = `${challenge.realm}?service=${encodeURIComponent(challenge.service!)}&scope=${encodeURIComponent(challenge.scope!)}`;
    const tokenReply = await registryRequest(registry, tokenUrl);
    expect(tokenReply.status).toBe(200);
    const { token, access_token, expires_in } = tokenReply.json() as Record<string, unknown>;
    expect(typeof token).toBe('string');
    expect(access_token).toBe(token);
    expect(expires_in).toBeGreaterThan(0);
    expect(registry.tokenServer!.requests()).toBe(before + 1);

    const second = await registryRequest(registry, path, {
      headers: { accept: MANIFEST_ACCEPT, authorization: `Bearer ${token}` },
    });
    expect(second.status).toBe(200);
    expect(second.headers['docker-content-digest']).toBe(digest);
  });

  it('lists the catalog for an authenticated user', async () => {
    const first = await registryRequest(registry, '/v2/_catalog');
    expect(first.status).toBe(401);
    const challenge = parseBearer(first.headers['www-authenticate'] as string | undefined);
    const tokenReply = await registryRequest(
      registry,
      `${challenge.realm}?service=${challenge.service}&scope=${encodeURIComponent(challenge.scope!)}`,
      { headers: basicAuth(registry) },
    );
    const { token } = tokenReply.json() as { token: string };
    const catalog = await registryRequest(registry, '/v2/_catalog', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(catalog.status).toBe(200);
    expect(catalog.json()).toEqual({ repositories: ['smoke/busybox'] });
  });

  it('lets anonymous users pull but not push', async () => {
    const inspected = (await skopeoInspect(registryRef(registry, 'smoke/busybox:1'), {
      registry,
      anonymous: true,
    })) as { Digest: string };
    expect(inspected.Digest).toBe(digest);
    await expect(
      skopeoCopy(`oci:${layout}`, registryRef(registry, 'smoke/anonymous:1'), {
        destRegistry: { ...registry, username: undefined },
      }),
    ).rejects.toThrow(/unauthorized|authentication|denied/i);
  });

  it('issues tokens through the OAuth2 password grant (POST) too', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: registry.username!,
      password: registry.password!,
      service: 'iii-test-registry',
      scope: 'repository:smoke/busybox:pull,push',
      client_id: 'iii-test',
    });
    const reply = await registryRequest(registry, registry.tokenServer!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(reply.status).toBe(200);
    const { access_token } = reply.json() as { access_token: string };
    const manifest = await registryRequest(registry, '/v2/smoke/busybox/manifests/1', {
      headers: { accept: MANIFEST_ACCEPT, authorization: `Bearer ${access_token}` },
    });
    expect(manifest.status).toBe(200);
    const denied = await registryRequest(registry, registry.tokenServer!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: registry.username!,
        password: 'nope',
      }).toString(),
    });
    expect(denied.status).toBe(401);
  });

  it('refuses a token request with wrong credentials', async () => {
    const reply = await registryRequest(
      registry,
      `${registry.tokenServer!.url}?service=iii-test-registry&scope=repository:smoke/busybox:pull`,
      { headers: basicAuth(registry, 'not-the-password') },
    );
    expect(reply.status).toBe(401);
  });
});

describe('token registry without anonymous pull', () => {
  it('refuses anonymous pulls', async () => {
    const registry = await startRegistry({ flavor: 'token', anonymousPull: false });
    try {
      await skopeoCopy(`oci:${layout}`, registryRef(registry, 'private/busybox:1'), {
        destRegistry: registry,
      });
      await expect(
        skopeoInspect(registryRef(registry, 'private/busybox:1'), { registry, anonymous: true }),
      ).rejects.toThrow(/unauthorized|authentication|denied/i);
      const inspected = (await skopeoInspect(registryRef(registry, 'private/busybox:1'), { registry })) as {
        Name: string;
      };
      expect(inspected.Name).toBe(`${registry.host}/private/busybox`);
    } finally {
      await registry.stop();
    }
  });
});
