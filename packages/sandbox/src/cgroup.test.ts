import { describe, expect, it } from 'vitest';
import { locateCgroup } from './cgroup.js';
import { readMounts } from './mountinfo.js';

const HYBRID = `25 1 0:22 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
27 25 0:24 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
28 25 0:25 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const UNIFIED = `30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
`;

describe('locateCgroup', () => {
  it('uses the v1 hierarchies on a hybrid host', async () => {
    const mounts = await readMounts(HYBRID);
    const cg = locateCgroup('4:memory:/api/x\n2:cpu,cpuacct:/\n0::/\n', mounts, 'iii-1-w');
    expect(cg).toEqual({
      version: 1,
      memoryDir: '/sys/fs/cgroup/memory/api/x/iii-1-w',
      cpuDir: '/sys/fs/cgroup/cpu,cpuacct/iii-1-w',
    });
  });

  it('uses the unified hierarchy on a v2 host, below the parent of our own cgroup like runc', async () => {
    const mounts = await readMounts(UNIFIED);
    expect(locateCgroup('0::/user.slice/session-1.scope\n', mounts, 'iii-1-w')).toEqual({
      version: 2,
      memoryDir: '/sys/fs/cgroup/user.slice/iii-1-w',
      cpuDir: '/sys/fs/cgroup/user.slice/iii-1-w',
    });
    expect(locateCgroup('0::/\n', mounts, 'iii-1-w').memoryDir).toBe('/sys/fs/cgroup/iii-1-w');
  });

  it('places an absolute cgroupsPath from the hierarchy root', async () => {
    const mounts = await readMounts(UNIFIED);
    expect(locateCgroup('0::/user.slice\n', mounts, '/iii/iii-1-w').memoryDir).toBe(
      '/sys/fs/cgroup/iii/iii-1-w',
    );
  });

  it('takes a running container cgroup as listed', async () => {
    const mounts = await readMounts(HYBRID);
    expect(locateCgroup('4:memory:/api/x/iii-1-w\n', mounts).memoryDir).toBe(
      '/sys/fs/cgroup/memory/api/x/iii-1-w',
    );
  });
});
