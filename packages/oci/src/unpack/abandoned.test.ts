import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { abandonedUnpacks } from './abandoned.js';

let dir: string;
const hex = (c: string) => c.repeat(64);
/** A pid that no process has (the kernel's pid_max is at most 2^22). */
const gone = 4_194_304 + 7;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-abandoned-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it('lists the work directories of unpacks and removals whose process is gone, and nothing else', async () => {
  const names = [
    `.${hex('a')}.unpack-${gone}-Ab12Cd`,
    `.${hex('a')}.unpack-${gone}-Ab12Cd-layers`,
    `.${hex('b')}.remove-${gone}-Xy34Zw`,
    // Its process runs (this one): still being written.
    `.${hex('c')}.unpack-${process.pid}-Qr56St`,
    // Finished snapshots and trees, and names that only look alike.
    hex('d'),
    `.${hex('e')}.unpack-notapid-Uv78Wx`,
    `.short.unpack-${gone}-Yz90Ab`,
  ];
  for (const name of names) await mkdir(join(dir, name));
  expect((await abandonedUnpacks(dir)).sort()).toEqual(
    [names[0], names[1], names[2]].map((n) => join(dir, n as string)).sort(),
  );
  // With a prefix, one image's only.
  expect(await abandonedUnpacks(dir, `.${hex('b')}.`)).toEqual([join(dir, names[2] as string)]);
  expect(await abandonedUnpacks(join(dir, 'missing'))).toEqual([]);
});
