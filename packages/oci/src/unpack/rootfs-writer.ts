import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { entryPathComponents } from './entry-path.js';
import {
  UnpackLimitError,
  UnsafeEntryError,
  type UnsafeEntryReason,
  UnsupportedEntryError,
} from './errors.js';
import type { UnpackLimits } from './limits.js';
import { createSpecialFile } from './special-file.js';
import type { UnpackWarning } from './warning.js';

/** The tar header fields the writer reads (tar-stream's decoded header). */
export interface TarEntryHeader {
  name: string;
  type?: string | null | undefined;
  mode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  size?: number | undefined;
  mtime?: Date | undefined;
  linkname?: string | null | undefined;
  devmajor?: number | undefined;
  devminor?: number | undefined;
  pax?: Record<string, string> | undefined;
}

export interface RootfsWriterOptions {
  /** Absolute path of an empty directory owned by this writer alone. */
  readonly root: string;
  /** Skip ownership and refuse device nodes, as an unprivileged user must. */
  readonly rootless: boolean;
  readonly limits: UnpackLimits;
  readonly onWarning: (warning: UnpackWarning) => void;
  /** The process umask, so files created with their final mode need no extra chmod. */
  readonly umask: number;
}

interface DirMetadata {
  mode: number;
  mtime: Date;
}

const whiteoutPrefix = '.wh.';
const opaqueWhiteout = '.wh..wh..opq';
// setuid/setgid are dropped (SPEC); the sticky bit stays because /tmp needs it.
const permissionMask = 0o1777;
const createFlags =
  fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/**
 * Applies tar entries, layer after layer, to a directory with union-filesystem semantics.
 *
 * Safety does not rely on the kernel resolving paths: every entry name is split into components,
 * '..' and absolute names are refused, and every parent component is lstat'ed and must be a real
 * directory, never a symlink. The final component is never opened through a symlink (existing
 * entries are unlinked first and files are created with O_EXCL | O_NOFOLLOW). This is sound because
 * the writer is the only one touching its private temporary root.
 *
 * File-system calls are synchronous on purpose: entries are applied strictly one after another,
 * and the sync calls skip a thread-pool round trip per syscall, which dominates for many small files.
 */
export class RootfsWriter {
  private readonly root: string;
  private readonly options: RootfsWriterOptions;
  /** Absolute paths already verified to be real directories; cleared whenever a directory is removed. */
  private readonly knownDirs = new Set<string>();
  /** Directory modes and mtimes, applied last so that writing children cannot disturb them. */
  private readonly dirMetadata = new Map<string, DirMetadata>();
  /** Paths created by the current layer and their ancestors: whiteouts only remove lower-layer paths. */
  private readonly upperPaths = new Set<string>();
  private layer: string | undefined;
  private entryCount = 0;
  private contentBytes = 0;
  /** Who new entries belong to when created (the root was made mode 0755 without setgid). */
  private readonly owner: { uid: number; gid: number };

  constructor(options: RootfsWriterOptions) {
    this.options = options;
    this.root = options.root;
    this.owner = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
  }

  get entries(): number {
    return this.entryCount;
  }

  get bytes(): number {
    return this.contentBytes;
  }

  beginLayer(digest: string): void {
    this.layer = digest;
    this.upperPaths.clear();
  }

