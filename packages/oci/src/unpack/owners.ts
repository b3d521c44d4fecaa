import type { StagedLayer } from './layer-writer.js';
import { opaqueWhiteout, whiteoutPrefix } from './layer-writer.js';

/** An owner the image gives a path (relative to the rootfs, '' for the root itself). */
export type OwnerRecord = readonly [path: string, uid: number, gid: number];

/**
 * Applies recorded image owners to a finished rootfs (before it is moved into place). Rootless,
 * the unpack cannot chown: a caller that can (in a user namespace mapping the image's ids) does it
 * here. On failure it must leave the tree removable by the caller.
 */
export type ApplyOwners = (root: string, owners: readonly OwnerRecord[]) => Promise<void>;

/**
 * The owners of the rootfs being built, as the tar headers of its layers name them: a layer's
 * entry replaces what lower layers said of the same path, and its whiteouts drop what they said
 * of the paths removed. Hard links are not recorded: they share their target's inode.
 */
export class RecordedOwners {
  private readonly owners = new Map<string, readonly [number, number]>();

  /** Adds a staged layer's owners on top of the lower layers', in merge order. */
  merge(layer: StagedLayer): void {
    for (const w of layer.whiteouts) {
      const parent = w.parent.join('/');
      if (w.base === opaqueWhiteout) this.dropBelow(parent, false);
      else
        this.dropBelow(
          parent === ''
            ? w.base.slice(whiteoutPrefix.length)
            : `${parent}/${w.base.slice(whiteoutPrefix.length)}`,
          true,
        );
    }
    for (const [path, owner] of layer.owners ?? []) this.owners.set(path, owner);
  }

  /** Paths owned by anyone but 0:0 (a fresh unpack is already that: the caller's own ids). */
  list(): OwnerRecord[] {
    const out: OwnerRecord[] = [];
    for (const [path, [uid, gid]] of this.owners) if (uid !== 0 || gid !== 0) out.push([path, uid, gid]);
    return out;
  }

  private dropBelow(path: string, itself: boolean): void {
    if (itself) this.owners.delete(path);
    const prefix = path === '' ? '' : `${path}/`;
    for (const key of this.owners.keys()) if (key !== '' && key.startsWith(prefix)) this.owners.delete(key);
  }
}
