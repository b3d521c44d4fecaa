import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, type ExampleRun, runReadmeExample } from '@iii/tools/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let example: ExampleRun<{
  name: string;
  digest: string;
  config: Record<string, string>;
  lock: string;
  env: string[];
  address: { rule: string };
  argv: string[];
  prunableBytes: number;
  rootfs: string;
}>;

beforeAll(async () => {
  example = await runReadmeExample(packageDir, 'examples/add-and-plan.ts', 'workers-example-');
});
afterAll(async () => {
  await example?.remove();
});

describe('README example script', () => {
  it('resolves, installs, pins, locates and plans a worker, with nothing to prune', async () => {
    const fixture = await busybox();
    const result = example.result;
    expect(result.name).toBe('busybox');
    expect(result.digest).toBe(fixture.digest);
    // The image's ENV became `config:` defaults (system variables dropped), pinned in iii.lock.
    expect(result.config).toMatchObject({ GREETING: 'hello', LOG_LEVEL: 'info' });
    expect(result.config.PATH).toBeUndefined();
    expect(result.lock).toContain(fixture.digest);
    // The plan: the image's default III_URL gives way to the engine's address.
    expect(result.env).toContain('III_URL=ws://127.0.0.1:49134');
    expect(result.env).toContain('GREETING=hello');
    expect(result.address.rule).toBe('engine');
    expect(result.argv).toEqual(['/usr/local/bin/iii-worker.sh']);
    expect(result.prunableBytes).toBe(0);
    expect(await readFile(join(result.rootfs, 'etc/passwd'), 'utf8')).toContain('worker');
  });
});
