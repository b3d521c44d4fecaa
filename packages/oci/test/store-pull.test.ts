import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FaultProxy,
  registryRef,
  registryRequest,
  requireTools,
  runCommand,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobTooShortError,
  DigestMismatchError,
  ImageNotFoundError,
  ImageStore,
  openRegistryImage,
  type PullProgress,
  parseReference,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryRetryEvent,
  RegistryStalledError,
  staticCredentials,
} from '../src/index.js';
import { buildLayoutImage } from './build-image.js';

let work: string;
let registry: TestRegistry;
let proxy: FaultProxy;
let bigLayer: string;

beforeAll(async () => {
  requireTools(['skopeo', 'umoci']);
  work = await mkdtemp(join(tmpdir(), 'oci-store-'));
  const layout = join(work, 'layout');
  await buildLayoutImage(
    layout,
    'v1',
    [
      [{ path: 'app/hello.txt', content: 'hello from a layer\n' }],
      [{ path: 'app/big.bin', content: 400_000 }],
      [{ path: 'etc/worker.txt', content: 'third' }],
    ],
    { env: ['FOO=bar'] },
  );
  await buildLayoutImage(layout, 'v2', [[{ path: 'other.txt', content: 'v2' }]]);
  registry = await startRegistry({ flavor: 'plain' });
  for (const tag of ['v1', 'v2']) {
    await skopeoCopy(`oci:${layout}:${tag}`, registryRef(registry, `team/app:${tag}`), {
      destRegistry: registry,
    });
  }
  proxy = await FaultProxy.start(registry.url);
  const manifest = JSON.parse(
    await runCommand('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      registryRef(registry, 'team/app:v1'),
    ]),
  );
  bigLayer = manifest.layers.reduce((a: { size: number }, b: { size: number }) =>
    a.size > b.size ? a : b,
  ).digest;
  // A corrupt image: its manifest declares the big layer 1000 bytes longer than the blob is.
  for (const layer of manifest.layers) if (layer.digest === bigLayer) layer.size += 1000;
  const put = await registryRequest(registry, '/v2/team/app/manifests/short', {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' },
    body: JSON.stringify(manifest),
  });
  if (put.status !== 201) throw new Error(`pushing the short manifest: HTTP ${put.status} ${put.text()}`);
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

let storeDir: string;
beforeEach(async () => {
  storeDir = await mkdtemp(join(work, 'store-'));
  proxy.clear();
});

function client(attempts = 5, options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({
    credentials: staticCredentials({}),
    env: {},
    retry: { attempts, baseDelayMs: 5, maxDelayMs: 50 },
    ...options,
  });
}

/** A client that gives up on a silent registry after `ms` (short, so stall tests are quick). */
function stallClient(ms: number, retries: RegistryRetryEvent[] = []): RegistryClient {
  return client(5, { stallTimeoutMs: ms, onRetry: (e) => retries.push(e) });
}

/** The store holds no image and no blob of `digest`, whatever its ingest directory keeps. */
async function nothingCommitted(digest: string): Promise<void> {
  const store = new ImageStore(storeDir);
  expect(await store.list()).toEqual([]);
  await expect(stat(store.blobPath(digest))).rejects.toThrow();
}

async function pull(tag: string, c = client(), onProgress?: (e: PullProgress) => void) {
  const store = new ImageStore(storeDir);
  try {
    const image = await openRegistryImage(parseReference(`${proxy.host}/team/app:${tag}`), { client: c });
    return { store, image: await store.pull(image, { onProgress }) };
  } finally {
    c.close();
  }
}

const blobGets = () => proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));

