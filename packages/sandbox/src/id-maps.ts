import type { OciIdMapping, OciLinux } from './runtime-spec.js';
import type { IdRange, RootlessIds } from './spec.js';

// Apart from spec.ts so that what only reads or clears sandbox state (rootfs.ts, through userns.ts)
// does not load the spec builder and, through it, the runtime detection.

/** The kernel takes at most 340 lines per id map; a handful of ranges is plenty. */
const MAX_RANGES = 32;

function idMap(own: number, ranges: readonly IdRange[] = []): OciIdMapping[] {
  const out: OciIdMapping[] = [{ containerID: 0, hostID: own, size: 1 }];
  let next = 1;
  for (const r of ranges.slice(0, MAX_RANGES)) {
    out.push({ containerID: next, hostID: r.start, size: r.count });
    next += r.count;
  }
  return out;
}

/**
 * The sandbox's id maps. Root is always the caller's host id, so every file of the rootfs that
 * the caller owns belongs to root inside, and the host sees root's processes as the caller's.
 * With subordinate ranges, sandbox ids 1 and up follow them in order (as rootless podman does):
 * uid 1000 inside is the 1000th subordinate id on the host.
 */
export function idMappings(host: RootlessIds): Required<Pick<OciLinux, 'uidMappings' | 'gidMappings'>> {
  return {
    uidMappings: idMap(host.uid, host.subordinate?.uids),
    gidMappings: idMap(host.gid, host.subordinate?.gids),
  };
}
