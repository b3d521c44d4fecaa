import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { entryPathComponents } from './entry-path.js';
import { UnsupportedEntryError } from './errors.js';
import { deleteTree, lstatOrUndefined, SafeTree } from './safe-tree.js';
import { type SmallFileFinish, SmallFiles, type SmallFilesThread } from './small-files.js';
import { createSpecialFile } from './special-file.js';
import type { TarEntryBody, TarEntryHeader } from './tar-parser.js';
import type { UnpackBudget } from './unpack-budget.js';
import type { UnpackWarning } from './warning.js';

export type { TarEntryHeader } from './tar-parser.js';

/** The content of one tar entry, as the parser hands it over: whole, or a stream of a large file. */
export type EntryContent = TarEntryBody;

export interface LayerWriterOptions {
  /** Absolute path of an empty directory owned by this writer alone: where the layer is staged. */
  readonly root: string;
  /** Digest of the layer, named in errors. */
  readonly digest: string;
  /** Skip ownership and refuse device nodes, as an unprivileged user must. */
  readonly rootless: boolean;
  /** Entry and size limits, shared by all layers of the unpack. */
  readonly budget: UnpackBudget;
  readonly onWarning: (warning: UnpackWarning) => void;
  /** The process umask, so files created with their final mode need no extra chmod. */
  readonly umask: number;
  /** Record each entry's owner (in `StagedLayer.owners`) for a later ownership pass. */
  readonly recordOwners?: boolean;
  /** The unpacker's thread that writes small files. */
  readonly thread: SmallFilesThread;
}

/** Mode, mtime and owner of a directory the layer has an entry for, applied when the rootfs is done. */
export interface DirMetadata {
  mode: number;
  mtime: Date;
  uid: number;
  gid: number;
}

/** A whiteout of the layer: it removes lower-layer paths, so it is applied when the layer is merged. */
export interface StagedWhiteout {
  /** The entry name, for errors. */
  name: string;
  parent: string[];
  /** The whiteout's last component: `.wh.<name>` or `.wh..wh..opq`. */
  base: string;
}

/** A hard link to a file of a lower layer, made when the layer is merged. */
export interface DeferredLink {
  name: string;
  /** Where the link goes, relative to the root. */
  rel: string;
  /** The target as written in the tar entry. */
  linkname: string;
}

/**
 * One layer unpacked on its own, waiting to be merged onto the layers below it: the staging
 * directory with its files, and what can only be applied on top of the lower layers.
 */
export interface StagedLayer {
  readonly digest: string;
  readonly root: string;
  /** Directories the layer has an entry for (others were created implicitly, mode 0755). */
  readonly dirs: Map<string, DirMetadata>;
  /**
   * Every directory of the staged tree but its root, with an entry or implied, so that finishing the
   * layer need not read the tree back (a readdir of every directory, 20,000 names for as many files).
   */
  readonly directories: ReadonlySet<string>;
  readonly whiteouts: StagedWhiteout[];
  /** By path; a later entry for the same path replaces an earlier one. */
  readonly links: Map<string, DeferredLink>;
  /** With `recordOwners`: uid and gid of each entry (but hard links), by path. */
  readonly owners?: Map<string, readonly [number, number]>;
}

export const whiteoutPrefix = '.wh.';
export const opaqueWhiteout = '.wh..wh..opq';
// setuid/setgid are dropped (SPEC); the sticky bit stays because /tmp needs it.
const permissionMask = 0o1777;
const createFlags =
  fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
const openInPool = promisify(fs.open);
const mkdirInPool = promisify(fs.mkdir);
const writevInPool = (fd: number, chunks: Buffer[]): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.writev(fd, chunks, (error, written) => (error ? reject(error) : resolve(written))),
  );

