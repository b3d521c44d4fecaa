import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { MAX_WORKER_MANIFEST_BYTES, readBoundedText } from './bounded-read.js';
import { ConfigError } from './errors.js';
import { READ_ONCE, resourcesSchema, type WorkerResources } from './schema.js';
import { documentToJS } from './yaml-aliases.js';

/**
 * The schema of `/iii/worker.yaml`, built when one is read (or its JSON Schema written), not when the
 * module loads: most commands never read one, and building a zod schema takes a measurable part of a
 * command's start-up.
 */
export function workerManifestSchema() {
  return z.looseObject({ resources: resourcesSchema.nullish() });
}

const REBUILD_HINT = 'The image ships an invalid /iii/worker.yaml; rebuild the image with a valid one.';

/** What an image declares about itself in `/iii/worker.yaml`. */
export interface WorkerManifest {
  resources?: WorkerResources;
}

/** Parses `/iii/worker.yaml` from an image; a broken file is an error naming the image's file. */
export function parseWorkerManifest(text: string, where: string): WorkerManifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors[0]) {
    throw new ConfigError(
      'WORKER_MANIFEST',
      `${where}: ${doc.errors[0].message.split('\n')[0]}`,
      REBUILD_HINT,
    );
  }
  const result = workerManifestSchema().safeParse(
    documentToJS(doc, lines, where, REBUILD_HINT) ?? {},
    READ_ONCE,
  );
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(
      'WORKER_MANIFEST',
      `${where}: ${issue.path.join('.')}: ${issue.message}`,
      REBUILD_HINT,
    );
  }
  const resources = result.data.resources;
  if (!resources || (resources.cpus === undefined && resources.memory === undefined)) return {};
  return {
    resources: {
      ...(resources.cpus !== undefined ? { cpus: resources.cpus } : {}),
      ...(resources.memory !== undefined ? { memory: resources.memory } : {}),
    },
  };
}

/** What {@link readWorkerManifest} found in an image: its `/iii/worker.yaml`, if usable, and warnings. */
export interface ReadWorkerManifestResult {
  /** Undefined when the image has no usable `/iii/worker.yaml`. */
  manifest: WorkerManifest | undefined;
  /** Why a `/iii/worker.yaml` that is there was not read, for the user. */
  warnings: string[];
}

/**
 * `/iii/worker.yaml` of an unpacked image. The rootfs is untrusted: neither `/iii` nor the file may
 * be a symlink (it could point anywhere on this machine), which is skipped with a warning; a file
 * over {@link MAX_WORKER_MANIFEST_BYTES} is a {@link FileTooLargeError}. `image` names the image in
 * messages.
 */
export async function readWorkerManifest(rootfs: string, image: string): Promise<ReadWorkerManifestResult> {
  const label = `/iii/worker.yaml of ${image}`;
  const skipped = (why: string) => ({
    manifest: undefined,
    warnings: [`${label} ${why}; it was skipped (no resources taken from the image)`],
  });
  const dir = join(rootfs, 'iii');
  const dirStat = await lstat(dir).catch(() => undefined);
  if (!dirStat) return { manifest: undefined, warnings: [] };
  if (dirStat.isSymbolicLink()) return skipped('is under /iii, a symlink');
  if (!dirStat.isDirectory()) return { manifest: undefined, warnings: [] };
  const file = join(dir, 'worker.yaml');
  const fileStat = await lstat(file).catch(() => undefined);
  if (!fileStat) return { manifest: undefined, warnings: [] };
  if (fileStat.isSymbolicLink()) return skipped('is a symlink');
  if (!fileStat.isFile()) return skipped('is not a regular file');
  let text: string | undefined;
  try {
    text = await readBoundedText(file, {
      limit: MAX_WORKER_MANIFEST_BYTES,
      hint: 'It holds a few lines of resources; rebuild the image with a smaller /iii/worker.yaml.',
      noFollow: true,
      label,
    });
  } catch (err) {
    // Replaced by a symlink between lstat and open: O_NOFOLLOW refused it.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return skipped('is a symlink');
    throw err;
  }
  if (text === undefined) return { manifest: undefined, warnings: [] };
  return { manifest: parseWorkerManifest(text, label), warnings: [] };
}
