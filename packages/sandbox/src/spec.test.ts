import { describe, expect, it } from 'vitest';
import { NoCommandError, UnknownUserError } from './errors.js';
import { type BuildSpecInput, buildResources, buildSpec, hostIdOf } from './spec.js';

const base = {
  engineUrl: 'ws://127.0.0.1:49134',
  rootfs: '/state/w/rootfs',
  hostsFile: '/state/w/hosts',
  resolvFile: '/state/w/resolv.conf',
};

/** {@link buildSpec} of worker `w` from `imageConfig`, with the paths of `base` and the given extras. */
const specOf = (imageConfig: BuildSpecInput['imageConfig'], extra: Partial<BuildSpecInput> = {}) =>
  buildSpec({ ...base, imageConfig, worker: { name: 'w' }, ...extra });

const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n';
const GROUP = 'root:x:0:\napp:x:1000:\nstaff:x:50:app,web\naudio:x:29:app\nwww:x:33:\n';

describe('buildResources', () => {
  it('converts cpus to a quota over a 100 ms period', () => {
    expect(buildResources({ cpus: 0.5 }).cpu).toEqual({ quota: 50_000, period: 100_000 });
    expect(buildResources({ cpus: 2 }).cpu).toEqual({ quota: 200_000, period: 100_000 });
  });

  it('sets memory in bytes with no extra swap', () => {
    expect(buildResources({ memory: 64 * 1024 * 1024 }).memory).toEqual({
      limit: 67_108_864,
      swap: 67_108_864,
    });
  });

  it('leaves swap alone where the kernel cannot limit it', () => {
    expect(buildResources({ memory: 1024 }, 1024, false).memory).toEqual({ limit: 1024 });
  });

  it('always sets a pids limit and no cpu or memory limit unless asked', () => {
    const r = buildResources(undefined);
    expect(r.pids.limit).toBe(1024);
    expect(r.cpu).toBeUndefined();
    expect(r.memory).toBeUndefined();
  });
});

