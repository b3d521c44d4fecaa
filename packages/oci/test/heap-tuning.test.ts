import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOciLayout } from './unpack-fixtures/oci-layout-writer.js';
import { tarBytes } from './unpack-fixtures/tar-layer.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let work: string;
let image: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'oci-heap-'));
  // ~96 MB once unpacked, a few hundred KB as gzip: the Buffers of its gunzip output are what
  // make a small heap run full GCs.
  const files = Array.from({ length: 6 }, (_, i) => ({
    name: `data/part-${i}.txt`,
    content: Buffer.alloc(16 << 20, `line ${i} of a worker's data file\n`),
  }));
  await writeOciLayout(join(work, 'layout'), '1', [await tarBytes(files)]);
  image = `oci-layout:${join(work, 'layout')}:1`;
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * Full GCs of each unpack in `plan` (see heap-tuning-process.ts), run in a fresh process with the
 * given node flags. Each plan starts with a full GC, so the heap's limit is V8's own.
 */
async function fullGcsPerUnpack(plan: string[], nodeFlags: string[] = []): Promise<number[]> {
  const stdout = await runCommand(
    process.execPath,
    [
      '--expose-gc',
      ...nodeFlags,
      '--import',
      'tsx',
      'test/heap-tuning-process.ts',
      image,
      work,
      ['full-gc', ...plan].join(','),
    ],
    { cwd: packageDir },
  );
  return JSON.parse(stdout) as number[];
}

const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

describe('withPullHeapTuning', () => {
  it('spares unpacks nearly all full GCs while it runs; V8 is back to its own factor after the next one', async () => {
    const counts = await fullGcsPerUnpack([
      ...['plain', 'plain', 'plain'],
      // The first tuned unpack runs under a call that outlives a shorter one.
      ...['nested', 'tuned', 'tuned'],
      // The limit set under the tuning holds until the next full GC, which computes it V8's way.
      'full-gc',
      ...['plain', 'plain', 'plain'],
    ]);
    // Measured here: about 5 full GCs per plain unpack, 1 for the three tuned ones.
    expect(sum(counts.slice(0, 3)), `${counts}`).toBeGreaterThanOrEqual(6);
    expect(sum(counts.slice(3, 6)), `${counts}`).toBeLessThanOrEqual(2);
    expect(sum(counts.slice(6, 9)), `${counts}`).toBeGreaterThanOrEqual(6);
  });

  it('leaves a --heap-growing-percent given to node alone', async () => {
    const counts = await fullGcsPerUnpack(['tuned', 'tuned', 'tuned'], ['--heap-growing-percent=0']);
    expect(sum(counts), `${counts}`).toBeGreaterThanOrEqual(6);
  });
});