/**
 * Applies the tar entries of one layer to its own empty staging directory, so that layers can be
 * unpacked at the same time; `RootfsMerger` then moves each staged layer onto the ones below it, in
 * order. What depends on the lower layers is recorded instead of applied: whiteouts, and hard links
 * to files the layer does not contain.
 *
 * Safety does not rely on the kernel resolving paths: every entry name is split into components,
 * '..' and absolute names are refused, and every parent component is lstat'ed and must be a real
 * directory, never a symlink. The final component is never opened through a symlink (existing
 * entries are unlinked first and files are created with O_EXCL | O_NOFOLLOW). This is sound because
 * the writer is the only one touching its private staging directory.
 *
 * Small regular files are written by a helper thread (`SmallFiles`), in batches, while the next
 * entries are read. New directories and larger files are created in libuv's thread pool: on a slow
 * disk that can take milliseconds, which would stall every layer and download the main thread
 * serves, and the round trip costs little next to writing such a file. The rest is applied with
 * synchronous calls, in order (cheap calls, which a round trip each would slow down). The writer
 * keeps the set of paths it has made, so it knows without a system call whether an entry replaces
 * an earlier one, and it waits for the pending small files before it touches such a path, reads
 * through a directory it has not verified yet, or makes a hard link.
 */
export class LayerWriter extends SafeTree {
  private readonly options: LayerWriterOptions;
  private readonly dirs = new Map<string, DirMetadata>();
  private readonly whiteouts: StagedWhiteout[] = [];
  private readonly links = new Map<string, DeferredLink>();
  private readonly smallFiles: SmallFiles;
  /** Paths (relative to the root) of everything this layer has created in its staging directory. */
  private readonly made = new Set<string>();
  /** The directories among them. */
  private readonly directories = new Set<string>();
  /** Who new entries belong to when created (the root was made mode 0755 without setgid). */
  private readonly owner: { uid: number; gid: number };
  private readonly owners: Map<string, readonly [number, number]> | undefined;

  constructor(options: LayerWriterOptions) {
    super(options.root, options.digest);
    this.options = options;
    this.smallFiles = new SmallFiles(options.thread);
    this.owner = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
    this.owners = options.recordOwners ? new Map() : undefined;
  }

  /** What the merge needs, once every entry is applied: waits for the small files still pending. */
  async finish(): Promise<StagedLayer> {
    await this.smallFiles.flush();
    return {
      digest: this.options.digest,
      root: this.root,
      dirs: this.dirs,
      directories: this.directories,
      whiteouts: this.whiteouts,
      links: this.links,
      ...(this.owners ? { owners: this.owners } : {}),
    };
  }

  /** After a failure: waits until the helper thread is done with this layer's files. */
  settle(): Promise<void> {
    return this.smallFiles.settle();
  }

  /**
   * Applies one entry; a streamed `content` is always drained before the returned promise settles.
   * Returns nothing when the entry is done without waiting, as most small files are (queued for
   * the helper thread): a promise per entry, for 20,000 entries, costs more than writing them. A
   * small file may still be pending when this returns (`finish` waits for it).
   */
  apply(header: TarEntryHeader, content: EntryContent): Promise<void> | undefined {
    this.smallFiles.throwIfFailed();
    this.options.budget.chargeEntry();
    const components = entryPathComponents(header.name, this.layer);
    const type = header.type ?? 'unknown';

    if (components.length === 0) {
      if (type !== 'directory') throw this.unsafe('root-type', header.name);
      this.dirs.set('', this.metadataOf(header));
      this.owners?.set('', [uidOf(header), gidOf(header)]);
      return drain(content);
    }

    const base = components[components.length - 1] as string;
    const parentComponents = components.slice(0, -1);
    if (base.startsWith(whiteoutPrefix)) {
      this.recordWhiteout(header.name, parentComponents, base);
      return drain(content);
    }

    if (type === 'file' || type === 'contiguous-file') {
      this.options.budget.chargeFile(header.size ?? 0, header.name);
    }

    // A parent not verified yet may be a small file still pending, as may the path itself or the
    // target of a hard link; such entries are rare, so they simply wait for every pending file.
    if (
      this.smallFiles.pending &&
      parentComponents.length > 0 &&
      !this.knownDirs.has(parentComponents.join('/'))
    ) {
      return this.smallFiles
        .flush()
        .then(() => this.applyIn(header, content, type, components, parentComponents, base));
    }
    return this.applyIn(header, content, type, components, parentComponents, base);
  }