describe('buildSpec', () => {
  const image = { config: { Entrypoint: ['/bin/w'], WorkingDir: '/app', User: 'app' } };

  it('runs the image USER resolved from the image passwd and group files', () => {
    const spec = specOf(image, { passwd: PASSWD, group: GROUP });
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [50, 29] });
    expect(spec.process.env).toContain('HOME=/home/app');
    expect(spec.process.cwd).toBe('/app');
  });

  it('accepts numeric uid:gid and names for group', () => {
    const s1 = specOf({ config: { Cmd: ['/x'], User: '4242:77' } });
    expect(s1.process.user).toEqual({ uid: 4242, gid: 77 });
    const s2 = specOf({ config: { Cmd: ['/x'], User: '33:staff' } }, { passwd: PASSWD, group: GROUP });
    expect(s2.process.user).toEqual({ uid: 33, gid: 50 });
  });

  it('runs as root in / when the image sets no USER or WorkingDir', () => {
    const spec = specOf({ config: { Cmd: ['/x'] } });
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process.cwd).toBe('/');
    expect(spec.process.capabilities.effective).toContain('CAP_CHOWN');
  });

  it('gives a non-root user no effective capabilities', () => {
    const spec = specOf(image, { passwd: PASSWD, group: GROUP });
    expect(spec.process.capabilities.effective).toEqual([]);
    expect(spec.process.capabilities.bounding).toHaveLength(13);
  });

  it('keeps raw sockets from a worker on the host network, where they could read loopback traffic', () => {
    const host = specOf({ config: { Cmd: ['/x'] } });
    expect(host.process.capabilities.bounding).not.toContain('CAP_NET_RAW');
    expect(host.process.capabilities.effective).not.toContain('CAP_NET_RAW');
    const own = buildSpec({
      ...base,
      imageConfig: { config: { Cmd: ['/x'] } },
      worker: { name: 'w', network: 'none' },
    });
    expect(own.process.capabilities.effective).toContain('CAP_NET_RAW');
  });

  it('refuses a USER name the image does not define', () => {
    expect(() => specOf({ config: { Cmd: ['/x'], User: 'ghost' } }, { passwd: PASSWD })).toThrow(
      UnknownUserError,
    );
  });

  it('refuses an image with nothing to run', () => {
    expect(() => specOf({})).toThrow(NoCommandError);
  });

  it('shares the host network by default and isolates it with network: none', () => {
    const host = specOf(image, { passwd: PASSWD });
    expect(host.linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount']);
    const none = buildSpec({
      ...base,
      imageConfig: image,
      worker: { name: 'w', network: 'none' },
      passwd: PASSWD,
    });
    expect(none.linux.namespaces.map((n) => n.type)).toContain('network');
  });

  it('bind-mounts hosts and resolv.conf read-only and keeps /proc, /dev and /tmp private', () => {
    const spec = specOf(image, { passwd: PASSWD });
    const byDest = Object.fromEntries(spec.mounts.map((m) => [m.destination, m]));
    expect(byDest['/etc/hosts']).toMatchObject({ type: 'bind', source: base.hostsFile });
    expect(byDest['/etc/hosts']?.options).toContain('ro');
    expect(byDest['/etc/resolv.conf']?.options).toContain('ro');
    expect(byDest['/proc']?.type).toBe('proc');
    expect(byDest['/dev']?.type).toBe('tmpfs');
    expect(byDest['/tmp']?.type).toBe('tmpfs');
    expect(byDest['/sys']?.options).toContain('ro');
    expect(spec.root).toEqual({ path: base.rootfs, readonly: false });
    expect(spec.hostname).toBe('w');
    expect(spec.process.noNewPrivileges).toBe(true);
  });

  it('caps RLIMIT_NOFILE at the host hard limit', () => {
    const spec = specOf(image, { passwd: PASSWD, hostLimits: { nofile: { soft: 1024, hard: 20_000 } } });
    expect(spec.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 20_000, soft: 20_000 }]);
    const unlimited = specOf(image, {
      passwd: PASSWD,
      hostLimits: { nofile: { soft: 1024, hard: Number.POSITIVE_INFINITY } },
    });
    expect(unlimited.process.rlimits?.[0]?.hard).toBe(1_048_576);
  });

  it('sets no rlimits when the host limits are unknown, so the runtime inherits its own', () => {
    const spec = specOf(image, { passwd: PASSWD });
    expect(spec.process.rlimits).toBeUndefined();
  });

  it('applies resources as cgroup limits', () => {
    const spec = buildSpec({
      ...base,
      imageConfig: image,
      worker: { name: 'w', resources: { cpus: 0.25, memory: 1_000_000 } },
      passwd: PASSWD,
    });
    expect(spec.linux.resources?.cpu).toEqual({ quota: 25_000, period: 100_000 });
    expect(spec.linux.resources?.memory?.limit).toBe(1_000_000);
  });
});

