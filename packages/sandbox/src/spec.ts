import { NoCommandError } from './errors.js';
import { idMappings } from './id-maps.js';
import { INIT_PATH_IN_SANDBOX } from './init.js';
import type {
  OciCapabilities,
  OciIdMapping,
  OciMount,
  OciNamespace,
  OciRlimit,
  OciRuntimeSpec,
} from './runtime-spec.js';
import { resolveUser } from './user.js';
import { hostnameOf, type WorkerProcess, workerProcess } from './worker-process.js';

/** The fields of an OCI image config (`config` of the image config JSON) that decide how a worker runs. */
export interface SandboxImageConfig {
  config?: {
    User?: string | null;
    Env?: readonly string[] | null;
    Entrypoint?: readonly string[] | null;
    Cmd?: readonly string[] | null;
    WorkingDir?: string | null;
  } | null;
}

/** A worker's resource limits in sandbox units: fractional CPUs and bytes of memory. */
export interface SandboxResources {
  /** Fractional CPUs, enforced as a CFS quota over a 100 ms period. */
  cpus?: number;
  /** Memory limit in bytes. */
  memory?: number;
}

/** A worker entry from config.yaml, with `config` already interpolated and flattened into env vars. */
export interface SandboxWorkerEntry {
  name: string;
  config?: Readonly<Record<string, string>>;
  resources?: SandboxResources;
  /** `host` (default) shares the host network so `localhost` reaches the engine; `none` cuts it. */
  network?: 'host' | 'none';
  /**
   * Run an init (tini) as PID 1 of the sandbox, with the worker below it: it forwards signals, so
   * a worker without a SIGTERM handler still stops on SIGTERM, and reaps zombies. Default true;
   * without an init binary on the host the worker runs as PID 1 (see {@link Sandbox.init}).
   */
  init?: boolean;
}

/** Current hard/soft limits of the calling process; the spec never asks for more (no CAP_SYS_RESOURCE needed). */
export interface HostLimits {
  nofile?: { soft: number; hard: number };
  /**
   * Whether the kernel accounts swap per cgroup. Only then can memory+swap be capped at the
   * memory limit (so a worker is OOM-killed rather than swapped); runtimes fail when asked otherwise.
   */
  swapLimit?: boolean;
}

/** What {@link buildSpec} turns into a runtime spec: the image config, the worker, the engine's address, the process and the host. */
export interface BuildSpecInput {
  imageConfig: SandboxImageConfig;
  worker: SandboxWorkerEntry;
  /** The engine's address as workers should dial it, e.g. `ws://127.0.0.1:49134`. */
  engineUrl: string;
  /** Argv and environment planned by the caller; default: {@link workerProcess} of the inputs above. */
  process?: Pick<WorkerProcess, 'argv' | 'env'>;
  /** Root filesystem path as the runtime sees it (the per-worker overlay mount). */
  rootfs: string;
  hostsFile: string;
  resolvFile: string;
  /** Contents of the image's /etc/passwd and /etc/group, to resolve a named USER. */
  passwd?: string;
  group?: string;
  hostLimits?: HostLimits;
  /** Default 1024. */
  pidsLimit?: number;
  /** Where the runtime creates the container's cgroup; default: the runtime's own choice (`<caller's cgroup>/<id>`). */
  cgroupsPath?: string;
  /**
   * Rootless: the caller's host uid and gid, and its subordinate ranges if it has them. The sandbox
   * gets a user namespace in which root is the caller's id and, with ranges, ids 1 and up are the
   * ranges (the runtime writes them with newuidmap/newgidmap); the image's USER runs as itself
   * when it is mapped. Without ranges only root exists, and the worker runs as that root whatever
   * the image's USER. Either way only the mounts an unprivileged user may make are asked for.
   */
  rootless?: RootlessIds;
  /**
   * Whether cgroup limits can be set here. False where no cgroup is writable (rootless on cgroup
   * v1, or v2 without delegation): the spec then asks for no resources, since runtimes refuse to
   * start a container whose limits they cannot apply. Default true.
   */
  enforceLimits?: boolean;
  /**
   * Layers of an overlay the runtime mounts as the root itself, inside the user namespace, where
   * the caller cannot mount on the host (rootless). `rootfs` is then its mount point.
   */
  rootfsOverlay?: OverlayLayers;
  /**
   * Rootless: the flags of the mount holding `hostsFile` and `resolvFile` that a user namespace may
   * not clear (`nosuid`, `nodev`, `noexec`, the atime mode). Their bind mounts repeat them, or the
   * kernel refuses the read-only remount.
   */
  lockedBindFlags?: readonly string[];
  /**
   * The init to run as PID 1 with the worker's argv below it: the host path of its static binary,
   * bind-mounted read-only at {@link INIT_PATH_IN_SANDBOX}. Rootless, `lockedFlags` are the flags
   * of the mount holding it that the bind must repeat (as `lockedBindFlags`). Default: none.
   */
  init?: { path: string; lockedFlags?: readonly string[] };
}

