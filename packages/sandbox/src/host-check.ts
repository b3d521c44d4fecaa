import { readFile, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { SandboxError } from './errors.js';
import { idMappings } from './id-maps.js';
import { findInit, INIT_BINARY } from './init.js';
import { which } from './runtime/detect.js';
import type { OciIdMapping } from './runtime-spec.js';
import { Sandbox } from './sandbox.js';
import { detectSandboxMode } from './sandbox-mode.js';

/** One thing the host gives (or does not give) the sandbox, with what to do when it is missing. */
export interface HostCheckItem {
  ok: boolean;
  /** What was found, in a few words. */
  value: string;
  /** How to get it, when `ok` is false (or when a better setup exists). */
  hint?: string;
}

/** What this host gives worker sandboxes, as `iii system check` shows it. */
export interface HostCheck {
  /** Every part needed to run workers works (limits and subordinate ids are not needed). */
  ok: boolean;
  mode: 'rootful' | 'rootless';
  user: { uid: number; gid: number; name: string };
  runtime: HostCheckItem & { name?: string; path?: string; version?: string };
  userNamespace: HostCheckItem & {
    /** Rootless: `subordinate` (root is the user, ids 1 and up its /etc/subuid range) or `single` (root only). */
    mapping?: 'single' | 'subordinate';
    uidMap?: string;
    gidMap?: string;
    subordinateIds?: string;
  };
  rootfs: HostCheckItem & { kind?: 'overlay' | 'userns-overlay' | 'copy' };
  cgroup: HostCheckItem & { version: 'v1' | 'v2' | 'none'; limitsEnforced: boolean };
  network: HostCheckItem & { modes: Array<'host' | 'none'> };
  /**
   * The init run as PID 1 of each worker (tini). Not needed to run workers: without it a worker is
   * PID 1 itself, and one that installs no SIGTERM handler ignores SIGTERM, so stops wait the grace period.
   */
  init: HostCheckItem & { path?: string };
}

export interface CheckHostOptions {
  /** The sandbox state directory (`$III_HOME/sandbox`); the probes run in it and leave nothing. */
  stateDir: string;
  /** Runtime to prefer, as for `Sandbox.open`. */
  runtime?: string;
  env?: NodeJS.ProcessEnv;
}

/** The `<start>:<count>` ranges of /etc/subuid-style text that belong to a user (by name or uid). */
export function subordinateRanges(text: string, name: string, id: number): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === name || who === String(id)) && start && count) out.push(`${start}:${count}`);
  }
  return out;
}

/** `0 -> 1001, 1-65536 -> 100000-165535`. */
function formatMap(map: readonly OciIdMapping[]): string {
  return map
    .map((m) =>
      m.size === 1
        ? `${m.containerID} -> ${m.hostID}`
        : `${m.containerID}-${m.containerID + m.size - 1} -> ${m.hostID}-${m.hostID + m.size - 1}`,
    )
    .join(', ');
}

async function runtimeVersion(binary: string): Promise<string | undefined> {
  // Loaded on first use, like in oci-cli-runtime.ts: most processes never need it.
  const { execa } = await import('execa');
  const r = await execa(binary, ['--version'], { reject: false, stdin: 'ignore' });
  return /version\s+(\S+)/.exec(r.stdout)?.[1];
}

/**
 * Finds out, by running probe containers as `iii` would, what the sandbox gets here: which
 * runtime, rootful or rootless, the id mapping, how worker roots are made, whether cgroup limits
 * are enforced, the network modes and the init of each worker. Never throws for a missing part: it reports it with a hint.
 */