describe('buildSpec rootless', () => {
  const image = { config: { Cmd: ['/bin/w'] } };
  const rootless = { uid: 1001, gid: 1002 };

  it('maps the image user to the caller in a user namespace of its own', () => {
    const spec = specOf(image, { passwd: PASSWD, rootless });
    expect(spec.linux.namespaces).toContainEqual({ type: 'user' });
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(spec.linux.gidMappings).toEqual([{ containerID: 0, hostID: 1002, size: 1 }]);
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process.capabilities.effective).toContain('CAP_CHOWN');
  });

  it("runs a USER image as the sandbox's root, the only id mapped, with that user's HOME", () => {
    const spec = specOf(
      { config: { ...image.config, User: 'app' } },
      { passwd: PASSWD, group: GROUP, rootless },
    );
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process.env).toContain('HOME=/home/app');
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(spec.linux.gidMappings).toEqual([{ containerID: 0, hostID: 1002, size: 1 }]);
  });

  it('binds the host /sys read-only and gives devpts no unmapped group, as runc spec --rootless does', () => {
    const spec = specOf(image, { rootless });
    const sys = spec.mounts.find((m) => m.destination === '/sys');
    expect(sys).toEqual({
      destination: '/sys',
      type: 'none',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    const devpts = spec.mounts.find((m) => m.destination === '/dev/pts');
    expect(devpts?.options).not.toContain('gid=5');
    expect(spec.mounts.find((m) => m.destination === '/dev/mqueue')?.type).toBe('mqueue');
  });

  it("repeats the locked flags of the state directory's mount on the /etc binds", () => {
    const spec = specOf(image, { rootless, lockedBindFlags: ['nosuid', 'nodev', 'noexec', 'relatime'] });
    for (const dest of ['/etc/hosts', '/etc/resolv.conf']) {
      expect(spec.mounts.find((m) => m.destination === dest)?.options).toEqual([
        'rbind',
        'ro',
        'nosuid',
        'nodev',
        'noexec',
        'relatime',
      ]);
    }
  });

  it('asks for no resources and no cgroup where limits cannot be enforced', () => {
    const spec = buildSpec({
      ...base,
      imageConfig: image,
      worker: { name: 'w', resources: { cpus: 1, memory: 1 << 26 } },
      rootless,
      enforceLimits: false,
      cgroupsPath: '/iii/w',
    });
    expect(spec.linux.resources).toBeUndefined();
    expect(spec.linux.cgroupsPath).toBeUndefined();
  });

  it('mounts the overlay root first, for the runtime to mount inside the user namespace', () => {
    const spec = specOf(image, {
      rootless,
      rootfsOverlay: { lower: '/cache/img', upper: '/state/w/upper', work: '/state/w/work' },
    });
    expect(spec.mounts[0]).toEqual({
      destination: '/',
      type: 'overlay',
      source: 'overlay',
      options: ['lowerdir=/cache/img', 'upperdir=/state/w/upper', 'workdir=/state/w/work'],
    });
  });

  it('leaves the rootful spec without user namespace, mappings or overlay mount', () => {
    const spec = specOf(image);
    expect(spec.linux.namespaces).not.toContainEqual({ type: 'user' });
    expect(spec.linux.uidMappings).toBeUndefined();
    expect(spec.mounts.find((m) => m.destination === '/sys')?.type).toBe('sysfs');
    expect(spec.mounts.find((m) => m.destination === '/dev/pts')?.options).toContain('gid=5');
    expect(spec.mounts.some((m) => m.type === 'overlay')).toBe(false);
    expect(spec.linux.resources?.pids).toEqual({ limit: 1024 });
  });
});

describe('buildSpec rootless with subordinate ids', () => {
  const image = { config: { Cmd: ['/bin/w'] } };
  const rootless = {
    uid: 1001,
    gid: 1002,
    subordinate: {
      uids: [
        { start: 100000, count: 65536 },
        { start: 300000, count: 10 },
      ],
      gids: [{ start: 200000, count: 65536 }],
    },
  };

  it('maps root to the caller and ids 1 and up to the ranges, in order', () => {
    const spec = specOf(image, { rootless });
    expect(spec.linux.uidMappings).toEqual([
      { containerID: 0, hostID: 1001, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
      { containerID: 65537, hostID: 300000, size: 10 },
    ]);
    expect(spec.linux.gidMappings).toEqual([
      { containerID: 0, hostID: 1002, size: 1 },
      { containerID: 1, hostID: 200000, size: 65536 },
    ]);
    expect(hostIdOf(spec.linux.uidMappings ?? [], 1000)).toBe(100999);
    expect(hostIdOf(spec.linux.uidMappings ?? [], 65540)).toBe(300003);
    expect(hostIdOf(spec.linux.uidMappings ?? [], 0)).toBe(1001);
    expect(hostIdOf(spec.linux.uidMappings ?? [], 70000)).toBeUndefined();
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
  });

  it("runs the image's USER as itself, without supplementary groups (runc refuses them rootless)", () => {
    const spec = specOf(
      { config: { ...image.config, User: 'app' } },
      { passwd: PASSWD, group: GROUP, rootless },
    );
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000 });
    expect(spec.process.env).toContain('HOME=/home/app');
    expect(spec.process.capabilities.effective).toEqual([]);
  });

  it('runs a USER beyond the mapped ids as root', () => {
    const spec = specOf({ config: { ...image.config, User: '70000:70000' } }, { rootless });
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
  });

  it('gives devpts the tty group, which is mapped now', () => {
    const spec = specOf(image, { rootless });
    expect(spec.mounts.find((m) => m.destination === '/dev/pts')?.options).toContain('gid=5');
  });
});

