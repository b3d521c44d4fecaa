import { isMap, LineCounter, type Node, parseDocument, stringify } from 'yaml';
import * as z from 'zod';
import { MAX_CONFIG_FILE_BYTES, readBoundedText } from './bounded-read.js';
import { ConfigParseError } from './errors.js';
import type { WorkerEntry } from './schema.js';
import { READ_ONCE, workerNameSchema } from './schema.js';
import { documentToJS } from './yaml-aliases.js';

const digestSchema = z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, 'not a digest');

/** A digest the worker was pinned to before, what `iii worker rollback` goes back to. */
export const previousPinSchema = z.object({
  digest: digestSchema,
  index: digestSchema.optional(),
  platform: z.string().min(1),
});

export const lockEntrySchema = z.object({
  /** The image reference as written in config.yaml. */
  image: z.string().min(1),
  /** Manifest digest for the platform that was pulled: what `iii` runs. */
  digest: digestSchema,
  /** Digest of the index (manifest list) the manifest was chosen from, if the image had one. */
  index: digestSchema.optional(),
  /** `os/arch[/variant]` of the manifest. */
  platform: z.string().min(1),
  /** The pin before the last change of digest (`update`, `add --force`, `rollback`). */
  previous: previousPinSchema.optional(),
});

export const lockFileSchema = z.object({
  version: z.literal(1),
  workers: z
    .record(workerNameSchema, lockEntrySchema)
    .nullish()
    .transform((w) => w ?? {}),
});

/** One worker's pin in iii.lock: its image, resolved digest and platform. */
export type LockEntry = z.infer<typeof lockEntrySchema>;
/** A worker's pin before its last update, kept for `iii worker rollback`. */
export type PreviousPin = z.infer<typeof previousPinSchema>;
/** The content of iii.lock: its version and each worker's pin. */
export type LockFile = z.infer<typeof lockFileSchema>;

const HEADER = '# Written by `iii worker` commands: the exact image each worker runs. Do not edit by hand.\n';

/** An iii.lock with no pins. */
export function emptyLockFile(): LockFile {
  return { version: 1, workers: {} };
}

/** Parses iii.lock text; errors carry file, line and column. */
export function parseLockFile(text: string, file: string): LockFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lines.linePos(yamlError.pos[0]);
    throw new ConfigParseError(
      file,
      pos.line,
      pos.col,
      yamlError.message.split('\n')[0] ?? 'invalid YAML',
      lockHint(file),
    );
  }
  if (doc.contents === null) return emptyLockFile();
  const result = lockFileSchema.safeParse(documentToJS(doc, lines, file), READ_ONCE);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let pos = { line: 1, col: 1 };
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && node.range) {
        pos = lines.linePos(node.range[0]);
        break;
      }
    }
    throw new ConfigParseError(
      file,
      pos.line,
      pos.col,
      `${path.join('.')}: ${issue.message}`,
      lockHint(file),
    );
  }
  if (!isMap(doc.contents)) return emptyLockFile();
  return result.data;
}

function lockHint(file: string): string {
  return `${file} is written by iii; restore it from version control or delete it and run \`iii worker update\`.`;
}

/** iii.lock text: workers sorted by name so diffs stay small. */
export function renderLockFile(lock: LockFile): string {
  const workers: Record<string, LockEntry> = {};
  for (const name of Object.keys(lock.workers).sort()) {
    const e = lock.workers[name]!;
    workers[name] = {
      image: e.image,
      digest: e.digest,
      ...(e.index ? { index: e.index } : {}),
      platform: e.platform,
      ...(e.previous
        ? {
            previous: {
              digest: e.previous.digest,
              ...(e.previous.index ? { index: e.previous.index } : {}),
              platform: e.previous.platform,
            },
          }
        : {}),
    };
  }
  return HEADER + stringify({ version: 1, workers }, { lineWidth: 0 });
}

/** Reads iii.lock; a missing file is an empty lock. */
export async function readLockFile(file: string): Promise<LockFile> {
  const text = await readBoundedText(file, { limit: MAX_CONFIG_FILE_BYTES, hint: lockHint(file) });
  return text === undefined ? emptyLockFile() : parseLockFile(text, file);
}

/**
 * Pins `name` to `entry`. When the digest changes, the pin it replaces becomes `previous` (what
 * `iii worker rollback` restores); pinning the same digest again keeps the `previous` it had.
 */
export function pinWorker(lock: LockFile, name: string, entry: LockEntry): LockFile {
  const old = lock.workers[name];
  let previous = entry.previous;
  if (previous === undefined && old) {
    previous =
      old.digest !== entry.digest
        ? { digest: old.digest, ...(old.index ? { index: old.index } : {}), platform: old.platform }
        : old.previous;
  }
  const next = { ...entry, ...(previous ? { previous } : {}) };
  return { ...lock, workers: { ...lock.workers, [name]: lockEntrySchema.parse(next) } };
}

