import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dockerfileBaseImages, pinBaseImages, setArgDefault } from './base-images.js';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'iii-bases-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('dockerfileBaseImages', () => {
  it('finds ARG defaults used in FROM and literal FROM images, not stages, scratch or digests', () => {
    const text = [
      'ARG RUST_IMAGE=docker.io/library/rust:1-slim-bookworm',
      'ARG BASE_IMAGE="docker.io/library/debian:bookworm-slim"',
      'ARG UNUSED=x:1',
      `FROM \${RUST_IMAGE} AS build`,
      'FROM --platform=$BUILDPLATFORM localhost:5000/tools:2 AS tools',
      'FROM build AS again',
      'FROM scratch',
      'FROM $BASE_IMAGE',
      'ARG LATER=y:1',
    ].join('\n');
    expect(dockerfileBaseImages(text)).toEqual([
      { arg: 'RUST_IMAGE', image: 'docker.io/library/rust:1-slim-bookworm', line: 0 },
      { image: 'localhost:5000/tools:2', line: 4 },
      { arg: 'BASE_IMAGE', image: 'docker.io/library/debian:bookworm-slim', line: 1 },
    ]);
  });

  it('setArgDefault replaces the default of one ARG only', () => {
    expect(setArgDefault('ARG A=x:1\nARG B=y:1\n', 'B', 'z:2')).toBe('ARG A=x:1\nARG B=z:2\n');
    expect(setArgDefault('ARG A=x:1\n', 'C', 'z:2')).toBe('ARG A=x:1\n');
  });
});

describe('pinBaseImages', () => {
  it('pins what resolves, keeps the tag of what does not, and keeps the file valid', async () => {
    const file = join(root, 'Dockerfile');
    await writeFile(
      file,
      `ARG RUST_IMAGE=docker.io/library/rust:1\nARG BASE_IMAGE=localhost:5000/base:2\nFROM \${RUST_IMAGE} AS build\nFROM \${BASE_IMAGE}\n`,
    );
    const result = await pinBaseImages({
      dockerfile: file,
      resolveDigest: async (image) => {
        if (image.startsWith('docker.io')) throw new Error('unknown registry host\nsecond line');
        return DIGEST_A;
      },
    });
    expect(result).toEqual({
      pinned: [
        { image: 'localhost:5000/base:2', pinned: `localhost:5000/base@${DIGEST_A}`, digest: DIGEST_A },
      ],
      unpinned: [{ image: 'docker.io/library/rust:1', reason: 'unknown registry host' }],
    });
    expect(await readFile(file, 'utf8')).toBe(
      `ARG RUST_IMAGE=docker.io/library/rust:1\n# localhost:5000/base:2, pinned to its digest by iii init\nARG BASE_IMAGE=localhost:5000/base@${DIGEST_A}\nFROM \${RUST_IMAGE} AS build\nFROM \${BASE_IMAGE}\n`,
    );
  });

  it('leaves the file alone when a look-up never ends, after the timeout', async () => {
    const file = join(root, 'Dockerfile');
    const text = 'FROM docker.io/library/node:20-slim\n';
    await writeFile(file, text);
    const result = await pinBaseImages({
      dockerfile: file,
      timeoutMs: 50,
      resolveDigest: () => new Promise<string>(() => {}),
    });
    expect(result.unpinned).toEqual([
      { image: 'docker.io/library/node:20-slim', reason: 'no answer in time' },
    ]);
    expect(await readFile(file, 'utf8')).toBe(text);
  });
});
