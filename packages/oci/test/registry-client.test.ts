import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FaultProxy,
  freePort,
  registryRef,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openRegistryImage,
  parseReference,
  RegistryClient,
  type RegistryRetryEvent,
  RegistryStalledError,
  RegistryUnreachableError,
  staticCredentials,
  TlsError,
  UnknownHostError,
} from '../src/index.js';
import { type HttpTransport, nodeHttpTransport } from '../src/registry/http-transport.js';
import { buildLayoutImage } from './build-image.js';

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

describe('a token service that never answers', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let tokenProxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'token' });
    await skopeoCopy(`oci:${layout}:v1`, registryRef(registry, 'team/app:v1'), { destRegistry: registry });
    tokenProxy = await FaultProxy.start(registry.tokenServer!.url);
    proxy = await FaultProxy.start(registry.url);
    // The registry's challenge sends clients to the token service through the second proxy.
    proxy.rewriteHeader('www-authenticate', new URL(registry.tokenServer!.url).origin, tokenProxy.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await tokenProxy?.stop();
    await registry?.stop();
  });

  it('retries the token request, then fails naming the token service', async () => {
    tokenProxy.hang(/^GET /, Number.POSITIVE_INFINITY);
    const retries: RegistryRetryEvent[] = [];
    const client = new RegistryClient({
      credentials: staticCredentials({}),
      env: {},
      stallTimeoutMs: 300,
      onRetry: (e) => retries.push(e),
    });
    try {
      const err = await openRegistryImage(parseReference(`${proxy.host}/team/app:v1`), { client }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(RegistryStalledError);
      const path = new URL(registry.tokenServer!.url).pathname;
      expect(err.message).toBe(
        `token service ${tokenProxy.host} accepted the connection but did not answer GET ${path} within 0.3 s (3 tries)`,
      );
      expect(tokenProxy.requests.filter((r) => r.fault === 'hang')).toHaveLength(3);
      expect(retries.map((r) => [r.host, r.attempt, r.reason])).toEqual([
        [tokenProxy.host, 1, 'no answer for 0.3 s'],
        [tokenProxy.host, 2, 'no answer for 0.3 s'],
      ]);
    } finally {
      client.close();
    }
  });
});

/** The default transport, counting the requests it sends. */
function countingTransport(): { transport: HttpTransport & { close(): void }; sent: string[] } {
  const inner = nodeHttpTransport();
  const sent: string[] = [];
  const transport = Object.assign(
    (req: Parameters<HttpTransport>[0]) => {
      sent.push(`${req.method} ${req.url}`);
      return inner(req);
    },
    { close: () => inner.close() },
  );
  return { transport, sent };
}

describe('a refused connection', () => {
  it('fails at once, without retrying, when nothing listens on a loopback port', async () => {
    const port = await freePort();
    const { transport, sent } = countingTransport();
    const retries: RegistryRetryEvent[] = [];
    const waits: number[] = [];
    const client = new RegistryClient({
      transport,
      credentials: staticCredentials({}),
      env: {},
      onRetry: (e) => retries.push(e),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    try {
      const err = await openRegistryImage(parseReference(`127.0.0.1:${port}/team/app:1`), { client }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(RegistryUnreachableError);
      expect(err.message).toBe(`cannot reach registry 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
      expect(err.hint).toMatch(/^Nothing listens at that address/);
      expect(err.hint).not.toContain('--insecure');
      // One try: plain HTTP (first on loopback) is refused, and the same port would refuse HTTPS too.
      expect(sent).toEqual([`GET http://127.0.0.1:${port}/v2/`]);
      expect(retries).toEqual([]);
      expect(waits).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('retries a refused remote host with backoff, telling the caller each time', async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine');
    // Free on 127.0.0.1 means free on every address: a wildcard listener would have held it.
    const host = `${address}:${await freePort()}`;
    const { transport, sent } = countingTransport();
    const retries: RegistryRetryEvent[] = [];
    const client = new RegistryClient({
      transport,
      credentials: staticCredentials({}),
      env: {},
      retry: { attempts: 3, baseDelayMs: 100 },
      onRetry: (e) => retries.push(e),
      sleep: async () => {},
    });
    try {
      const err = await client.ping(host).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryUnreachableError);
      expect(err.message).toBe(`cannot reach registry ${host}: ECONNREFUSED`);
      expect(sent).toHaveLength(3);
      expect(retries).toEqual([
        { host, what: 'GET /v2/', attempt: 1, attempts: 3, reason: 'ECONNREFUSED', delayMs: 100 },
        { host, what: 'GET /v2/', attempt: 2, attempts: 3, reason: 'ECONNREFUSED', delayMs: 200 },
      ]);
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

      // Loopback names may always use plain HTTP, and are asked over it first: no TLS handshake on
      // every command for the registry a developer runs on their machine.
      const local = http.createServer((_req, res) => res.writeHead(200).end('{}'));
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      const port = (local.address() as AddressInfo).port;
      const { transport, sent } = countingTransport();
      const loopback = new RegistryClient({ ...options, env: {}, transport });
      expect((await loopback.ping(`127.0.0.1:${port}`)).url).toBe(`http://127.0.0.1:${port}/v2/`);
      expect(sent).toEqual([`GET http://127.0.0.1:${port}/v2/`]);
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
