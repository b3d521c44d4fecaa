import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registryRef, runCommand, skopeoCopy, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore } from '../src/index.js';
import { buildLayoutImage } from './build-image.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let work: string;
let registry: TestRegistry;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'oci-procs-'));
  const layout = join(work, 'layout');
  // Both images share their first layer, so the processes race for the same blob too.
  const shared = [{ path: 'shared', content: 200_000 }];
  await buildLayoutImage(layout, 'a', [shared, [{ path: 'a.txt', content: 'a' }]]);
  await buildLayoutImage(layout, 'b', [[{ path: 'b.bin', content: 100_000 }]]);
  registry = await startRegistry({ flavor: 'plain' });
  await skopeoCopy(`oci:${layout}:a`, registryRef(registry, 'team/a:1'), { destRegistry: registry });
  await skopeoCopy(`oci:${layout}:b`, registryRef(registry, 'team/b:1'), { destRegistry: registry });
});
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('a store shared by processes', () => {
  it('keeps every entry and a valid layout when processes pull into it at once', async () => {
    const store = join(work, 'store');
    const pull = (repo: string, name: string) =>
      runCommand(
        process.execPath,
        ['--import', 'tsx', 'test/pull-process.ts', store, `${registry.host}/${repo}`, name],
        { cwd: packageDir },
      );
    const digests = await Promise.all([
      pull('team/a:1', 'a:1'),
      pull('team/b:1', 'b:1'),
      pull('team/a:1', 'a-again:1'),
      pull('team/b:1', 'b-again:1'),
    ]);
    const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8'));
    const names = index.manifests.map(
      (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
    );
    expect(names.sort()).toEqual(['a-again:1', 'a:1', 'b-again:1', 'b:1']);
    for (const [i, name] of ['a:1', 'b:1', 'a-again:1', 'b-again:1'].entries()) {
      const inspected = JSON.parse(await runCommand('skopeo', ['inspect', `oci:${store}:${name}`]));
      expect(inspected.Digest).toBe(digests[i]!.trim());
    }
    expect((await readdir(store)).filter((f) => f.endsWith('.lock') || f.endsWith('.tmp'))).toEqual([]);
    expect(await readdir(join(store, 'ingest'))).toEqual([]);
    // Every stored image reads back verified.
    const s = new ImageStore(store);
    for (const name of names) {
      const image = await s.find(name);
      for (const layer of await image!.layers()) for await (const _ of await layer.open());
    }
  });
});