  /** `apply` once the parent can be resolved. */
  private applyIn(
    header: TarEntryHeader,
    content: EntryContent,
    type: string,
    components: string[],
    parentComponents: string[],
    base: string,
  ): Promise<void> | undefined {
    const parent = this.resolveParent(header.name, parentComponents, true) as string;
    const path = `${parent}/${base}`;
    const rel = components.join('/');
    if (this.owners && type !== 'link') this.owners.set(rel, [uidOf(header), gidOf(header)]);
    const replacing = this.made.has(rel);
    if (this.smallFiles.pending && (replacing || type === 'link' || isSpecial(type))) {
      return this.smallFiles.flush().then(() => this.create(header, content, type, path, rel, replacing));
    }
    return this.create(header, content, type, path, rel, replacing);
  }

  /** Makes the entry at `path` (`rel`), which an earlier entry of the layer made if `replacing`. */
  private create(
    header: TarEntryHeader,
    content: EntryContent,
    type: string,
    path: string,
    rel: string,
    replacing: boolean,
  ): Promise<void> | undefined {
    let linkTarget: string | undefined;
    if (type === 'link') {
      const target = this.resolveHardlinkTarget(header, rel);
      if (target === 'self') return drain(content);
      if (typeof target !== 'string') {
        this.links.delete(rel);
        this.links.set(rel, { name: header.name, rel, linkname: target.lower });
        return drain(content);
      }
      linkTarget = target;
      if (linkTarget === path) return drain(content);
    }

    switch (type) {
      case 'directory': {
        let created = true;
        const made = () => {
          this.knownDirs.add(rel);
          this.directories.add(rel);
          this.chown(path, header, !created);
          this.dirs.set(rel, this.metadataOf(header));
          return drain(content);
        };
        if (replacing) {
          created = this.createOrReplace(path, rel, () => fs.mkdirSync(path, { mode: 0o700 }), true);
          return made();
        }
        this.made.add(rel);
        return mkdirInPool(path, { mode: 0o700 }).then(made);
      }
      case 'file':
      case 'contiguous-file': {
        const mode = modeOf(header) & 0o777;
        if (!replacing && Buffer.isBuffer(content)) {
          this.made.add(rel);
          return this.smallFiles.add(header.name, path, createFlags, mode, this.finishOf(header), content);
        }
        // A new file's fd is writable whatever its mode, so it is created with its final mode.
        if (replacing) {
          let fd = -1;
          this.createOrReplace(path, rel, () => (fd = fs.openSync(path, createFlags, mode)));
          return this.writeFile(fd, header, content);
        }
        this.made.add(rel);
        return openInPool(path, createFlags, mode).then((fd) => this.writeFile(fd, header, content));
      }
      case 'symlink':
        this.createOrReplace(path, rel, () => fs.symlinkSync(header.linkname ?? '', path));
        this.chown(path, header, false);
        fs.lutimesSync(path, this.mtimeOf(header), this.mtimeOf(header));
        return drain(content);
      case 'link':
        this.createOrReplace(path, rel, () => fs.linkSync(linkTarget as string, path));
        return drain(content);
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const existing = lstatOrUndefined(path);
        if (existing) this.removePath(path, rel, existing);
        this.made.add(rel);
        return this.createSpecial(path, header, type).then(() => drain(content));
      }
      default:
        throw new UnsupportedEntryError(
          header.name,
          `tar entry of unsupported type '${type}'`,
          this.layer,
          'Rebuild the image with a standard tool (docker, buildah); sparse and vendor-specific tar entries are not supported.',
        );
    }
  }

  protected forgetTree(rel: string): void {
    deleteTree(this.dirs, rel);
    for (const set of [this.made, this.directories]) {
      if (rel === '') {
        set.clear();
        continue;
      }
      const prefix = `${rel}/`;
      for (const made of set) {
        if (made === rel || made.startsWith(prefix)) set.delete(made);
      }
    }
  }

  protected override madeDirectory(rel: string): void {
    this.made.add(rel);
    this.directories.add(rel);
  }

  /**
   * Where a hard link points: a file this layer already wrote (an absolute path in the staging
   * directory), the link's own path ('self', nothing to do), or a file of a lower layer, linked at
   * merge time (`lower` is the target to link to then; a link to a link made that way is followed).
   */
  private resolveHardlinkTarget(header: TarEntryHeader, rel: string): string | 'self' | { lower: string } {
    const linkname = header.linkname ?? '';
    let components: string[];
    try {
      components = entryPathComponents(linkname, this.layer);
    } catch {
      throw this.unsafe('hardlink-outside', header.name, `target '${linkname}'`);
    }
    if (components.length === 0)
      throw this.unsafe('hardlink-to-directory', header.name, `target '${linkname}'`);
    const targetRel = components.join('/');
    if (targetRel === rel) return 'self';
    const target = this.existingLinkTarget(header.name, components, linkname);
    if (target !== undefined) return target;
    return { lower: this.links.get(targetRel)?.linkname ?? linkname };
  }

  private recordWhiteout(name: string, parent: string[], base: string): void {
    if (base !== opaqueWhiteout && base.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) {
      // AUFS bookkeeping entries (.wh..wh.plnk, .wh..wh.aufs) carry no meaning for a rootfs.
      return;
    }
    const target = base.slice(whiteoutPrefix.length);
    if (target === '' || target === '.' || target === '..') throw this.unsafe('invalid-whiteout', name);
    this.whiteouts.push({ name, parent, base });
  }

  /**
   * Runs `create`; if the path is taken, removes what is there (an earlier entry of this layer; kept
   * if both are directories and `keepDirectory`) and runs it again. Trying first saves an lstat per
   * entry, which adds up for images of many small files. Answers whether `create` made a new entry.
   */
  private createOrReplace(path: string, rel: string, create: () => void, keepDirectory = false): boolean {
    this.made.add(rel);
    try {
      create();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const existing = lstatOrUndefined(path);
    if (existing) {
      if (keepDirectory && existing.isDirectory()) return false;
      this.removePath(path, rel, existing);
    }
    create();
    return true;
  }

  private async writeFile(fd: number, header: TarEntryHeader, content: EntryContent): Promise<void> {
    try {
      if (Buffer.isBuffer(content)) await writevAll(fd, [content]);
      else await writeContent(fd, content);
      const { owner, chmod, mtime } = this.finishOf(header);
      if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
      if (chmod !== undefined) fs.fchmodSync(fd, chmod);
      fs.futimesSync(fd, mtime, mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** What a regular file gets after its content: owner, mode (when creating could not set it), mtime. */
  private finishOf(header: TarEntryHeader): SmallFileFinish {
    const mode = modeOf(header);
    return {
      owner: this.needsChown(header, false) ? { uid: uidOf(header), gid: gidOf(header) } : undefined,
      // One syscall less per file unless the umask took bits away or the sticky bit is asked for.
      chmod: (mode & ~this.options.umask & 0o777) !== mode ? mode : undefined,
      mtime: this.mtimeOf(header),
    };
  }

  private async createSpecial(
    path: string,
    header: TarEntryHeader,
    type: 'character-device' | 'block-device' | 'fifo',
  ): Promise<void> {
    if (type !== 'fifo' && this.options.rootless) {
      // Only root may create device nodes. Like rootless podman, skip them rather than fail the
      // image: the sandbox provides /dev, and an image's own nodes outside it are rarely used.
      this.options.onWarning({
        code: 'device-node-skipped',
        entry: header.name,
        message: `skipped device node ${header.name}: only root can create device nodes`,
      });
      return;
    }
    await createSpecialFile(path, type, modeOf(header), header.devmajor ?? 0, header.devminor ?? 0);
    this.chown(path, header, false);
    fs.chmodSync(path, modeOf(header));
    fs.utimesSync(path, this.mtimeOf(header), this.mtimeOf(header));
    if (type !== 'fifo') {
      this.options.onWarning({
        code: 'device-node',
        entry: header.name,
        message: `created device node ${header.name}`,
      });
    }
  }

  /** `existed`: the entry was there before (a directory of an earlier entry), so owned by anyone. */
  private chown(path: string, header: TarEntryHeader, existed: boolean): void {
    if (this.needsChown(header, existed)) fs.lchownSync(path, uidOf(header), gidOf(header));
  }

  /** A new entry is already owned by us; chown only when the header names someone else. */
  private needsChown(header: TarEntryHeader, existed: boolean): boolean {
    if (this.options.rootless) return false;
    return existed || uidOf(header) !== this.owner.uid || gidOf(header) !== this.owner.gid;
  }

  private metadataOf(header: TarEntryHeader): DirMetadata {
    return { mode: modeOf(header), mtime: this.mtimeOf(header), uid: uidOf(header), gid: gidOf(header) };
  }

  private mtimeOf(header: TarEntryHeader): Date {
    // PAX records carry sub-second mtimes; the ustar field has whole seconds.
    const pax = header.pax?.mtime;
    if (pax !== undefined && Number.isFinite(Number(pax))) return new Date(Number(pax) * 1000);
    return header.mtime ?? new Date(0);
  }
}

function uidOf(header: TarEntryHeader): number {
  return paxNumber(header.pax?.uid) ?? header.uid ?? 0;
}

function gidOf(header: TarEntryHeader): number {
  return paxNumber(header.pax?.gid) ?? header.gid ?? 0;
}

function modeOf(header: TarEntryHeader): number {
  return (header.mode ?? 0o644) & permissionMask;
}

function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function isSpecial(type: string): boolean {
  return type === 'character-device' || type === 'block-device' || type === 'fifo';
}

/** Bytes of content that may wait for the write under way before the entry's stream is paused. */
const maxQueuedBytes = 512 * 1024;

/**
 * Writes every chunk of `stream` to `fd` in libuv's thread pool, so a slow disk never blocks the
 * event loop (the engine unpacks on its own loop when it starts a worker whose rootfs is not cached).
 * The chunks that arrive while a write is under way are gathered into the next `writev`; the stream
 * is paused while more than `maxQueuedBytes` wait. Settles only once no write is under way, so the
 * caller may close `fd`; rejects if the stream is torn down before its end.
 */
function writeContent(fd: number, stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    // The parser stopped before the entry was opened (its stream no longer emits anything).
    if (stream.destroyed) {
      reject(new TruncatedEntryError());
      return;
    }
    let queue: Buffer[] = [];
    let queued = 0;
    let writing = false;
    let paused = false;
    let ended = false;
    let failure: { error: unknown } | undefined;
    let settled = false;
    const settle = () => {
      if (settled || writing) return;
      if (failure) {
        settled = true;
        reject(failure.error);
      } else if (ended && queue.length === 0) {
        settled = true;
        resolve();
      }
    };
    const fail = (error: unknown) => {
      failure ??= { error };
      settle();
    };
    const flush = () => {
      if (writing || failure || queue.length === 0) return settle();
      const chunks = queue;
      queue = [];
      queued = 0;
      writing = true;
      writevAll(fd, chunks).then(
        () => {
          writing = false;
          if (paused) {
            paused = false;
            stream.resume();
          }
          flush();
        },
        (error: unknown) => {
          writing = false;
          fail(error);
        },
      );
    };
    stream.on('data', (data) => {
      if (failure) return;
      const chunk = data as Buffer;
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= maxQueuedBytes && !paused) {
        paused = true;
        stream.pause();
      }
      flush();
    });
    stream.once('end', () => {
      ended = true;
      flush();
    });
    // The entry stream fails or closes early only when the parser stopped (tar-stream passes its
    // own error to the entry): the pipeline reports why.
    const torn = () => {
      if (!ended) fail(new TruncatedEntryError());
    };
    stream.once('error', torn);
    stream.once('close', torn);
  });
}

