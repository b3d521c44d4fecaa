import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { buildFixture, pushFixture } from '@iii/tools/fixtures';
import {
  FaultProxy,
  freePort,
  registryRequest,
  requireTools,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bin, iii, makeSandbox, type Sandbox } from './worker-harness.js';

let registry: TestRegistry;
let proxy: FaultProxy;
/** The busybox fixture's biggest layer (about 1 MB). */
let bigLayer: string;
let bigLayerSize: number;

beforeAll(async () => {
  requireTools(['script']);
  registry = await startRegistry({ flavor: 'plain' });
  await buildFixture('busybox');
  await pushFixture('busybox', registry, 'busybox:1');
  const manifest = (
    await registryRequest(registry, '/v2/busybox/manifests/1', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
  ).json() as { layers: { digest: string; size: number }[] };
  const big = manifest.layers.reduce((a, b) => (a.size > b.size ? a : b));
  bigLayer = big.digest;
  bigLayerSize = big.size;
  proxy = await FaultProxy.start(registry.url);
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

const CONFIG = `# workers of this project
workers: []
`;

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
  await writeFile(sb.configPath, CONFIG);
  proxy.clear();
});
afterEach(async () => {
  await sb.remove();
});

const blobGets = (digest: string) =>
  proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`));

describe('iii worker add through a faulty network', () => {
  it('fails with a clear error when the registry stalls mid-layer, changing nothing', async () => {
    const stallAt = Math.floor(bigLayerSize / 3);
    proxy.stallAt(new RegExp(`GET .*/blobs/${bigLayer}`), stallAt, Number.POSITIVE_INFINITY);
    const r = await iii(sb, ['worker', 'add', `${proxy.host}/busybox:1`], {
      III_REGISTRY_STALL_TIMEOUT: '2',
    });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    const error = lines.findIndex((l) => l.startsWith('Error: '));
    expect(lines[error]).toBe(
      `Error: registry ${proxy.host} stalled while sending layer ${bigLayer}: no data for 2 s (3 tries, stopped at byte ${stallAt} of ${bigLayerSize})`,
    );
    expect(lines[error + 1]).toMatch(/III_REGISTRY_STALL_TIMEOUT/);
    // The wait was never silent: each resume was announced.
    expect(lines.filter((l) => l.includes(`no data for 2 s on layer ${bigLayer}; retrying`))).toHaveLength(2);
    expect(blobGets(bigLayer).filter((x) => x.fault === 'stall')).toHaveLength(3);
    expect(
      blobGets(bigLayer)
        .slice(1)
        .every((x) => x.range === `bytes=${stallAt}-`),
    ).toBe(true);

    expect(await readFile(sb.configPath, 'utf8')).toBe(CONFIG);
    await expect(stat(sb.lockPath)).rejects.toThrow();
    await expect(stat(join(sb.home, 'store', 'blobs', 'sha256', bigLayer.slice(7)))).rejects.toThrow();
    const index = await readFile(join(sb.home, 'store', 'index.json'), 'utf8').catch(
      () => '{"manifests":[]}',
    );
    expect(JSON.parse(index).manifests).toEqual([]);
  });

  it('prune frees what a stopped pull left, which a later add would have resumed', async () => {
    proxy.stallAt(
      new RegExp(`GET .*/blobs/${bigLayer}`),
      Math.floor(bigLayerSize / 3),
      Number.POSITIVE_INFINITY,
    );
    const failed = await iii(sb, ['worker', 'add', `${proxy.host}/busybox:1`], {
      III_REGISTRY_STALL_TIMEOUT: '1',
    });
    expect(failed.code).toBe(1);
    const partial = join(sb.home, 'store', 'ingest', bigLayer.slice(7));
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);

    const dry = await iii(sb, ['worker', 'prune', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ downloads: 1, dryRun: true });
    expect(JSON.parse(dry.stdout).freed).toBeGreaterThanOrEqual(kept);
    expect((await stat(partial)).size).toBe(kept);

    const pruned = await iii(sb, ['worker', 'prune', '-y']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stderr).toMatch(/^Freed .*1 unfinished download\)\.$/m);
    await expect(stat(partial)).rejects.toThrow();
    expect((await iii(sb, ['worker', 'prune', '-y'])).stderr).toContain('Nothing to prune.');
  });

  it('fails with a clear error when the registry never answers', async () => {
    proxy.hang(/GET .*\/manifests\//, Number.POSITIVE_INFINITY);
    const r = await iii(sb, ['worker', 'add', `${proxy.host}/busybox:1`], {
      III_REGISTRY_STALL_TIMEOUT: '1',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error: registry ${proxy.host} accepted the connection but did not answer GET /v2/busybox/manifests/1 within 1 s (3 tries)`,
    );
    expect(await readFile(sb.configPath, 'utf8')).toBe(CONFIG);
    await expect(stat(sb.lockPath)).rejects.toThrow();
  });

  it('still resumes a layer whose connection is cut, and adds the worker', async () => {
    const cutAt = Math.floor(bigLayerSize / 2);
    proxy.cutAfter(new RegExp(`GET .*/blobs/${bigLayer}`), cutAt);
    const r = await iii(sb, ['worker', 'add', `${proxy.host}/busybox:1`]);
    expect(r.stderr).toContain('Added worker "busybox"');
    expect(r.code).toBe(0);
    const gets = blobGets(bigLayer);
    expect(gets.map((g) => g.fault)).toEqual(['cut', undefined]);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(cutAt);
    expect((await stat(join(sb.home, 'store', 'blobs', 'sha256', bigLayer.slice(7)))).size).toBe(
      bigLayerSize,
    );
  });

  it('rejects a bad $III_REGISTRY_STALL_TIMEOUT with one clear line', async () => {
    const r = await iii(sb, ['worker', 'add', `${proxy.host}/busybox:1`], {
      III_REGISTRY_STALL_TIMEOUT: 'soon',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Error: invalid $III_REGISTRY_STALL_TIMEOUT "soon": a number of seconds greater than 0',
    );
    expect(proxy.requests).toEqual([]);
    expect(await readFile(sb.configPath, 'utf8')).toBe(CONFIG);
  });
});

describe('iii worker add to a registry that refuses the connection', () => {
  it('fails at once on a loopback address, without retrying', async () => {
    const port = await freePort();
    const r = await iii(sb, ['worker', 'add', `127.0.0.1:${port}/busybox:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Error: cannot reach registry 127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
    expect(r.stderr).toContain('Nothing listens at that address');
    expect(r.stderr).not.toContain('retrying');
    expect(await readFile(sb.configPath, 'utf8')).toBe(CONFIG);
  });

  it('says it is retrying a remote host on a terminal', async () => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine');
    const host = `${address}:${await freePort()}`;
    // `script` gives the CLI a pseudo-terminal, as a user's shell would.
    const command = `${process.execPath} ${bin} worker add ${host}/busybox:1`;
    const out = await new Promise<string>((resolve) => {
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        { cwd: sb.cwd, env: { ...sb.env, TERM: 'xterm' } },
        (_err, stdout) => resolve(stdout),
      );
    });
    const lines = out.split(/\r?\n/);
    const retrying = lines.filter((l) =>
      l.startsWith(`Registry ${host}: ECONNREFUSED on GET /v2/; retrying in`),
    );
    expect(retrying).toHaveLength(4);
    expect(retrying[0]).toMatch(/\(try 2 of 5\)$/);
    expect(out).toContain(`Error: cannot reach registry ${host}: ECONNREFUSED`);
    expect(await readFile(sb.configPath, 'utf8')).toBe(CONFIG);
  });
});