/** Gives the pin of `from` to `to` (a renamed worker): same digest, same previous one. */
export function renamePin(lock: LockFile, from: string, to: string, image?: string): LockFile {
  const pin = lock.workers[from];
  if (!pin) return lock;
  const workers = { ...lock.workers };
  delete workers[from];
  workers[to] = lockEntrySchema.parse({ ...pin, ...(image ? { image } : {}) });
  return { ...lock, workers };
}

/**
 * Pins of workers renamed in config.yaml by hand, given to their new names: a pin whose worker is
 * gone goes to a worker without a pin that names the same image, when that match is one to one.
 * Without it, a renamed worker would be pinned again to whatever its tag points to now.
 */
export function carryOverRenamedPins(
  lock: LockFile,
  workers: readonly Pick<WorkerEntry, 'name' | 'image'>[],
): { lock: LockFile; renamed: { from: string; to: string }[] } {
  const names = new Set(workers.map((w) => w.name));
  const orphans = Object.entries(lock.workers).filter(([name]) => !names.has(name));
  const unpinned = workers.filter((w) => !lock.workers[w.name]);
  const renamed: { from: string; to: string }[] = [];
  let next = lock;
  for (const [from, pin] of orphans) {
    const sameImage = orphans.filter(([, p]) => p.image === pin.image);
    const targets = unpinned.filter((w) => w.image === pin.image);
    if (sameImage.length !== 1 || targets.length !== 1) continue;
    next = renamePin(next, from, targets[0]!.name);
    renamed.push({ from, to: targets[0]!.name });
  }
  return { lock: next, renamed };
}

/** iii.lock without the pin of this worker. */
export function unpinWorker(lock: LockFile, name: string): LockFile {
  const workers = { ...lock.workers };
  delete workers[name];
  return { ...lock, workers };
}

/**
 * The lock without pins of workers that config.yaml no longer has (deleted by hand), and their
 * names: nothing else ever removes them, and `verify` fails until they are gone.
 */
export function dropUnconfiguredPins(
  lock: LockFile,
  workers: readonly Pick<WorkerEntry, 'name'>[],
): { lock: LockFile; dropped: string[] } {
  const names = new Set(workers.map((w) => w.name));
  const dropped = Object.keys(lock.workers)
    .filter((name) => !names.has(name))
    .sort();
  return { lock: dropped.reduce(unpinWorker, lock), dropped };
}

/** How config.yaml and iii.lock disagree about one worker. */
export type LockProblemKind = 'not-locked' | 'not-in-config' | 'image-changed' | 'missing-image';

/** One disagreement {@link verifyLock} found: the worker, its kind and a message for the user. */
export interface LockProblem {
  worker: string;
  kind: LockProblemKind;
  message: string;
}

/** Options of {@link verifyLock}: how to tell whether a locked image is present locally. */
export interface VerifyLockOptions {
  /** Whether the locked image is present locally; omitted means not checked. */
  hasImage?: (name: string, entry: LockEntry) => boolean | Promise<boolean>;
}

/**
 * Where config.yaml and iii.lock disagree: a worker without a pin, a pin without a worker, a pin for
 * a different image reference, or (with `hasImage`) a pinned image missing from the local store.
 */
export async function verifyLock(
  workers: WorkerEntry[],
  lock: LockFile,
  opts: VerifyLockOptions = {},
): Promise<LockProblem[]> {
  const problems: LockProblem[] = [];
  const names = new Set(workers.map((w) => w.name));
  for (const w of workers) {
    const pin = lock.workers[w.name];
    if (!pin) {
      problems.push({ worker: w.name, kind: 'not-locked', message: `worker "${w.name}" is not in iii.lock` });
      continue;
    }
    if (pin.image !== w.image) {
      problems.push({
        worker: w.name,
        kind: 'image-changed',
        message: `worker "${w.name}" uses ${w.image} but iii.lock pins ${pin.image}`,
      });
      continue;
    }
    if (opts.hasImage && !(await opts.hasImage(w.name, pin))) {
      problems.push({
        worker: w.name,
        kind: 'missing-image',
        message: `worker "${w.name}": image ${pin.image}@${pin.digest} is not in the local store`,
      });
    }
  }
  for (const name of Object.keys(lock.workers).sort()) {
    if (!names.has(name)) {
      problems.push({
        worker: name,
        kind: 'not-in-config',
        message: `iii.lock pins "${name}", which is not in config.yaml`,
      });
    }
  }
  return problems;
}
