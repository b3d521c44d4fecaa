import { describe, expect, it } from 'vitest';
import { subordinateRanges } from './host-check.js';
import { lockedMountFlags, mountOf, readMounts } from './mountinfo.js';
import { cgroupVersion, limitsSupport, parseSubordinateIds } from './sandbox-mode.js';

const V1_HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V2 = '30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';
const NAMED_ONLY = `40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

describe('cgroupVersion', () => {
  it('is v1 when a v1 hierarchy with a controller is mounted beside an empty v2 one', async () => {
    expect(cgroupVersion(await readMounts(V1_HYBRID))).toBe('v1');
  });

  it('is v2 on a unified host, and when v1 holds only a named hierarchy', async () => {
    expect(cgroupVersion(await readMounts(V2))).toBe('v2');
    expect(cgroupVersion(await readMounts(NAMED_ONLY))).toBe('v2');
  });

  it('is none without any cgroup mount', async () => {
    expect(cgroupVersion([])).toBe('none');
  });
});

describe('limitsSupport', () => {
  it('enforces limits as root', () => {
    expect(limitsSupport(false, 'v1')).toEqual({ enforced: true });
  });

  it('says why limits are not enforced rootless, with a hint', () => {
    expect(limitsSupport(true, 'v1')).toMatchObject({ enforced: false, reason: expect.stringMatching(/v1/) });
    expect(limitsSupport(true, 'v2')).toMatchObject({
      enforced: false,
      reason: expect.stringMatching(/not delegated|no cgroup v2 subtree/),
      hint: expect.stringMatching(/Delegate=yes/),
    });
    expect(limitsSupport(true, 'v2', true)).toMatchObject({
      enforced: false,
      reason: expect.stringMatching(/delegated/),
    });
  });
});

describe('subordinateRanges', () => {
  it("finds a user's ranges by name or uid", () => {
    const text = 'alice:100000:65536\n1001:200000:1000\nbob:300000:65536\n';
    expect(subordinateRanges(text, 'alice', 1001)).toEqual(['100000:65536', '200000:1000']);
    expect(subordinateRanges('', 'alice', 1001)).toEqual([]);
  });
});

describe('lockedMountFlags', () => {
  it('keeps the flags a user namespace cannot clear, of the mount holding a path', async () => {
    const mounts = await readMounts(
      '22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n30 22 0:40 / /run/user/1000 rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=700\n',
    );
    expect(lockedMountFlags(mountOf(mounts, '/run/user/1000/iii/sandbox/workers/w'))).toEqual([
      'nosuid',
      'nodev',
      'noexec',
      'relatime',
    ]);
    expect(lockedMountFlags(mountOf(mounts, '/home/u/.iii'))).toEqual(['relatime']);
    expect(mountOf(mounts, '/run/user/10000')?.mountPoint).toBe('/');
  });
});

describe('parseSubordinateIds', () => {
  it("reads a user's ranges by name or uid, skipping malformed lines", () => {
    const text = 'alice:100000:65536\nbob:165536:65536\n1001:200000:1000\nalice:x:5\nalice:300000:0\n';
    expect(parseSubordinateIds(text, 'alice', 1001)).toEqual([
      { start: 100000, count: 65536 },
      { start: 200000, count: 1000 },
    ]);
    expect(parseSubordinateIds(text, undefined, 1001)).toEqual([{ start: 200000, count: 1000 }]);
    expect(parseSubordinateIds('', 'alice', 1001)).toEqual([]);
  });
});