/** `writev` in the thread pool until every byte of `chunks` is written. */
async function writevAll(fd: number, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    let written = await writevInPool(fd, rest);
    if (written === 0) throw new Error('writev wrote nothing');
    let index = 0;
    while (index < rest.length && written >= (rest[index] as Buffer).length) {
      written -= (rest[index] as Buffer).length;
      index += 1;
    }
    rest = rest.slice(index);
    if (written > 0) rest[0] = (rest[0] as Buffer).subarray(written);
  }
}

/** Reads `stream` to its end; rejects if it is torn down before its end. */
function drainStream(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) {
      reject(new TruncatedEntryError());
      return;
    }
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    stream.on('data', () => {});
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    // As in writeContent: the pipeline reports why the parser stopped.
    const torn = () => {
      if (!settled) fail(new TruncatedEntryError());
    };
    stream.once('error', torn);
    stream.once('close', torn);
  });
}

/** The tar stream was torn down mid-entry; the reason is the pipeline's error, not this one. */
export class TruncatedEntryError extends Error {
  constructor() {
    super('tar stream ended in the middle of an entry');
  }
}

/** Nothing to do for content handed over whole; a stream is read to its end. */
function drain(content: EntryContent): Promise<void> | undefined {
  return Buffer.isBuffer(content) ? undefined : drainStream(content);
}
