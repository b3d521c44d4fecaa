import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FaultProxy,
  type RegistryFlavor,
  requireTools,
  runCommand,
  skopeoRegistryArgs,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ImageStore,
  openImage,
  openRegistryImage,
  type PushProgress,
  parseReference,
  pushImage,
  pushIndex,
  RegistryClient,
  staticCredentials,
} from '../src/index.js';
import { buildLayoutImage } from './build-image.js';

let work: string;
let layout: string;
beforeAll(async () => {
  requireTools(['skopeo', 'umoci']);
  work = await mkdtemp(join(tmpdir(), 'oci-push-'));
  layout = join(work, 'layout');
  await buildLayoutImage(layout, 'v1', [
    [{ path: 'a.txt', content: 'a' }],
    [{ path: 'big.bin', content: 120_000 }],
  ]);
});
afterAll(() => rm(work, { recursive: true, force: true }));

function clientFor(registry: TestRegistry): RegistryClient {
  return new RegistryClient({
    caFiles: registry.caFile ? [registry.caFile] : [],
    credentials: staticCredentials(
      registry.username
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

async function skopeoDigest(registry: TestRegistry, repoTag: string): Promise<string> {
  const out = await runCommand('skopeo', [
    'inspect',
    ...skopeoRegistryArgs(registry),
    `docker://${registry.host}/${repoTag}`,
  ]);
  return JSON.parse(out).Digest;
}

describe.each<RegistryFlavor>(['plain', 'basic', 'token'])('push to a %s registry', (flavor) => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ flavor });
  });
  afterAll(() => registry?.stop());

  it('uploads an image that skopeo then reads with the same digest', async () => {
    const client = clientFor(registry);
    const image = await openImage(`oci-layout:${layout}:v1`);
    try {
      const { digest } = await pushImage(image, parseReference(`${registry.host}/team/pushed:1`), { client });
      expect(digest).toBe(image.digest);
      expect(await skopeoDigest(registry, 'team/pushed:1')).toBe(image.digest);
    } finally {
      client.close();
    }
  });

  it('uploads in chunks and round-trips through the store', async () => {
    const client = clientFor(registry);
    try {
      const store = new ImageStore(join(work, `store-${flavor}`));
      const stored = await store.pull(await openImage(`oci-layout:${layout}:v1`));
      const ref = parseReference(`${registry.host}/team/chunked:2`);
      await pushImage(stored, ref, { client, chunkSize: 32 * 1024 });
      const back = await openRegistryImage(ref, { client });
      expect(back.digest).toBe(stored.digest);
      const pulled = await new ImageStore(join(work, `store2-${flavor}`)).pull(back);
      expect((await pulled.layers()).map((l) => l.descriptor.digest)).toEqual(
        (await stored.layers()).map((l) => l.descriptor.digest),
      );
    } finally {
      client.close();
    }
  });
});

describe('push through a proxy', () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  beforeAll(async () => {
    registry = await startRegistry({ flavor: 'plain' });
    proxy = await FaultProxy.start(registry.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('skips blobs the repository has and mounts blobs from another repository', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({}), env: {} });
    const image = await openImage(`oci-layout:${layout}:v1`);
    try {
      const first = parseReference(`${proxy.host}/team/one:1`);
      await pushImage(image, first, { client });
      proxy.clear();
      const again: PushProgress[] = [];
      await pushImage(image, first, { client, onProgress: (e) => again.push(e) });
      expect(again.filter((e) => e.kind !== 'manifest').every((e) => e.status === 'exists')).toBe(true);
      expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/'))).toEqual([]);

      proxy.clear();
      const mounted: PushProgress[] = [];
      await pushImage(image, parseReference(`${proxy.host}/team/two:1`), {
        client,
        mountFrom: [first],
        onProgress: (e) => mounted.push(e),
      });
      expect(mounted.filter((e) => e.kind === 'layer').every((e) => e.status === 'mounted')).toBe(true);
      expect(
        proxy.requests.some((r) => r.path.includes('mount=') && r.path.includes('from=team%2Fone')),
      ).toBe(true);
    } finally {
      client.close();
    }
  });

  it('retries a 500 on upload and pushes an index over the images', async () => {
    const client = new RegistryClient({
      credentials: staticCredentials({}),
      env: {},
      retry: { baseDelayMs: 5 },
    });
    const image = await openImage(`oci-layout:${layout}:v1`);
    try {
      proxy.failWith(/POST .*\/blobs\/uploads\//, 500, 1);
      const ref = parseReference(`${proxy.host}/team/multi:1`);
      const { digest } = await pushIndex([image], ref, { client });
      const back = await openRegistryImage(ref, {
        client,
        platform: { os: 'linux', architecture: (await image.config()).architecture },
      });
      expect(back.index?.digest).toBe(digest);
      expect(back.digest).toBe(image.digest);
      expect(proxy.requests.filter((r) => r.status === 500)).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});