export interface RootlessIds {
  uid: number;
  gid: number;
  /**
   * The caller's /etc/subuid and /etc/subgid ranges, when it has both and newuidmap/newgidmap can
   * write them: sandbox ids 1 and up are then these host ids, so an image's other users exist.
   */
  subordinate?: SubordinateIds;
}

/** `count` host ids from `start`. */
export interface IdRange {
  start: number;
  count: number;
}

export interface SubordinateIds {
  uids: IdRange[];
  gids: IdRange[];
}

export interface OverlayLayers {
  /** The lower layers as the `lowerdir` option lists them: one directory, or several joined by ':' (top first). */
  lower: string;
  upper: string;
  work: string;
  /** Read and write overlay xattrs as `user.overlay.*` (layers unpacked for a user namespace). */
  userxattr?: boolean;
}

export const DEFAULT_PIDS_LIMIT = 1024;
export const CPU_PERIOD_US = 100_000;
/** containerd's default; we cap it further at the caller's hard limit. */
const MAX_NOFILE = 1_048_576;

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Converts `resources` into cgroup settings: memory in bytes (no extra swap), cpus as a CFS quota. */
export function buildResources(
  resources: SandboxResources | undefined,
  pidsLimit = DEFAULT_PIDS_LIMIT,
  swapLimit = true,
  rootless = false,
) {
  // Rootless (limits in a delegated cgroup v2 subtree), runc cannot load the eBPF device filter a
  // deny rule needs; devices are out of reach in the user namespace anyway.
  const out: NonNullable<OciRuntimeSpec['linux']['resources']> = {
    ...(rootless ? {} : { devices: [{ allow: false, access: 'rwm' }] }),
    pids: { limit: pidsLimit },
  };
  if (resources?.memory !== undefined) {
    const limit = Math.floor(resources.memory);
    out.memory = swapLimit ? { limit, swap: limit } : { limit };
  }
  if (resources?.cpus !== undefined) {
    // The kernel refuses quotas under 1 ms.
    out.cpu = { quota: Math.max(1000, Math.round(resources.cpus * CPU_PERIOD_US)), period: CPU_PERIOD_US };
  }
  return out;
}

function capabilities(uid: number, network: 'host' | 'none' | undefined): OciCapabilities {
  // In the host's network namespace, raw sockets would let a worker read the host's loopback
  // traffic: the engine's management token on a CLI handshake, what other workers send.
  const all = DEFAULT_CAPABILITIES.filter((c) => network === 'none' || c !== 'CAP_NET_RAW');
  // A non-root user keeps the bounding set only (like Docker): it gains capabilities
  // solely through file capabilities, never by default.
  const active = uid === 0 ? all : [];
  return { bounding: all, effective: active, permitted: active, inheritable: [], ambient: [] };
}

function rlimits(hostLimits: HostLimits | undefined): OciRlimit[] | undefined {
  const nofile = hostLimits?.nofile;
  if (!nofile) return undefined;
  // Never above the caller's hard limit: raising it needs CAP_SYS_RESOURCE, which root may lack.
  const hard = Math.min(nofile.hard, MAX_NOFILE);
  return [{ type: 'RLIMIT_NOFILE', hard, soft: hard }];
}

/**
 * The sandbox's mounts. Rootless, they are those an unprivileged user may make, as in runc's
 * `spec --rootless`: /sys is a read-only bind of the host's (sysfs can only be mounted by the
 * owner of the network namespace) and devpts gets no `gid=5` (that group is not mapped).
 */
