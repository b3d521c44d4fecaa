import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, type ExampleRun, runReadmeExample } from '@iii/tools/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let example: ExampleRun<{ digest: string; env: string[]; rootfs: string }>;

beforeAll(async () => {
  example = await runReadmeExample(packageDir, 'examples/pull-and-unpack.ts', 'oci-example-');
});
afterAll(async () => {
  await example?.remove();
});

describe('README example script', () => {
  it('pulls, inspects and unpacks an image from a registry', async () => {
    const fixture = await busybox();
    const result = example.result;
    expect(result.digest).toBe(fixture.digest);
    expect(result.env).toContain('GREETING=hello');
    expect(await readFile(join(result.rootfs, 'etc/passwd'), 'utf8')).toContain('worker');
  });
});
