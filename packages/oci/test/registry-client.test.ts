import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryRef, skopeoCopy, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openRegistryImage,
  parseReference,
  RegistryClient,
  RegistryUnreachableError,
  staticCredentials,
  TlsError,
  UnknownHostError,
} from '../src/index.js';
import { buildLayoutImage } from './build-image.js';
import { FaultProxy } from './fault-proxy.js';

let work: string;
let layout: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'oci-client-'));
  layout = join(work, 'layout');
  await buildLayoutImage(layout, 'v1', [[{ path: 'f', content: 20_000 }]]);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('redirects to blob storage', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let storage: http.Server;
  const storageRequests: http.IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'token' });
    await skopeoCopy(`oci:${layout}:v1`, registryRef(registry, 'team/app:v1'), { destRegistry: registry });
    proxy = await FaultProxy.start(registry.url);
    // Blob storage on another origin serves blobs by digest, as a CDN or S3 presigned URL would.
    storage = http.createServer((req, res) => {
      storageRequests.push(req.headers);
      const hex = /sha256:([a-f0-9]{64})/.exec(req.url ?? '')?.[1];
      if (!hex) return void res.writeHead(404).end();
      res.writeHead(200);
      createReadStream(join(layout, 'blobs', 'sha256', hex)).pipe(res);
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    storage?.close();
    await proxy?.stop();
    await registry?.stop();
  });

  it('follows the redirect without sending the registry credentials to the other host', async () => {
    const origin = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    proxy.redirectTo(/GET .*\/blobs\//, origin);
    const tokensBefore = registry.tokenServer!.requests();
    const client = new RegistryClient({
      credentials: staticCredentials({
        [proxy.host]: { kind: 'basic', username: registry.username!, password: registry.password! },
      }),
      env: {},
    });
    try {
      const image = await openRegistryImage(parseReference(`${proxy.host}/team/app:v1`), { client });
      const [layer] = await image.layers();
      let size = 0;
      for await (const c of await layer!.open()) size += (c as Buffer).length;
      expect(size).toBe(layer!.descriptor.size);
      expect(storageRequests.length).toBeGreaterThanOrEqual(2);
      expect(storageRequests.every((h) => h.authorization === undefined)).toBe(true);
      expect(proxy.requests.find((r) => r.path.includes('/manifests/'))?.authorization).toMatch(/^Bearer /);
      // Credentials went to the token service once for this scope, and the token was reused.
      expect(registry.tokenServer!.requests() - tokensBefore).toBe(1);
    } finally {
      client.close();
    }
  });
});

describe('transport security', () => {
  it('refuses plain HTTP to a non-loopback host unless it is marked insecure', async () => {
    // A plain-HTTP registry API on this machine's network address, which is not a loopback address.
    const address = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine');
    const server = http.createServer((_req, res) => res.writeHead(200).end('{}'));
    await new Promise<void>((r) => server.listen(0, address, r));
    const host = `${address}:${(server.address() as AddressInfo).port}`;
    const options = { credentials: staticCredentials({}), retry: { attempts: 1 } };
    try {
      const strict = new RegistryClient({ ...options, env: {} });
      const err = await strict.ping(host).catch((e) => e);
      strict.close();
      expect(err instanceof TlsError || err instanceof RegistryUnreachableError).toBe(true);

      const viaEnv = new RegistryClient({
        ...options,
        env: { III_INSECURE_REGISTRIES: `other.example, ${host}` },
      });
      expect((await viaEnv.ping(host)).url).toBe(`http://${host}/v2/`);
      viaEnv.close();

      const insecure = new RegistryClient({ ...options, env: {}, insecure: true });
      expect((await insecure.ping(host)).url).toBe(`http://${host}/v2/`);
      insecure.close();

      // Loopback names may always use plain HTTP.
      const local = http.createServer((_req, res) => res.writeHead(200).end('{}'));
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      const port = (local.address() as AddressInfo).port;
      const loopback = new RegistryClient({ ...options, env: {} });
      expect((await loopback.ping(`127.0.0.1:${port}`)).url).toBe(`http://127.0.0.1:${port}/v2/`);
      loopback.close();
      local.close();
    } finally {
      server.close();
    }
  });

  it('verifies TLS certificates and trusts an extra CA file', async () => {
    const registry = await startRegistry({ flavor: 'basic' });
    try {
      const untrusted = new RegistryClient({
        credentials: staticCredentials({}),
        env: {},
        retry: { attempts: 1 },
      });
      // Loopback may fall back to HTTP, which a TLS-only registry refuses: the error names TLS or the connection.
      const err = await untrusted.ping(registry.host).catch((e) => e);
      expect(err instanceof TlsError || err instanceof RegistryUnreachableError).toBe(true);
      untrusted.close();
      const trusted = new RegistryClient({
        caFiles: [registry.caFile!],
        credentials: staticCredentials({}),
        env: {},
      });
      expect((await trusted.ping(registry.host)).url).toBe(`https://${registry.host}/v2/`);
      trusted.close();
    } finally {
      await registry.stop();
    }
  });

  it('reports an unknown registry host', async () => {
    const client = new RegistryClient({
      credentials: staticCredentials({}),
      env: {},
      retry: { attempts: 1 },
    });
    try {
      const err = await openRegistryImage(parseReference('no-such-host.invalid/x:1'), { client }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(UnknownHostError);
      expect(err.code).toBe('UNKNOWN_HOST');
    } finally {
      client.close();
    }
  });
});