function mounts(input: BuildSpecInput): OciMount[] {
  const { hostsFile, resolvFile, rootless, rootfsOverlay, init } = input;
  const bindOptions = [
    ...new Set(['rbind', 'ro', 'nosuid', 'nodev', ...(rootless ? (input.lockedBindFlags ?? []) : [])]),
  ];
  const overlay: OciMount[] = rootfsOverlay
    ? [
        {
          destination: '/',
          type: 'overlay',
          source: 'overlay',
          options: [
            `lowerdir=${rootfsOverlay.lower}`,
            `upperdir=${rootfsOverlay.upper}`,
            `workdir=${rootfsOverlay.work}`,
            ...(rootfsOverlay.userxattr ? ['userxattr'] : []),
          ],
        },
      ]
    : [];
  const devptsOptions = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'];
  const sys: OciMount = rootless
    ? {
        destination: '/sys',
        type: 'none',
        source: '/sys',
        options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
      }
    : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] };
  return [
    ...overlay,
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      // The tty group (5) exists in the sandbox only when subordinate ids are mapped.
      options: rootless && !rootless.subordinate ? devptsOptions : [...devptsOptions, 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // On the sandbox's own /dev tmpfs, so the mount point touches nothing of the image's root.
    ...(init
      ? [
          {
            destination: INIT_PATH_IN_SANDBOX,
            type: 'bind',
            source: init.path,
            options: [
              ...new Set(['bind', 'ro', 'nosuid', 'nodev', ...(rootless ? (init.lockedFlags ?? []) : [])]),
            ],
          },
        ]
      : []),
    sys,
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    {
      destination: '/etc/hosts',
      type: 'bind',
      source: hostsFile,
      options: bindOptions,
    },
    {
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: resolvFile,
      options: bindOptions,
    },
  ];
}

/**
 * Builds the OCI runtime config.json for one worker. Pure: everything it needs from the machine
 * (passwd contents, rlimits, paths) comes in as input, so it is tested without running anything.
 */
export function buildSpec(input: BuildSpecInput): OciRuntimeSpec {
  const { imageConfig, worker, engineUrl } = input;
  const c = imageConfig.config;
  if ((c?.Entrypoint?.length ?? 0) + (c?.Cmd?.length ?? 0) === 0) throw new NoCommandError(worker.name);
  const imageUser = resolveUser(c?.User ?? undefined, input.passwd, input.group);
  // Rootless, an image USER outside the mapped ids (every one but root with a single-id map) runs
  // as the sandbox's root: the caller on the host either way. HOME stays the image user's.
  // Supplementary groups are never set: runc refuses them when it is not root on the host.
  const user = input.rootless
    ? rootlessUserMapped(input.rootless, imageUser.uid, imageUser.gid)
      ? { ...imageUser, additionalGids: [] }
      : { ...imageUser, uid: 0, gid: 0, additionalGids: [] }
    : imageUser;
  const { argv, env } = input.process ?? workerProcess({ imageConfig, worker, engineUrl, home: user.home });
  // tini runs the worker's argv as its child, unchanged (same user, environment and directory).
  const args = input.init ? [INIT_PATH_IN_SANDBOX, '--', ...argv] : argv;

  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (worker.network === 'none') namespaces.push({ type: 'network' });
  const rootless = input.rootless;
  if (rootless) namespaces.push({ type: 'user' });
  const additionalGids = user.additionalGids;
  const enforceLimits = input.enforceLimits ?? true;

  const limits = rlimits(input.hostLimits);
  const spec: OciRuntimeSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(additionalGids.length > 0 ? { additionalGids } : {}),
      },
      args,
      env,
      cwd: imageConfig.config?.WorkingDir || '/',
      capabilities: capabilities(user.uid, worker.network),
      ...(limits ? { rlimits: limits } : {}),
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: hostnameOf(worker.name),
    mounts: mounts(input),
    linux: {
      namespaces,
      ...(rootless ? idMappings(rootless) : {}),
      ...(enforceLimits
        ? {
            resources: buildResources(
              worker.resources,
              input.pidsLimit,
              input.hostLimits?.swapLimit ?? true,
              rootless !== undefined,
            ),
            ...(input.cgroupsPath ? { cgroupsPath: input.cgroupsPath } : {}),
          }
        : {}),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
    annotations: { 'dev.iii.worker': worker.name },
  };
  return spec;
}

/** How many sandbox ids (0 to n-1) a map gives. */
function mappedCount(map: readonly OciIdMapping[]): number {
  return map.reduce((n, m) => Math.max(n, m.containerID + m.size), 0);
}

/** Whether the sandbox's user namespace has this uid and gid. */
export function rootlessUserMapped(host: RootlessIds, uid: number, gid: number): boolean {
  const { uidMappings, gidMappings } = idMappings(host);
  return uid < mappedCount(uidMappings) && gid < mappedCount(gidMappings);
}

/** The host id that a sandbox id is, or undefined when it is not mapped. */
export function hostIdOf(map: readonly OciIdMapping[], id: number): number | undefined {
  const m = map.find((r) => id >= r.containerID && id < r.containerID + r.size);
  return m === undefined ? undefined : m.hostID + (id - m.containerID);
}