  /** Applies one entry; `content` is its data stream, always drained before returning. */
  async apply(header: TarEntryHeader, content: Readable): Promise<void> {
    this.entryCount += 1;
    const { limits } = this.options;
    if (this.entryCount > limits.maxEntries) {
      throw new UnpackLimitError('maxEntries', limits.maxEntries, this.entryCount);
    }
    const components = entryPathComponents(header.name, this.layer);
    const type = header.type ?? 'unknown';

    if (components.length === 0) {
      if (type !== 'directory') throw this.unsafe('root-type', header.name);
      this.dirMetadata.set('', this.metadataOf(header));
      return drain(content);
    }

    const base = components[components.length - 1] as string;
    const parentComponents = components.slice(0, -1);
    if (base.startsWith(whiteoutPrefix)) {
      this.applyWhiteout(header.name, parentComponents, base);
      return drain(content);
    }

    if (type === 'file' || type === 'contiguous-file') this.chargeFile(header);

    const parent = this.resolveParent(header.name, parentComponents, true) as string;
    const path = `${parent}/${base}`;
    const rel = components.join('/');

    let linkTarget: string | undefined;
    if (type === 'link') {
      linkTarget = this.resolveHardlinkTarget(header);
      if (linkTarget === path) {
        this.markUpper(rel);
        return drain(content);
      }
    }

    switch (type) {
      case 'directory': {
        const created = this.createOrReplace(path, rel, () => fs.mkdirSync(path, { mode: 0o700 }), true);
        this.knownDirs.add(path);
        // An existing directory keeps its owner unless the header says otherwise: always chown it.
        this.chown(path, header, !created);
        this.dirMetadata.set(rel, this.metadataOf(header));
        await drain(content);
        break;
      }
      case 'file':
      case 'contiguous-file': {
        let fd = -1;
        this.createOrReplace(path, rel, () => {
          // A new file's fd is writable whatever its mode, so it is created with its final mode.
          fd = fs.openSync(path, createFlags, modeOf(header) & 0o777);
        });
        await this.writeFile(fd, header, content);
        break;
      }
      case 'symlink':
        this.createOrReplace(path, rel, () => fs.symlinkSync(header.linkname ?? '', path));
        this.chown(path, header, false);
        fs.lutimesSync(path, this.mtimeOf(header), this.mtimeOf(header));
        await drain(content);
        break;
      case 'link':
        this.createOrReplace(path, rel, () => fs.linkSync(linkTarget as string, path));
        await drain(content);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const existing = lstatOrUndefined(path);
        if (existing) this.removePath(path, rel, existing);
        await this.createSpecial(path, header, type);
        await drain(content);
        break;
      }
      default:
        throw new UnsupportedEntryError(
          header.name,
          `tar entry of unsupported type '${type}'`,
          this.layer,
          'Rebuild the image with a standard tool (docker, buildah); sparse and vendor-specific tar entries are not supported.',
        );
    }
    this.markUpper(rel);
  }

  /** Sets directory modes and mtimes, deepest first, after all layers are applied. */
  finish(): void {
    const verified = new Map<string, boolean>();
    const isRealDir = (rel: string): boolean => {
      const known = verified.get(rel);
      if (known !== undefined) return known;
      const slash = rel.lastIndexOf('/');
      const parentOk = rel === '' || slash < 0 || isRealDir(rel.slice(0, slash));
      const stat = parentOk ? lstatOrUndefined(this.absolute(rel)) : undefined;
      const ok = stat?.isDirectory() === true;
      verified.set(rel, ok);
      return ok;
    };
    const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
    const ordered = [...this.dirMetadata].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, meta] of ordered) {
      // A directory later replaced by a symlink or file must not have its metadata applied through it.
      if (!isRealDir(rel)) continue;
      const path = this.absolute(rel);
      fs.chmodSync(path, meta.mode);
      fs.utimesSync(path, meta.mtime, meta.mtime);
    }
  }

  private absolute(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private unsafe(reason: UnsafeEntryReason, name: string, detail?: string): UnsafeEntryError {
    return new UnsafeEntryError(reason, name, this.layer, detail);
  }

  private chargeFile(header: TarEntryHeader): void {
    const { limits } = this.options;
    const size = header.size ?? 0;
    if (size > limits.maxFileSize)
      throw new UnpackLimitError('maxFileSize', limits.maxFileSize, size, header.name);
    this.contentBytes += size;
    if (this.contentBytes > limits.maxTotalSize) {
      throw new UnpackLimitError('maxTotalSize', limits.maxTotalSize, this.contentBytes);
    }
  }

  /**
   * Walks the parent components without following symlinks. Missing directories are created (mode
   * 0755, like umoci) when `create` is set, otherwise the walk answers undefined.
   */
  private resolveParent(name: string, components: readonly string[], create: boolean): string | undefined {
    let path = this.root;
    let rel = '';
    for (const component of components) {
      path = `${path}/${component}`;
      rel = rel === '' ? component : `${rel}/${component}`;
      if (create) this.upperPaths.add(rel);
      if (this.knownDirs.has(path)) continue;
      const stat = lstatOrUndefined(path);
      if (!stat) {
        if (!create) return undefined;
        fs.mkdirSync(path);
        fs.chmodSync(path, 0o755);
      } else if (stat.isSymbolicLink()) {
        throw this.unsafe('symlink-traversal', name, `'${rel}' is a symbolic link`);
      } else if (!stat.isDirectory()) {
        if (!create) return undefined;
        throw this.unsafe('not-a-directory', name, `'${rel}' is not a directory`);
      }
      this.knownDirs.add(path);
    }
    return path;
  }

  private resolveHardlinkTarget(header: TarEntryHeader): string {
    const linkname = header.linkname ?? '';
    let components: string[];
    try {
      components = entryPathComponents(linkname, this.layer);
    } catch {
      throw this.unsafe('hardlink-outside', header.name, `target '${linkname}'`);
    }
    if (components.length === 0)
      throw this.unsafe('hardlink-to-directory', header.name, `target '${linkname}'`);
    const parent = this.resolveParent(header.name, components.slice(0, -1), false);
    const target = parent === undefined ? undefined : `${parent}/${components[components.length - 1]}`;
    const stat = target === undefined ? undefined : lstatOrUndefined(target);
    if (!stat || target === undefined)
      throw this.unsafe('hardlink-missing', header.name, `target '${linkname}'`);
    if (stat.isDirectory()) throw this.unsafe('hardlink-to-directory', header.name, `target '${linkname}'`);
    return target;
  }

  private applyWhiteout(name: string, parentComponents: readonly string[], base: string): void {
    if (base !== opaqueWhiteout && base.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) {
      // AUFS bookkeeping entries (.wh..wh.plnk, .wh..wh.aufs) carry no meaning for a rootfs.
      return;
    }
    const parent = this.resolveParent(name, parentComponents, false);
    if (parent === undefined) return;
    const parentRel = parentComponents.join('/');
    if (base === opaqueWhiteout) {
      this.removeLower(parent, parentRel, true);
      return;
    }
    const target = base.slice(whiteoutPrefix.length);
    if (target === '' || target === '.' || target === '..') throw this.unsafe('invalid-whiteout', name);
    this.removeLower(`${parent}/${target}`, parentRel === '' ? target : `${parentRel}/${target}`, false);
  }

  /** Removes `path` and what is below it, except paths the current layer itself created. */
  private removeLower(path: string, rel: string, keepSelf: boolean): void {
    const stat = lstatOrUndefined(path);
    if (!stat) return;
    if (!keepSelf && !this.upperPaths.has(rel)) {
      this.removePath(path, rel, stat);
      return;
    }
    if (!stat.isDirectory()) return;
    for (const child of fs.readdirSync(path)) {
      this.removeLower(`${path}/${child}`, rel === '' ? child : `${rel}/${child}`, false);
    }
  }

  private removePath(path: string, rel: string, stat: fs.Stats): void {
    if (!stat.isDirectory()) {
      fs.unlinkSync(path);
      return;
    }
    fs.rmSync(path, { recursive: true, force: true });
    this.knownDirs.clear();
    const prefix = `${rel}/`;
    for (const key of this.dirMetadata.keys()) {
      if (key === rel || key.startsWith(prefix)) this.dirMetadata.delete(key);
    }
  }

  private markUpper(rel: string): void {
    this.upperPaths.add(rel);
  }

  /**
   * Runs `create`; if the path is taken, removes what is there (a lower layer's entry; kept if both
   * are directories and `keepDirectory`) and runs it again. Trying first saves an lstat per entry,
   * which adds up for images of many small files. Answers whether `create` made a new entry.
   */
  private createOrReplace(path: string, rel: string, create: () => void, keepDirectory = false): boolean {
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

  private async writeFile(fd: number, header: TarEntryHeader, content: Readable): Promise<void> {
    try {
      await consume(content, (chunk) => writeAll(fd, chunk));
      if (this.needsChown(header, false)) fs.fchownSync(fd, this.uidOf(header), this.gidOf(header));
      const mode = modeOf(header);
      // One syscall less per file unless the umask took bits away or the sticky bit is asked for.
      if ((mode & ~this.options.umask & 0o777) !== mode) fs.fchmodSync(fd, mode);
      const mtime = this.mtimeOf(header);
      fs.futimesSync(fd, mtime, mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private async createSpecial(
    path: string,
    header: TarEntryHeader,
    type: 'character-device' | 'block-device' | 'fifo',
  ): Promise<void> {
    if (type !== 'fifo' && this.options.rootless) {
      throw new UnsupportedEntryError(
        header.name,
        type.replace('-', ' '),
        this.layer,
        'Device nodes can only be created as root: run as root, or remove the device node from the image (the sandbox provides /dev).',
      );
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

  /** `existed`: the entry was there before (a directory kept from a lower layer), so owned by anyone. */
  private chown(path: string, header: TarEntryHeader, existed: boolean): void {
    if (this.needsChown(header, existed)) fs.lchownSync(path, this.uidOf(header), this.gidOf(header));
  }

  /** A new entry is already owned by us; chown only when the header names someone else. */
  private needsChown(header: TarEntryHeader, existed: boolean): boolean {
    if (this.options.rootless) return false;
    return existed || this.uidOf(header) !== this.owner.uid || this.gidOf(header) !== this.owner.gid;
  }

  private metadataOf(header: TarEntryHeader): DirMetadata {
    return { mode: modeOf(header), mtime: this.mtimeOf(header) };
  }

  private mtimeOf(header: TarEntryHeader): Date {
    // PAX records carry sub-second mtimes; the ustar field has whole seconds.
    const pax = header.pax?.mtime;
    if (pax !== undefined && Number.isFinite(Number(pax))) return new Date(Number(pax) * 1000);
    return header.mtime ?? new Date(0);
  }

  private uidOf(header: TarEntryHeader): number {
    return paxNumber(header.pax?.uid) ?? header.uid ?? 0;
  }

  private gidOf(header: TarEntryHeader): number {
    return paxNumber(header.pax?.gid) ?? header.gid ?? 0;
  }
}

function modeOf(header: TarEntryHeader): number {
  return (header.mode ?? 0o644) & permissionMask;
}

function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function lstatOrUndefined(path: string): fs.Stats | undefined {
  return fs.lstatSync(path, { throwIfNoEntry: false });
}

function writeAll(fd: number, chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset, chunk.length - offset);
}

/** Feeds every chunk of `stream` to `onChunk`; rejects if the stream is torn down before its end. */
function consume(stream: Readable, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        onChunk(chunk);
      } catch (error) {
        fail(error);
      }
    });
    stream.once('end', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    stream.once('error', fail);
    stream.once('close', () => fail(new TruncatedEntryError()));
  });
}

/** The tar stream was torn down mid-entry; the reason is the pipeline's error, not this one. */
export class TruncatedEntryError extends Error {
  constructor() {
    super('tar stream ended in the middle of an entry');
  }
}

function drain(stream: Readable): Promise<void> {
  return consume(stream, () => {});
}
