import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectBuilder } from './detect-builder.js';

// Real executables on a PATH of our own: a builder is "installed" when an executable file exists.
let bin: string;
beforeEach(async () => {
  bin = await mkdtemp(join(tmpdir(), 'iii-builders-'));
});
afterEach(async () => {
  await rm(bin, { recursive: true, force: true });
});

async function install(name: string, script: string) {
  const file = join(bin, name);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
}

describe('detectBuilder', () => {
  it('skips a docker whose daemon does not answer and picks the next installed builder', async () => {
    await install('docker', 'echo "Cannot connect to the Docker daemon" >&2; exit 1');
    await install('buildah', 'exit 0');
    expect(await detectBuilder({ env: { PATH: bin } })).toBe('buildah');
  });

  it('prefers docker when its daemon answers, then podman, then buildah', async () => {
    await install('podman', 'exit 0');
    await install('buildah', 'exit 0');
    expect(await detectBuilder({ env: { PATH: bin } })).toBe('podman');
    await install('docker', 'echo 28.0.0');
    expect(await detectBuilder({ env: { PATH: bin } })).toBe('docker');
  });

  it('lists what it tried and how to install a builder when none is usable', async () => {
    await install('docker', 'exit 1');
    const err = await detectBuilder({ env: { PATH: bin } }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'NO_IMAGE_BUILDER',
      hint: expect.stringContaining('apt-get install buildah'),
    });
    expect((err as Error).message).toContain('docker is installed but its daemon is not reachable');
    expect((err as Error).message).toContain('podman is not installed');
  });

  it('explains why a named builder cannot be used', async () => {
    await install('docker', 'exit 1');
    await expect(detectBuilder({ preferred: 'docker', env: { PATH: bin } })).rejects.toMatchObject({
      code: 'IMAGE_BUILDER_UNAVAILABLE',
      hint: expect.stringContaining('Start the Docker daemon'),
    });
    await expect(detectBuilder({ preferred: 'buildah', env: { PATH: bin } })).rejects.toMatchObject({
      code: 'IMAGE_BUILDER_UNAVAILABLE',
      hint: expect.stringContaining('apt-get install buildah'),
    });
  });
});
