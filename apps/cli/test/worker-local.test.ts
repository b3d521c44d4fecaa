import { copyFile, cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigDocument, parseLockFile } from '@iii/config';
import { buildFixture, dockerArchive, ociArchive } from '@iii/tools/fixtures';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { iii, makeSandbox, type Sandbox } from './worker-harness.js';

let layout: { dir: string; tag: string; digest: string };
let ociTar: string;
let dockerTar: string;

beforeAll(async () => {
  const fixture = await buildFixture('busybox');
  layout = { dir: fixture.layout, tag: fixture.tag, digest: fixture.digest };
  ociTar = (await ociArchive('busybox')).file;
  dockerTar = (await dockerArchive('busybox')).file;
});

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
  // Relative paths are resolved from the working directory and written absolute.
  await cp(layout.dir, join(sb.cwd, 'layout'), { recursive: true });
  await copyFile(ociTar, join(sb.cwd, 'image-oci.tar'));
  await copyFile(dockerTar, join(sb.cwd, 'image-docker.tar'));
});
afterEach(async () => {
  await sb.remove();
});

describe('iii worker add with local images', () => {
  it('adds an OCI layout, an OCI archive and a docker archive, by prefix or by plain path', async () => {
    const adds: [string, string][] = [
      [`oci-layout:layout:${layout.tag}`, 'from-layout'],
      ['./layout', 'plain-layout'],
      ['oci-archive:image-oci.tar', 'from-oci-archive'],
      ['docker-archive:image-docker.tar', 'from-docker-archive'],
      ['./image-docker.tar', 'plain-docker'],
    ];
    for (const [ref, name] of adds) {
      const r = await iii(sb, ['worker', 'add', ref, '--name', name]);
      expect(r.code, `${ref}: ${r.stderr}`).toBe(0);
    }
    const doc = ConfigDocument.parse(await readFile(sb.configPath, 'utf8'), sb.configPath);
    expect(doc.worker('from-layout')?.image).toBe(`oci-layout:${join(sb.cwd, 'layout')}:${layout.tag}`);
    expect(doc.worker('plain-docker')?.image).toBe(join(sb.cwd, 'image-docker.tar'));
    for (const [, name] of adds) {
      expect(doc.worker(name)?.config).toEqual({
        GREETING: 'hello',
        III_URL: 'ws://localhost:49134',
        LOG_LEVEL: 'info',
      });
      expect(doc.worker(name)?.resources).toEqual({ cpus: 0.5, memory: '256Mi' });
    }
    const lock = parseLockFile(await readFile(sb.lockPath, 'utf8'), sb.lockPath);
    expect(lock.workers['from-layout']?.digest).toBe(layout.digest);
    expect((await iii(sb, ['worker', 'verify'])).code).toBe(0);
  });

  it('names a local image after its file when no name is given', async () => {
    const r = await iii(sb, ['worker', 'add', './image-docker.tar', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).workers[0].name).toBe('image-docker');
  });
});
