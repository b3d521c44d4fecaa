import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, pushFixture } from '@iii/tools/fixtures';
import { runCommand, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let work: string;
let registry: TestRegistry;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'oci-example-'));
  registry = await startRegistry({ flavor: 'plain' });
  await pushFixture('busybox', registry, 'demo/busybox:1');
});
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('README example script', () => {
  it('pulls, inspects and unpacks an image from a registry', async () => {
    const fixture = await busybox();
    const out = await runCommand(
      process.execPath,
      [
        '--import',
        'tsx',
        'examples/pull-and-unpack.ts',
        `${registry.host}/demo/busybox:1`,
        join(work, 'state'),
      ],
      { cwd: packageDir, env: { ...process.env, HOME: work } },
    );
    const result = JSON.parse(out);
    expect(result.digest).toBe(fixture.digest);
    expect(result.env).toContain('GREETING=hello');
    expect(await readFile(join(result.rootfs, 'etc/passwd'), 'utf8')).toContain('worker');
  });
});
