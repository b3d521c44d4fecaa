import fs from 'node:fs';
import { UnsafeEntryError, type UnsafeEntryReason } from './errors.js';

export function lstatOrUndefined(path: string): fs.Stats | undefined {
  return fs.lstatSync(path, { throwIfNoEntry: false });
}

/**
 * A directory tree that this process alone writes to, walked without ever following a symlink:
 * every parent component is lstat'ed and must be a real directory. Shared by the layer writer (one
 * layer into its own staging directory) and the merger (staged layers into the rootfs).
 */
export abstract class SafeTree {
  protected readonly root: string;
  /** Digest of the layer being worked on, named in errors. */
  protected layer: string | undefined;
  /**
   * Paths, relative to the root ('' is the root), already verified to be real directories; cleared
   * whenever a directory is removed. Relative, not absolute: they are hashed for every entry, and
   * the root's own path is long.
   */
  protected readonly knownDirs = new Set<string>();

  constructor(root: string, layer?: string) {
    this.root = root;
    this.layer = layer;
  }

  protected absolute(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  protected unsafe(reason: UnsafeEntryReason, name: string, detail?: string): UnsafeEntryError {
    return new UnsafeEntryError(reason, name, this.layer, detail);
  }

  /**
   * Walks the parent components without following symlinks. Missing directories are created (mode
   * 0755, like umoci) when `create` is set, otherwise the walk answers undefined, as it does for a
   * parent that is not a directory. A symlink on the way is refused either way.
   */
  protected resolveParent(name: string, components: readonly string[], create: boolean): string | undefined {
    // A directory is only ever recorded after every directory above it, and the record is dropped
    // with any removal: a known parent needs no walk (most entries of a layer take this path).
    const parentRel = components.join('/');
    if (this.knownDirs.has(parentRel)) return this.absolute(parentRel);
    let path = this.root;
    let rel = '';
    for (const component of components) {
      path = `${path}/${component}`;
      rel = rel === '' ? component : `${rel}/${component}`;
      if (this.knownDirs.has(rel)) continue;
      const stat = lstatOrUndefined(path);
      if (!stat) {
        if (!create) return undefined;
        fs.mkdirSync(path);
        fs.chmodSync(path, 0o755);
        this.madeDirectory(rel);
      } else if (stat.isSymbolicLink()) {
        throw this.unsafe('symlink-traversal', name, `'${rel}' is a symbolic link`);
      } else if (!stat.isDirectory()) {
        if (!create) return undefined;
        throw this.unsafe('not-a-directory', name, `'${rel}' is not a directory`);
      }
      this.knownDirs.add(rel);
    }
    return path;
  }

  /**
   * The file a hard link entry `name` points to (`components` of its target), if the tree has one
   * there: its absolute path, found without following symlinks. A directory there is refused.
   */
  protected existingLinkTarget(
    name: string,
    components: readonly string[],
    linkname: string,
  ): string | undefined {
    const parent = this.resolveParent(name, components.slice(0, -1), false);
    if (parent === undefined) return undefined;
    const target = `${parent}/${components[components.length - 1]}`;
    const stat = lstatOrUndefined(target);
    if (stat?.isDirectory()) throw this.unsafe('hardlink-to-directory', name, `target '${linkname}'`);
    return stat ? target : undefined;
  }

  /** Removes what is at `path` (a whole tree for a directory). */
  protected removePath(path: string, rel: string, stat: fs.Stats): void {
    if (!stat.isDirectory()) {
      fs.unlinkSync(path);
      return;
    }
    fs.rmSync(path, { recursive: true, force: true });
    this.knownDirs.clear();
    this.forgetTree(rel);
  }

  /** Called when the directory at `rel` and everything below it is gone. */
  protected abstract forgetTree(rel: string): void;

  /** Called when a missing parent directory was created at `rel` (relative to the root). */
  protected madeDirectory(_rel: string): void {}
}

/** Deletes the keys of `map` that are `rel` or below it. */
export function deleteTree<V>(map: Map<string, V>, rel: string): void {
  if (rel === '') {
    map.clear();
    return;
  }
  const prefix = `${rel}/`;
  for (const key of map.keys()) {
    if (key === rel || key.startsWith(prefix)) map.delete(key);
  }
}
