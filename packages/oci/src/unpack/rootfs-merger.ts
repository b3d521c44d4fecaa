import fs from 'node:fs';
import { entryPathComponents } from './entry-path.js';
import {
  type DeferredLink,
  type DirMetadata,
  opaqueWhiteout,
  type StagedLayer,
  whiteoutPrefix,
} from './layer-writer.js';
import { deleteTree, lstatOrUndefined, SafeTree } from './safe-tree.js';

export interface RootfsMergerOptions {
  /** Absolute path of the rootfs being built, owned by this merger alone. */
  readonly root: string;
  /** Skip ownership, as an unprivileged user must. */
  readonly rootless: boolean;
}

/**
 * Builds the rootfs from staged layers, lowest first, with the semantics of applying their tar
 * entries one after another (union-filesystem rules, as umoci and containerd do): a layer's hard
 * links to lower files and its whiteouts go first, then its staging tree is moved in by rename, a
 * whole directory at a time wherever the rootfs has nothing at that path yet.
 *
 * Safety is the layer writer's: nothing is followed through a symlink. A directory the layer only
 * implies (it has entries below it but none for itself) must already be a real directory or be
 * absent; a symlink or file there is refused, as it would be when writing the entries in place.
 */
export class RootfsMerger extends SafeTree {
  private readonly rootless: boolean;
  /** Directory modes and mtimes, applied last so that writing children cannot disturb them. */
  private readonly dirMetadata = new Map<string, DirMetadata>();

  constructor(options: RootfsMergerOptions) {
    super(options.root);
    this.rootless = options.rootless;
  }

  /** Moves a staged layer onto the rootfs and removes what is left of its staging directory. */
  merge(layer: StagedLayer): void {
    this.layer = layer.digest;
    for (const link of layer.links.values()) this.linkToLower(layer.root, link);
    for (const whiteout of layer.whiteouts) this.applyWhiteout(whiteout.name, whiteout.parent, whiteout.base);
    this.mergeDir(layer.root, this.root, '', layer.dirs);
    for (const [rel, meta] of layer.dirs) this.dirMetadata.set(rel, meta);
    fs.rmSync(layer.root, { recursive: true, force: true });
  }

  /** Sets directory modes and mtimes, deepest first, after all layers are merged. */
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

  protected forgetTree(rel: string): void {
    deleteTree(this.dirMetadata, rel);
  }

  /**
   * Makes a hard link of the layer to a file of the layers below, in the staging directory, before
   * anything of the layer lands: the link gets the file as it was below the layer. Skipped when a
   * later entry of the layer took the path.
   */
  private linkToLower(stagingRoot: string, link: DeferredLink): void {
    const components = link.rel.split('/');
    let at = stagingRoot;
    for (const component of components.slice(0, -1)) {
      at = `${at}/${component}`;
      if (lstatOrUndefined(at)?.isDirectory() !== true) return;
    }
    at = `${at}/${components[components.length - 1]}`;
    if (lstatOrUndefined(at)) return;
    fs.linkSync(this.lowerLinkTarget(link), at);
  }

  private lowerLinkTarget(link: DeferredLink): string {
    const components = entryPathComponents(link.linkname, this.layer);
    const target = this.existingLinkTarget(link.name, components, link.linkname);
    if (target === undefined) throw this.unsafe('hardlink-missing', link.name, `target '${link.linkname}'`);
    return target;
  }

  /** Removes the lower-layer path a whiteout names, or for an opaque one everything in its directory. */
  private applyWhiteout(name: string, parentComponents: readonly string[], base: string): void {
    const parent = this.resolveParent(name, parentComponents, false);
    if (parent === undefined) return;
    const parentRel = parentComponents.join('/');
    const child = (entry: string) => (parentRel === '' ? entry : `${parentRel}/${entry}`);
    if (base === opaqueWhiteout) {
      for (const entry of fs.readdirSync(parent)) {
        const path = `${parent}/${entry}`;
        const stat = lstatOrUndefined(path);
        if (stat) this.removePath(path, child(entry), stat);
      }
      return;
    }
    const target = base.slice(whiteoutPrefix.length);
    const path = `${parent}/${target}`;
    const stat = lstatOrUndefined(path);
    if (stat) this.removePath(path, child(target), stat);
  }

  /** Moves the children of staging directory `from` into rootfs directory `to` (`rel` below the root). */
  private mergeDir(from: string, to: string, rel: string, dirs: ReadonlyMap<string, DirMetadata>): void {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const source = `${from}/${entry.name}`;
      const target = `${to}/${entry.name}`;
      const existing = lstatOrUndefined(target);
      if (entry.isDirectory() && existing) {
        const meta = dirs.get(childRel);
        if (existing.isDirectory()) {
          // A directory kept from below takes the owner of the layer's entry for it, if it has one.
          if (meta && !this.rootless) fs.lchownSync(target, meta.uid, meta.gid);
          this.knownDirs.add(childRel);
          this.mergeDir(source, target, childRel, dirs);
          continue;
        }
        if (!meta) {
          // Only implied by entries below it: they would be written through whatever is there.
          throw existing.isSymbolicLink()
            ? this.unsafe('symlink-traversal', childRel, `'${childRel}' is a symbolic link`)
            : this.unsafe('not-a-directory', childRel, `'${childRel}' is not a directory`);
        }
      }
      if (existing) this.removePath(target, childRel, existing);
      fs.renameSync(source, target);
    }
  }
}
