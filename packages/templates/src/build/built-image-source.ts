import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@iii/base';
import * as z from 'zod';
import { type ImageTag, parseImageTag } from '../image-tag.js';
import type { BuildOutput } from './build-plan.js';

/**
 * `buildImage` keeps, next to each exported image, the reference it was built as, so a later
 * `iii worker push <ref>` finds the build only under that name (the directory is named by the
 * repository's last segment alone, which other registries' images can share).
 */
const BuildRecord = z.record(z.string(), z.object({ reference: z.string(), source: z.string() }));
type BuildRecord = z.infer<typeof BuildRecord>;

const RECORD_FILE = 'iii-builds.json';

async function readRecord(dir: string): Promise<BuildRecord> {
  const text = await readFile(join(dir, RECORD_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    const parsed = BuildRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {}; // A damaged record only loses the lookup; the images themselves are untouched.
  }
}

/** Records that `output` holds the image built as `image` (temp file + rename: never half-written). */
export async function recordBuild(dir: string, image: ImageTag, output: BuildOutput): Promise<void> {
  const record = await readRecord(dir);
  const source =
    output.transport === 'oci-layout'
      ? `oci-layout:${output.path}:${output.tag}`
      : `docker-archive:${output.path}`;
  record[image.tag] = { reference: image.reference, source };
  await writeFileAtomic(join(dir, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Where `buildImage` left the image built as `reference`, as a local image reference
 * (`oci-layout:<dir>:<tag>` or `docker-archive:<file>`), or undefined if it did not build it.
 * A bare `name[:tag]` also finds an image built as `registry/.../name:tag`.
 */
export async function builtImageSource(imagesDir: string, reference: string): Promise<string | undefined> {
  let wanted: ImageTag;
  try {
    wanted = parseImageTag(reference);
  } catch {
    return undefined; // Not something `iii worker build -t` accepts, so not something it built.
  }
  const entry = (await readRecord(join(resolve(imagesDir), wanted.name)))[wanted.tag];
  if (entry === undefined) return undefined;
  const built = parseImageTag(entry.reference);
  const bare = !wanted.repository.includes('/');
  return bare || built.repository === wanted.repository ? entry.source : undefined;
}
