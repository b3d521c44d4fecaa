import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { subordinateRanges } from './host-check.js';
import { lockedMountFlags, mountOf, readMounts } from './mountinfo.js';
import { cgroupVersion, findCgroupDelegation, limitsSupport, parseSubordinateIds } from './sandbox-mode.js';

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
    expect(limitsSupport(true, 'v2', { reason: 'lacks cpu', hint: 'h' })).toEqual({
      enforced: false,
      reason: 'lacks cpu',
      hint: 'h',
    });
  });

  it('enforces limits rootless on a delegated cgroup v2 subtree', () => {
    expect(limitsSupport(true, 'v2', { parent: '/user.slice/user@1001.service/app.slice' })).toEqual({
      enforced: true,
    });
    expect(limitsSupport(true, 'v1', { parent: '/x' })).toMatchObject({ enforced: false });
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

// Only the discovery can be tested here: this machine's cgroups are v1, so no rootless worker has
// run in a delegated v2 subtree. A directory tree stands in for the v2 mount.
describe('findCgroupDelegation', () => {
  it("puts workers beside iii's own cgroup when the parent is the user's and offers cpu, memory and pids", async () => {
    const uid = process.getuid?.() ?? 0;
    const other = uid + 1;
    const mount = await mkdtemp(join(tmpdir(), 'iii-cgroup-'));
    try {
      const make = async (path: string, owner: number, controllers?: string) => {
        await mkdir(join(mount, path), { recursive: true });
        await chown(join(mount, path), owner, owner);
        if (controllers !== undefined)
          await writeFile(join(mount, path, 'cgroup.controllers'), `${controllers}\n`);
      };
      await make('user.slice', other);
      await make('user.slice/user@1.service', uid, 'cpuset cpu io memory pids');
      await make('user.slice/user@1.service/iii.scope', uid);
      await make('user.slice/user@1.service/poor', uid, 'memory pids');
      await make('user.slice/user@1.service/poor/iii.scope', uid);
      await make('user.slice/session.scope', other);

      expect(await findCgroupDelegation(mount, '/user.slice/user@1.service/iii.scope', uid)).toEqual({
        parent: '/user.slice/user@1.service',
      });
      expect(
        await findCgroupDelegation(mount, '/user.slice/user@1.service/poor/iii.scope', uid),
      ).toMatchObject({
        reason: expect.stringMatching(/lacks the cpu controller/),
        hint: expect.stringMatching(/Delegate=/),
      });
      // Only our own cgroup is ours: it holds iii, so it cannot have controlled children.
      expect(await findCgroupDelegation(mount, '/user.slice/user@1.service', uid)).toMatchObject({
        reason: expect.stringMatching(/only iii's own cgroup/),
      });
      expect(await findCgroupDelegation(mount, '/user.slice/session.scope', uid)).toBeUndefined();
      expect(await findCgroupDelegation(mount, '/', uid)).toBeUndefined();
    } finally {
      await rm(mount, { recursive: true, force: true });
    }
  });
});
