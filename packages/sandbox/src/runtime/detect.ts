import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import whichExecutable from 'which';
import { type RuntimeAttempt, RuntimeNotFoundError, RuntimeUnavailableError } from '../errors.js';
import { idMappings } from '../id-maps.js';
import type { RootlessIds } from '../spec.js';
import type { RuntimeDriver } from './driver.js';
import { OciCliRuntime } from './oci-cli-runtime.js';

/** The runtimes tried, in order, when none is named. */
export const KNOWN_RUNTIMES = ['runc', 'crun'] as const;

export interface DetectRuntimeOptions {
  /** Directory for the runtime state roots (`<stateDir>/runtime/<name>`) and the probe bundle. */
  stateDir: string;
  /** Runtime to try first: a name on PATH or an absolute path. Defaults to `$III_RUNTIME`. */
  preferred?: string;
  /** With `strict`, a failing preferred runtime is an error instead of a fallback. */
  strict?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Probe rootless: in a user namespace mapping these host ids to root. */
  rootless?: RootlessIds;
}

export interface ProbeOptions {
  rootless?: RootlessIds;
  /** Let the runtime mount an overlay as the root, as rootless workers need. */
  overlay?: boolean;
  /** Run the probe with cpu, memory and pids limits in a cgroup below this one (a delegated subtree). */
  cgroupParent?: string;
}

/** The runtime {@link detectRuntime} chose, and the ones it skipped with why. */
export interface DetectedRuntime {
  driver: RuntimeDriver;
  /** Runtimes tried before the chosen one, with why each could not be used. */
  skipped: RuntimeAttempt[];
}

/** The PATH a runtime is looked up in when the environment has none. */
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The executable `name` (a name looked up on `env.PATH`, or a path), if there is one: `which` of
 * npm (the lookup npm itself uses), with empty PATH entries skipped rather than read as the
 * current directory.
 */
export async function which(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const path = (env.PATH ?? FALLBACK_PATH).split(delimiter).filter(Boolean).join(delimiter);
  if (path === '' && !name.includes('/')) return undefined;
  return (await whichExecutable(name, { path, nothrow: true })) ?? undefined;
}

export function runtimeName(nameOrPath: string): string {
  return nameOrPath.split('/').pop() ?? nameOrPath;
}

/**
 * A driver for a runtime binary, with its state root under the sandbox state directory.
 * `canKeep` defaults to what is known of the runtime (runc has `run --keep`); `detectRuntime`
 * asks the binary itself.
 */
export function createDriver(
  name: string,
  binary: string,
  stateDir: string,
  canKeep = name === 'runc',
): RuntimeDriver {
  return new OciCliRuntime({ name, binary, root: join(stateDir, 'runtime', name), canKeep });
}

/** Whether the runtime's `run` accepts `--keep` (runc does; crun only in newer releases). */
async function supportsKeep(binary: string): Promise<boolean> {
  // Loaded on first use, like in oci-cli-runtime.ts: most processes never need it.
  const { execa } = await import('execa');
  const r = await execa(binary, ['run', '--help'], { reject: false, stdin: 'ignore' });
  return /--keep\b/.test(`${r.stdout}\n${r.stderr}`);
}

/**
 * Starts a tiny container (the host's `/usr` bound read-only, running `true`) to learn whether the
 * runtime works here. Asking the runtime is the only reliable test: crun for example refuses to run
 * when cgroup v1 and v2 hierarchies are mixed, which no version check reveals.
 */
