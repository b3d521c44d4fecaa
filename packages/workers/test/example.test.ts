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
  work = await mkdtemp(join(tmpdir(), 'workers-example-'));
  registry = await startRegistry({ flavor: 'plain' });
  await pushFixture('busybox', registry, 'demo/busybox:1');
});
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('README example script', () => {
  it('resolves, installs, pins, locates and plans a worker, with nothing to prune', async () => {
    const fixture = await busybox();
    const out = await runCommand(
      process.execPath,
      ['--import', 'tsx', 'examples/add-and-plan.ts', `${registry.host}/demo/busybox:1`, join(work, 'state')],
      { cwd: packageDir, env: { ...process.env, HOME: work } },
    );
    const result = JSON.parse(out);
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