export async function checkHost(options: CheckHostOptions): Promise<HostCheck> {
  const mode = await detectSandboxMode();
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  const name = (() => {
    try {
      return userInfo().username;
    } catch {
      return String(uid);
    }
  })();
  const stateDir = resolve(options.stateDir);

  let sandbox: Sandbox | undefined;
  let failure: SandboxError | Error | undefined;
  try {
    sandbox = await Sandbox.open({
      stateDir,
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.env ? { env: options.env } : {}),
      mode,
    });
  } catch (err) {
    failure = err as Error;
  } finally {
    await rm(join(stateDir, 'probe'), { recursive: true, force: true }).catch(() => {});
  }

  const version = sandbox ? await runtimeVersion(sandbox.driver.binary) : undefined;
  const runtime: HostCheck['runtime'] = sandbox
    ? {
        ok: true,
        name: sandbox.driver.name,
        path: sandbox.driver.binary,
        value: `${sandbox.driver.name} ${version ?? '(version unknown)'} at ${sandbox.driver.binary}`,
        ...(version ? { version } : {}),
      }
    : {
        ok: false,
        value: failure?.message ?? 'no runtime',
        hint:
          failure instanceof SandboxError
            ? failure.hint
            : 'Install runc (apt-get install runc) or crun, or set III_RUNTIME',
      };

  const subuid = await readFile('/etc/subuid', 'utf8').catch(() => '');
  const ranges = subordinateRanges(subuid, name, uid);
  // The mode the sandbox settled on: without working newuidmap it drops the subordinate ids.
  const ids = sandbox?.mode.ids ?? mode.ids;
  const singleReason = sandbox?.mode.singleIdReason ?? mode.singleIdReason;
  const maps = ids ? idMappings(ids) : undefined;
  const userNamespace: HostCheck['userNamespace'] = ids
    ? {
        ok: sandbox !== undefined,
        mapping: ids.subordinate ? 'subordinate' : 'single',
        value: !sandbox
          ? 'no container could be started in a user namespace'
          : ids.subordinate
            ? `uid ${uid} is the sandbox's root; ids 1 and up are your subordinate ids, so an image's other users (USER 1000, files they own) exist`
            : `uid ${uid} and gid ${gid} are the sandbox's only ids (a single-id map): an image's other USER runs as root and its files belong to root${singleReason ? ` (${singleReason})` : ''}`,
        uidMap: formatMap(maps?.uidMappings ?? []),
        gidMap: formatMap(maps?.gidMappings ?? []),
        subordinateIds:
          ranges.length > 0 ? `${ranges.join(', ')}${ids.subordinate ? '' : ' (not used)'}` : 'none',
        ...(!sandbox
          ? {
              hint: 'Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)',
            }
          : ids.subordinate
            ? {}
            : {
                hint: ranges.length
                  ? 'Install newuidmap and newgidmap (apt-get install uidmap) so the subordinate ids can be mapped'
                  : `Give ${name} a subordinate id range to run images' other users: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name} (as root)`,
              }),
      }
    : { ok: true, value: 'not used: running as root, ids are the host ids' };

  const support = sandbox?.rootfsSupport;
  // Image layers are stacked as overlay lower layers; opaque directories are marked with setfattr.
  const setfattr = support && support.kind !== 'copy' ? await which('setfattr', process.env) : undefined;
  const stacking =
    support?.kind === 'copy'
      ? 'image layers cannot be stacked: each worker gets a copy of the merged image'
      : setfattr
        ? 'image layers stacked as shared lower layers'
        : 'image layers stacked as shared lower layers, but setfattr is missing: images with opaque directories cannot be unpacked';
  const rootfs: HostCheck['rootfs'] = support
    ? {
        ok: true,
        kind: support.kind,
        value: `${
          support.kind === 'overlay'
            ? 'overlayfs, mounted by iii'
            : support.kind === 'userns-overlay'
              ? 'overlayfs, mounted by the runtime inside the user namespace'
              : `a private copy per worker${support.reason ? ` (${support.reason})` : ''}`
        }; ${stacking}`,
        ...(support.kind === 'copy'
          ? { hint: 'Use a kernel >= 5.11 for overlayfs in user namespaces; copies take disk space and time' }
          : !setfattr
            ? { hint: 'Install setfattr (apt-get install attr)' }
            : {}),
      }
    : { ok: false, value: 'unknown: no runtime works', hint: runtime.hint ?? '' };

  const cgroup: HostCheck['cgroup'] = mode.limits.enforced
    ? {
        ok: true,
        version: mode.cgroup,
        limitsEnforced: true,
        value: `${mode.cgroup}, cpus and memory limits are enforced${mode.cgroupParent ? ` (in the subtree delegated to you, below ${mode.cgroupParent})` : ''}`,
      }
    : {
        ok: true,
        version: mode.cgroup,
        limitsEnforced: false,
        value: `${mode.cgroup}, cpus and memory limits are not enforced: ${mode.limits.reason}`,
        hint: mode.limits.hint,
      };

  const network: HostCheck['network'] = {
    ok: sandbox !== undefined,
    modes: sandbox ? ['host', 'none'] : [],
    value: sandbox
      ? 'host (the host network, to reach the engine on localhost), none (loopback only)'
      : 'unknown: no runtime works',
  };

  const found = sandbox?.init ?? (await findInit(options.env ?? process.env));
  const init: HostCheck['init'] =
    'path' in found
      ? {
          ok: true,
          path: found.path,
          value: `${INIT_BINARY} at ${found.path}, PID 1 of each worker: forwards signals and reaps zombies`,
        }
      : {
          ok: false,
          value: `none (${found.reason}): workers run as PID 1, and one without a SIGTERM handler waits the grace period on every stop`,
          hint: found.hint,
        };

  return {
    ok: runtime.ok && userNamespace.ok && rootfs.ok && network.ok,
    mode: mode.rootless ? 'rootless' : 'rootful',
    user: { uid, gid, name },
    runtime,
    userNamespace,
    rootfs,
    cgroup,
    network,
    init,
  };
}