export async function probeRuntime(
  driver: RuntimeDriver,
  stateDir: string,
  options: ProbeOptions = {},
): Promise<string | undefined> {
  const id = `iii-probe-${randomBytes(4).toString('hex')}`;
  const bundle = join(stateDir, 'probe', id);
  const lower = join(bundle, 'lower');
  const rootfs = options.overlay ? join(bundle, 'merged') : lower;
  try {
    await mkdir(join(lower, 'usr'), { recursive: true });
    await mkdir(join(lower, 'proc'), { recursive: true });
    const mounts: object[] = [];
    if (options.overlay) {
      for (const d of ['upper', 'work', 'merged']) await mkdir(join(bundle, d));
      mounts.push({
        destination: '/',
        type: 'overlay',
        source: 'overlay',
        options: [
          `lowerdir=${lower}`,
          `upperdir=${join(bundle, 'upper')}`,
          `workdir=${join(bundle, 'work')}`,
        ],
      });
    }
    mounts.push(
      { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] },
      { destination: '/proc', type: 'proc', source: 'proc' },
    );
    for (const dir of ['bin', 'lib', 'lib64', 'sbin']) {
      const st = await lstat(`/${dir}`).catch(() => undefined);
      if (!st) continue;
      if (st.isSymbolicLink()) await symlink(await readlink(`/${dir}`), join(lower, dir));
      else if (st.isDirectory()) {
        await mkdir(join(lower, dir));
        mounts.push({ destination: `/${dir}`, type: 'bind', source: `/${dir}`, options: ['rbind', 'ro'] });
      }
    }
    const config = {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['true'],
        env: ['PATH=/usr/bin:/bin:/usr/sbin:/sbin'],
        cwd: '/',
        noNewPrivileges: true,
      },
      root: { path: rootfs, readonly: !options.overlay },
      hostname: 'probe',
      mounts,
      linux: {
        namespaces: [
          { type: 'pid' },
          { type: 'mount' },
          { type: 'ipc' },
          { type: 'uts' },
          ...(options.rootless ? [{ type: 'user' }] : []),
        ],
        // With subordinate ids the runtime writes these maps with newuidmap/newgidmap: the probe
        // shows that it can.
        ...(options.rootless ? idMappings(options.rootless) : {}),
        ...(options.cgroupParent
          ? {
              cgroupsPath: `${options.cgroupParent}/${id}`,
              resources: {
                pids: { limit: 64 },
                memory: { limit: 64 * 1024 * 1024 },
                cpu: { quota: 50_000, period: 100_000 },
              },
            }
          : {}),
      },
    };
    await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
    const run = driver.run(id, bundle, { pidFile: join(bundle, 'pid') });
    let output = '';
    run.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    run.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const { exitCode } = await run.exited;
    if (exitCode === 0) return undefined;
    return output.trim().split('\n').filter(Boolean).pop() ?? `exit code ${exitCode}`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await driver.delete(id, { force: true }).catch(() => {});
    // The overlay's work/work is created with mode 000: make it ours to remove.
    if (options.overlay) await chmod(join(bundle, 'work', 'work'), 0o700).catch(() => {});
    await rm(bundle, { recursive: true, force: true });
  }
}

/**
 * Chooses the OCI runtime: the preferred one (option, then `$III_RUNTIME`) if it works, else the
 * first known runtime that does. Each candidate is probed by running a container.
 */
export async function detectRuntime(options: DetectRuntimeOptions): Promise<DetectedRuntime> {
  const env = options.env ?? process.env;
  const preferred = options.preferred ?? (env.III_RUNTIME || undefined);
  const order = preferred
    ? [preferred, ...KNOWN_RUNTIMES.filter((n) => n !== runtimeName(preferred))]
    : [...KNOWN_RUNTIMES];
  const skipped: RuntimeAttempt[] = [];
  let found = 0;
  for (const candidate of order) {
    const name = runtimeName(candidate);
    const binary = await which(candidate, env);
    if (!binary) {
      skipped.push({ name, reason: 'not found on PATH' });
    } else {
      found++;
      const driver = createDriver(name, binary, options.stateDir, await supportsKeep(binary));
      const reason = await probeRuntime(
        driver,
        options.stateDir,
        options.rootless ? { rootless: options.rootless } : {},
      );
      if (reason === undefined) return { driver, skipped };
      skipped.push({ name, reason });
    }
    if (options.strict && candidate === preferred) break;
  }
  if (found === 0) throw new RuntimeNotFoundError(order.map(runtimeName));
  throw new RuntimeUnavailableError(skipped);
}