describe('ImageStore.pull', () => {
  it('writes an OCI layout that skopeo and umoci read', async () => {
    const events: PullProgress[] = [];
    const { image } = await pull('v1', client(), (e) => events.push(e));
    const name = `${proxy.host}/team/app:v1`;
    const inspected = JSON.parse(await runCommand('skopeo', ['inspect', `oci:${storeDir}:${name}`]));
    expect(inspected.Digest).toBe(image.digest);
    expect(inspected.Layers).toHaveLength(3);
    const bundle = join(work, `bundle-${Date.now()}`);
    await runCommand('umoci', ['unpack', '--image', `${storeDir}:${name}`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/app/hello.txt'), 'utf8')).toBe('hello from a layer\n');
    expect((await stat(join(bundle, 'rootfs/app/big.bin'))).size).toBe(400_000);
    expect(events.filter((e) => e.status === 'done' && e.kind === 'layer')).toHaveLength(3);
    expect(events.some((e) => e.status === 'downloading' && e.done > 0 && e.done < e.total)).toBe(true);
    expect(await readdir(join(storeDir, 'ingest'))).toEqual([]);
    expect((await image.config()).config?.Env).toContain('FOO=bar');
  });

  it('downloads no blob and writes nothing when pulling a stored image again', async () => {
    await pull('v1');
    const index = await stat(join(storeDir, 'index.json'));
    proxy.clear();
    const events: PullProgress[] = [];
    await pull('v1', client(), (e) => events.push(e));
    expect(blobGets()).toEqual([]);
    // index.json says the same, so it is not written again (its entries come back from the schema
    // with their keys in another order than a new entry's).
    const again = await stat(join(storeDir, 'index.json'));
    expect([again.ino, again.mtimeMs]).toEqual([index.ino, index.mtimeMs]);
    expect(events.filter((e) => e.kind === 'layer').every((e) => e.status === 'exists')).toBe(true);
    expect(proxy.requests.filter((r) => r.path.includes('/manifests/'))).toHaveLength(1);
  });

  it('keeps both images when two pulls update index.json at once', async () => {
    await Promise.all([pull('v1'), pull('v2')]);
    const index = JSON.parse(await readFile(join(storeDir, 'index.json'), 'utf8'));
    const names = index.manifests.map(
      (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
    );
    expect(names.sort()).toEqual([`${proxy.host}/team/app:v1`, `${proxy.host}/team/app:v2`]);
  });

  it('resumes a blob whose connection is cut mid-body and completes', async () => {
    proxy.cutAfter(new RegExp(`GET .*/blobs/${bigLayer}`), 150_000);
    const { store, image } = await pull('v1');
    const ranged = blobGets().filter((r) => r.path.includes(bigLayer));
    expect(ranged.length).toBe(2);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranged[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(150_000);
    const layers = await image.layers();
    for (const l of layers) expect(await store.hasBlob(l.descriptor)).toBe(true);
  });

  it('resumes an interrupted pull from its partial file in a later run', async () => {
    proxy.cutAfter(new RegExp(`GET .*/blobs/${bigLayer}`), 300_000);
    await expect(pull('v1', client(1))).rejects.toThrow(/connection lost|cannot reach/);
    const partial = join(storeDir, 'ingest', bigLayer.slice(7));
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(300_000);
    proxy.clear();
    await pull('v1');
    expect(blobGets().find((r) => r.path.includes(bigLayer))?.range).toBe(`bytes=${kept}-`);
    await expect(stat(partial)).rejects.toThrow();
  });

  it('resumes from a server that ignores Range by skipping what it already has', async () => {
    proxy.cutAfter(new RegExp(`GET .*/blobs/${bigLayer}`), 120_000);
    proxy.ignoreRange(new RegExp(`GET .*/blobs/${bigLayer}`));
    const { store, image } = await pull('v1');
    expect(blobGets().filter((r) => r.path.includes(bigLayer))).toHaveLength(2);
    for (const l of await image.layers()) expect(await store.hasBlob(l.descriptor)).toBe(true);
  });

  it('stops on abort and keeps the partial blob for the next pull', async () => {
    const controller = new AbortController();
    const store = new ImageStore(storeDir);
    const c = client();
    try {
      const image = await openRegistryImage(parseReference(`${proxy.host}/team/app:v1`), { client: c });
      const err = await store
        .pull(image, {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.digest === bigLayer && e.status === 'downloading' && e.done > 0) controller.abort();
          },
        })
        .catch((e) => e);
      expect(err.name).toBe('AbortError');
    } finally {
      c.close();
    }
    expect(await store.list()).toEqual([]);
    await expect(stat(store.blobPath(bigLayer))).rejects.toThrow();
    await pull('v1');
    expect((await store.list()).length).toBe(1);
  });

  it('resumes with a Range request a blob that stalls once mid-body', async () => {
    proxy.stallAt(new RegExp(`GET .*/blobs/${bigLayer}`), 150_000);
    const retries: RegistryRetryEvent[] = [];
    // Long enough that a loaded machine's pauses are not taken for the stall.
    const { store, image } = await pull('v1', stallClient(1000, retries));
    const gets = blobGets().filter((r) => r.path.includes(bigLayer));
    expect(gets.map((r) => r.fault)).toEqual(['stall', undefined]);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(150_000);
    expect(retries.filter((r) => r.what === `layer ${bigLayer}`)).toEqual([
      expect.objectContaining({ host: proxy.host, attempt: 1, reason: 'no data for 1 s' }),
    ]);
    for (const l of await image.layers()) expect(await store.hasBlob(l.descriptor)).toBe(true);
  });

  it('does not take a reader that holds a blob back for a stalled registry', async () => {
    const retries: RegistryRetryEvent[] = [];
    const c = stallClient(200, retries);
    try {
      const image = await openRegistryImage(parseReference(`${proxy.host}/team/app:v1`), { client: c });
      const layer = (await image.layers()).find((l) => l.descriptor.digest === bigLayer)!;
      const chunks = (await layer.open())[Symbol.asyncIterator]();
      let size = ((await chunks.next()).value as Buffer).length;
      // Read nothing for several stall timeouts: the registry waits for us, not we for it.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) size += next.value.length;
      expect(size).toBe(layer.descriptor.size);
    } finally {
      c.close();
    }
    expect(blobGets().filter((r) => r.path.includes(bigLayer))).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('fails naming the registry and the layer when a blob stalls on every try, and commits nothing', async () => {
    proxy.stallAt(new RegExp(`GET .*/blobs/${bigLayer}`), 150_000, Number.POSITIVE_INFINITY);
    const err = await pull('v1', stallClient(300)).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryStalledError);
    expect(err.code).toBe('REGISTRY_STALLED');
    expect(err.message).toContain(`registry ${proxy.host} stalled while sending layer ${bigLayer}`);
    expect(err.tries).toBe(3);
    // The first try sent bytes, the two resumes none: three tries without progress past the stall.
    expect(blobGets().filter((r) => r.path.includes(bigLayer) && r.fault === 'stall')).toHaveLength(3);
    await nothingCommitted(bigLayer);
    // What did arrive is kept for the next pull to resume from, outside the blobs.
    expect((await stat(join(storeDir, 'ingest', bigLayer.slice(7)))).size).toBeLessThanOrEqual(150_000);
  });

  it('retries a request the registry never answers, then fails naming the registry and the request', async () => {
    proxy.hang(/GET .*\/manifests\//);
    await pull('v1', stallClient(1000));
    expect(proxy.requests.filter((r) => r.path.includes('/manifests/')).map((r) => r.fault)).toEqual([
      'hang',
      undefined,
    ]);
    proxy.clear();
    proxy.hang(/GET .*\/manifests\//, Number.POSITIVE_INFINITY);
    const err = await pull('v2', stallClient(300)).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryStalledError);
    expect(err.message).toBe(
      `registry ${proxy.host} accepted the connection but did not answer GET /v2/team/app/manifests/v2 within 0.3 s (3 tries)`,
    );
    expect(proxy.requests.filter((r) => r.fault === 'hang')).toHaveLength(3);
  });

  it('fails when the registry never answers a blob request, and commits nothing', async () => {
    proxy.hang(new RegExp(`GET .*/blobs/${bigLayer}`), Number.POSITIVE_INFINITY);
    const err = await pull('v1', stallClient(300)).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryStalledError);
    expect(err.message).toContain(`did not answer GET /v2/team/app/blobs/${bigLayer}`);
    expect(blobGets().filter((r) => r.path.includes(bigLayer))).toHaveLength(3);
    await nothingCommitted(bigLayer);
  });

  it('says a blob is shorter than its manifest declares, without retrying, and commits nothing', async () => {
    const err = await pull('short').catch((e) => e);
    expect(err).toBeInstanceOf(BlobTooShortError);
    expect(err.code).toBe('BLOB_TOO_SHORT');
    expect(err.message).toMatch(
      new RegExp(
        `^layer ${bigLayer} from registry ${proxy.host} is shorter than the manifest declares: (\\d+) bytes, manifest says \\d+$`,
      ),
    );
    expect(err.declared - err.actual).toBe(1000);
    expect(err.hint).toMatch(/corrupt/);
    expect(blobGets().filter((r) => r.path.includes(bigLayer))).toHaveLength(1);
    await nothingCommitted(bigLayer);
    expect(await readdir(join(storeDir, 'ingest'))).not.toContain(bigLayer.slice(7));
  });

  it('retries 500 and 429 answers', async () => {
    proxy.failWith(/GET .*\/manifests\//, 500, 2);
    proxy.failWith(new RegExp(`GET .*/blobs/${bigLayer}`), 429, 2, '0');
    await pull('v1');
    expect(proxy.requests.filter((r) => r.status === 500)).toHaveLength(2);
    expect(proxy.requests.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('waits as long as Retry-After asks, within the configured cap', async () => {
    const waits: number[] = [];
    const c = new RegistryClient({
      credentials: staticCredentials({}),
      env: {},
      retry: { baseDelayMs: 5, maxDelayMs: 10_000 },
      // Records the waits instead of sleeping them, so the test asserts the policy, not the clock.
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    proxy.failWith(/GET .*\/manifests\//, 429, 1, '7');
    proxy.failWith(new RegExp(`GET .*/blobs/${bigLayer}`), 503, 1, '120');
    await pull('v1', c);
    expect(waits).toContain(7000);
    expect(waits).toContain(10_000);
  });

  it('fails with DigestMismatchError on a flipped byte and commits nothing', async () => {
    proxy.flipByte(new RegExp(`GET .*/blobs/${bigLayer}`), 1000);
    const err = await pull('v1').catch((e) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err.code).toBe('DIGEST_MISMATCH');
    const store = new ImageStore(storeDir);
    expect(await store.list()).toEqual([]);
    expect(await store.hasBlob({ digest: bigLayer, size: 0 })).toBe(false);
    await expect(stat(store.blobPath(bigLayer))).rejects.toThrow();
    // Other layers may have been stopped mid-download (kept for resuming); the corrupt one is gone.
    expect(await readdir(join(storeDir, 'ingest'))).not.toContain(bigLayer.slice(7));
  });

  it('says the repository or tag does not exist on 404', async () => {
    const err = await pull('missing-tag').catch((e) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect(err.message).toContain('does not exist');
    const err2 = await openRegistryImage(parseReference(`${proxy.host}/no/such-repo:1`), {
      client: client(),
    }).catch((e) => e);
    expect(err2).toBeInstanceOf(ImageNotFoundError);
    expect(err2.message).toContain('repository or tag does not exist');
  });

  it('finds stored images by name and reads them offline', async () => {
    await pull('v2');
    const store = new ImageStore(storeDir);
    const image = await store.find(`${proxy.host}/team/app:v2`);
    expect(image).toBeDefined();
    const [layer] = await image!.layers();
    let size = 0;
    for await (const c of await layer!.open()) size += (c as Buffer).length;
    expect(size).toBe(layer!.descriptor.size);
    await writeFile(join(work, 'unused'), '');
  });
});
