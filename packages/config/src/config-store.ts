import diagnostics from 'node:diagnostics_channel';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { acquireFileLock, type FileLockOptions, withFileLock, writeFileAtomic } from '@iii/base';
import { assertWritableSize, MAX_CONFIG_FILE_BYTES, readBoundedText } from './bounded-read.js';
import { lockPathFor } from './config-path.js';
import { ConfigDocument, type ConfigWarning } from './document.js';
import { ConfigNotFoundError } from './errors.js';
import { type LockFile, readLockFile, renderLockFile } from './iii-lock.js';

/** A project's config.yaml and iii.lock as read by {@link loadConfig}, with their paths. */
export interface ConfigState {
  doc: ConfigDocument;
  lock: LockFile;
  configPath: string;
  lockPath: string;
  /** Whether config.yaml existed before this call. */
  exists: boolean;
}

/** Reads config.yaml and iii.lock without locking; a missing config.yaml is {@link ConfigNotFoundError}. */
export async function loadConfig(configPath: string): Promise<ConfigState> {
  const lockPath = lockPathFor(configPath);
  const doc = await readConfigDocument(configPath);
  if (!doc) throw new ConfigNotFoundError(configPath);
  return { doc, lock: await readLockFile(lockPath), configPath, lockPath, exists: true };
}

/** What an {@link editConfig} callback returns: the documents to write (omitted ones stay) and a result. */
export interface EditResult<T> {
  doc?: ConfigDocument;
  lock?: LockFile;
  result: T;
}

/** Options of {@link editConfig}: the lock's timeouts, and whether to create a missing config.yaml. */
export interface EditConfigOptions extends FileLockOptions {
  /** Start from `workers: []` when config.yaml does not exist (what `add` does). */
  create?: boolean;
}

const TOO_BIG_TO_WRITE =
  'Nothing was written. Shorten the config (or the image ENV it copies), or split the workers over several projects.';

/** The lock file that serializes read-modify-write of config.yaml and its iii.lock. */
export function configLockPath(configPath: string): string {
  return join(dirname(configPath), `.${basename(configPath)}.lock`);
}

/** How long a config edit waits for another command's edit of the same project (default). */
const CONFIG_LOCK_TIMEOUT_MS = 60_000;

function configLockOptions(opts: FileLockOptions): FileLockOptions {
  return {
    timeoutMs: CONFIG_LOCK_TIMEOUT_MS,
    hint: 'Another iii command is editing this config; wait for it to finish.',
    ...opts,
  };
}

/**
 * Takes the lock {@link editConfig} takes, for a caller that must keep several projects' configs
 * unchanged while it works (prune). Returns the release function.
 */
export function acquireConfigLock(
  configPath: string,
  opts: FileLockOptions = {},
): Promise<() => Promise<void>> {
  return acquireFileLock(configLockPath(configPath), configLockOptions(opts));
}

/**
 * Read-modify-write of config.yaml and iii.lock under one cross-process lock, so concurrent
 * commands never lose each other's edits. Both files are replaced atomically; iii.lock first, so a
 * crash in between leaves a pin without an entry (which `verify` reports and a rerun repairs).
 */
export async function editConfig<T>(
  configPath: string,
  edit: (state: ConfigState) => Promise<EditResult<T>> | EditResult<T>,
  opts: EditConfigOptions = {},
): Promise<T> {
  await mkdir(dirname(configPath), { recursive: true });
  return withFileLock(
    configLockPath(configPath),
    async () => {
      const lockPath = lockPathFor(configPath);
      await sweepTempFiles(configPath, lockPath);
      const existing = await readConfigDocument(configPath);
      if (!existing && !opts.create) throw new ConfigNotFoundError(configPath);
      const doc = existing ?? ConfigDocument.empty(configPath);
      const lock = await readLockFile(lockPath);
      const out = await edit({ doc, lock, configPath, lockPath, exists: existing !== undefined });
      const lockText = out.lock ? renderLockFile(out.lock) : undefined;
      const writeLock = lockText !== undefined && lockText !== renderLockFile(lock);
      const docText = out.doc && (out.doc.text !== doc.text || !existing) ? out.doc.text : undefined;
      // Both sizes are checked before either file is written: a refused edit changes nothing.
      if (writeLock) assertWritableSize(lockPath, lockText, MAX_CONFIG_FILE_BYTES, TOO_BIG_TO_WRITE);
      if (docText !== undefined)
        assertWritableSize(configPath, docText, MAX_CONFIG_FILE_BYTES, TOO_BIG_TO_WRITE);
      if (writeLock) await writeFileAtomic(lockPath, lockText);
      if (docText !== undefined) await writeFileAtomic(configPath, docText);
      return out.result;
    },
    configLockOptions(opts),
  );
}

/** config.yaml parsed (with file, line and column on errors), or undefined when there is none yet. */
export async function readConfigDocument(configPath: string): Promise<ConfigDocument | undefined> {
  const text = await readBoundedText(configPath, {
    limit: MAX_CONFIG_FILE_BYTES,
    hint: `Split the workers over several projects, or shorten their config; ${configPath} was left unchanged.`,
  });
  if (text === undefined) return undefined;
  const doc = ConfigDocument.parse(text, configPath);
  if (warningChannel.hasSubscribers) for (const warning of doc.warnings) warningChannel.publish(warning);
  return doc;
}

// Warnings go out on a named diagnostics channel (Node's publish/subscribe for libraries), so this
// module keeps no listener list of its own.
const WARNING_CHANNEL = 'iii:config-warning';
const warningChannel = diagnostics.channel(WARNING_CHANNEL);

/**
 * Calls `listener` with each warning (an unknown key, with file:line:column in its message) of every
 * config.yaml read from now on by {@link loadConfig}, {@link editConfig} or {@link readConfigDocument},
 * so a program reports them wherever it reads the file. Returns what removes the listener.
 */
export function onConfigWarning(listener: (warning: ConfigWarning) => void): () => void {
  const subscriber = (message: unknown) => listener(message as ConfigWarning);
  diagnostics.subscribe(WARNING_CHANNEL, subscriber);
  return () => {
    diagnostics.unsubscribe(WARNING_CHANNEL, subscriber);
  };
}

/**
 * Temp files of config.yaml and iii.lock are only written under the lock, so any found while holding
 * it were left by a writer that was killed mid-write; they are removed so they do not pile up.
 */
async function sweepTempFiles(...files: string[]): Promise<void> {
  for (const file of files) {
    const prefix = `.${basename(file)}.`;
    const names = await readdir(dirname(file)).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith('.tmp'))
        await unlink(join(dirname(file), name)).catch(() => {});
    }
  }
}
