import {
  type ConfigDocument,
  type LockEntry,
  type LockFile,
  pinWorker,
  type WorkerEntry,
  WorkerExistsError,
  type WorkerResources,
} from '@iii/config';
import { escapedDefaults, mergeWorkerConfig } from './worker-defaults.js';

/** What an image resolved to, without the reference (that is the entry's `image:`). */
export type ResolvedPin = Omit<LockEntry, 'image'>;

/** Inputs of {@link moveWorkerImage}. */
export interface MoveWorkerImageInput {
  doc: ConfigDocument;
  lock: LockFile;
  /** The entry as config.yaml has it now. */
  entry: WorkerEntry;
  /** Image reference the entry runs afterwards (the same one for an update). */
  image: string;
  pin: ResolvedPin;
  /** Defaults of the image the entry ran before, when known. */
  previousDefaults?: Record<string, string> | undefined;
  /** Defaults of the image the entry runs afterwards. */
  nextDefaults: Record<string, string>;
  /** Resources the new image declares; used only when the entry has none. */
  imageResources?: WorkerResources | undefined;
}

/** config.yaml and iii.lock after an edit. */
export interface ConfigEdit {
  doc: ConfigDocument;
  lock: LockFile;
}

/**
 * Moves an existing entry to an image (a new reference, or what its tag points to now): `config:`
 * is merged so the user's edited values win, the entry's own resources are kept, and the new
 * digest is pinned.
 */
export function moveWorkerImage(input: MoveWorkerImageInput): ConfigEdit {
  const { entry } = input;
  const merged = mergeWorkerConfig({
    current: entry.config,
    previousDefaults: input.previousDefaults,
    nextDefaults: input.nextDefaults,
  });
  const resources = entry.resources ?? input.imageResources;
  const next: WorkerEntry = {
    ...entry,
    image: input.image,
    config: Object.keys(merged).length > 0 ? merged : undefined,
    ...(resources ? { resources } : {}),
  };
  return {
    doc: input.doc.withReplacedWorker(entry.name, next),
    lock: pinWorker(input.lock, entry.name, { image: input.image, ...input.pin }),
  };
}

/** `pinned`: the entry was there without a pin (or a pin of another image); only iii.lock changed. */
export type WorkerUpsertAction = 'added' | 'unchanged' | 'pinned' | 'replaced';

/** What {@link upsertWorkerImage} did, and a digest the lock keeps although the tag moved. */
export interface WorkerUpsertResult {
  action: WorkerUpsertAction;
  /** Set when the image now resolves elsewhere than iii.lock pins (an unchanged entry keeps its pin). */
  lockedDigest?: string;
}

/** Inputs of {@link upsertWorkerImage}. */
export interface UpsertWorkerImageInput {
  doc: ConfigDocument;
  lock: LockFile;
  name: string;
  /** Image reference as the user gave it. */
  image: string;
  /** What `image` resolved to when it was pulled. */
  pin: ResolvedPin;
  /** `config:` defaults of the image (its environment, as the image has it; written escaped). */
  defaults: Record<string, string>;
  /** Resources the image declares in `/iii/worker.yaml`. */
  resources?: WorkerResources | undefined;
  /** Replace the image of an existing entry that runs another one. */
  force: boolean;
  /** Defaults of the image the existing entry was pinned to; only read when replacing. */
  previousDefaults?: Record<string, string> | undefined;
  /**
   * Whether two references name the same image. Local paths resolve against a working directory,
   * which the caller knows and this function must not.
   */
  sameImage: (a: string, b: string) => boolean;
}

/** The edited files and what happened. */
export interface WorkerUpsert extends ConfigEdit {
  result: WorkerUpsertResult;
}

/**
 * What adding a worker image does to config.yaml and iii.lock, decided from the files as they are:
 * a new name is added; the same image leaves the entry as the user has it (a missing pin is filled
 * in, an existing pin is kept even if the tag moved: only an update moves it); another image is
 * replaced with `force` and is otherwise a {@link WorkerExistsError}.
 */
export function upsertWorkerImage(input: UpsertWorkerImageInput): WorkerUpsert {
  const { doc, lock, name, image, pin, sameImage } = input;
  const current = doc.worker(name);
  if (!current) {
    const entry: WorkerEntry = {
      name,
      image,
      ...(Object.keys(input.defaults).length > 0 ? { config: escapedDefaults(input.defaults) } : {}),
      ...(input.resources ? { resources: input.resources } : {}),
    };
    return {
      doc: doc.withWorker(entry),
      lock: pinWorker(lock, name, { image, ...pin }),
      result: { action: 'added' },
    };
  }
  if (sameImage(current.image, image)) {
    const locked = lock.workers[name];
    if (locked && sameImage(locked.image, current.image)) {
      const moved = locked.digest !== pin.digest ? { lockedDigest: locked.digest } : {};
      return { doc, lock, result: { ...moved, action: 'unchanged' } };
    }
    // The pin names the entry's reference as written, not the user's spelling of it.
    return {
      doc,
      lock: pinWorker(lock, name, { image: current.image, ...pin }),
      result: { action: 'pinned' },
    };
  }
  if (!input.force) throw new WorkerExistsError(name, current.image);
  const moved = moveWorkerImage({
    doc,
    lock,
    entry: current,
    image,
    pin,
    previousDefaults: input.previousDefaults,
    nextDefaults: input.defaults,
    imageResources: input.resources,
  });
  return { ...moved, result: { action: 'replaced' } };
}