// cgroup v2 delegation cannot run on this machine (cgroup v1): the spec is what is tested.
describe('buildSpec rootless in a delegated cgroup v2 subtree', () => {
  it('asks for the limits in a cgroup below the delegated parent, without a device filter', () => {
    const spec = buildSpec({
      ...base,
      imageConfig: { config: { Cmd: ['/bin/w'] } },
      worker: { name: 'w', resources: { cpus: 0.5, memory: 64 * 1024 * 1024 } },
      rootless: { uid: 1001, gid: 1001 },
      enforceLimits: true,
      cgroupsPath: '/user.slice/user@1001.service/iii-abc-w',
    });
    expect(spec.linux.cgroupsPath).toBe('/user.slice/user@1001.service/iii-abc-w');
    expect(spec.linux.resources).toEqual({
      pids: { limit: 1024 },
      memory: { limit: 67_108_864, swap: 67_108_864 },
      cpu: { quota: 50_000, period: 100_000 },
    });
  });

  it('keeps the device filter rootful', () => {
    expect(buildResources(undefined).devices).toEqual([{ allow: false, access: 'rwm' }]);
  });
});

describe('buildSpec with an init', () => {
  const image = { config: { Entrypoint: ['/bin/w'], Cmd: ['--flag'], WorkingDir: '/app', User: 'app' } };
  const init = { path: '/usr/bin/tini-static' };

  it("runs tini as PID 1 with the worker's argv after --, same user, directory and environment", () => {
    const plain = specOf(image, { passwd: PASSWD, group: GROUP });
    const spec = specOf(image, { passwd: PASSWD, group: GROUP, init });
    expect(spec.process.args).toEqual(['/dev/init', '--', '/bin/w', '--flag']);
    expect({ ...spec.process, args: plain.process.args }).toEqual(plain.process);
  });

  it('bind-mounts the host binary read-only on the sandbox /dev, after /dev is mounted', () => {
    const spec = specOf(image, { passwd: PASSWD, group: GROUP, init });
    const at = spec.mounts.findIndex((m) => m.destination === '/dev/init');
    expect(spec.mounts[at]).toEqual({
      destination: '/dev/init',
      type: 'bind',
      source: '/usr/bin/tini-static',
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
    expect(at).toBeGreaterThan(spec.mounts.findIndex((m) => m.destination === '/dev'));
    expect(spec.mounts[at]?.options).not.toContain('noexec');
  });

  it('repeats the locked flags of the mount holding it when rootless', () => {
    const spec = specOf(image, {
      passwd: PASSWD,
      group: GROUP,
      rootless: { uid: 1001, gid: 1001 },
      init: { ...init, lockedFlags: ['nodev', 'relatime'] },
    });
    expect(spec.mounts.find((m) => m.destination === '/dev/init')?.options).toEqual([
      'bind',
      'ro',
      'nosuid',
      'nodev',
      'relatime',
    ]);
  });

  it('runs the worker itself as PID 1 without one', () => {
    const spec = specOf(image, { passwd: PASSWD, group: GROUP });
    expect(spec.process.args).toEqual(['/bin/w', '--flag']);
    expect(spec.mounts.some((m) => m.destination === '/dev/init')).toBe(false);
  });
});
