import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { idMappings } from './id-maps.js';
import { rootlessIds, subordinateIdsOf } from './sandbox-mode.js';
import type { RootlessIds } from './spec.js';

/** Rootless ids with subordinate ranges: what a user namespace of the image's owners needs. */
export type MappedIds = RootlessIds & Required<Pick<RootlessIds, 'subordinate'>>;

export interface UserNamespaceResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The shell that waits in the new user namespace until its maps are written: it says it is there,
 * reads one line, then becomes the command. The exec after the maps exist is what gives the
 * command root's capabilities in the namespace (an exec by an unmapped id drops them).
 */
const WAIT_FOR_MAPS = 'echo ready; read -r go && exec "$@"';

function mapArgs(pid: number, map: ReturnType<typeof idMappings>['uidMappings']): string[] {
  return [String(pid), ...map.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
}

function runTool(tool: string, args: string[]): Promise<string | undefined> {
  return new Promise((done) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => done(`${tool}: ${e.message}`));
    child.once('close', (code) => done(code === 0 ? undefined : `${tool}: ${err.trim() || `exit ${code}`}`));
  });
}

/**
 * Runs `argv` as root of a new user namespace with the sandbox's id maps (the caller's id as root,
 * its subordinate ranges after it, written by newuidmap/newgidmap), as `podman unshare` does.
 * There the caller may chown to the image's ids, and read, copy and remove files they own.
 * `input` is written to the command's stdin.
 */
export function runInUserNamespace(
  ids: MappedIds,
  argv: readonly string[],
  options: { input?: string } = {},
): Promise<UserNamespaceResult> {
  return new Promise((done) => {
    const child = spawn('unshare', ['--user', '--', '/bin/sh', '-c', WAIT_FOR_MAPS, 'iii-userns', ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let ready = false;
    let failure: string | undefined;
    child.stdin.on('error', () => {});
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (ready || !stdout.includes('\n')) return;
      ready = true;
      stdout = stdout.slice(stdout.indexOf('\n') + 1);
      const { uidMappings, gidMappings } = idMappings(ids);
      const pid = child.pid as number;
      void (async () => {
        failure =
          (await runTool('newuidmap', mapArgs(pid, uidMappings))) ??
          (await runTool('newgidmap', mapArgs(pid, gidMappings)));
        if (failure) {
          child.stdin.end();
          return;
        }
        child.stdin.write('go\n');
        child.stdin.end(options.input ?? '');
      })();
    });
    child.once('error', (e) => done({ code: 127, stdout, stderr: `unshare: ${e.message}` }));
    child.once('close', (code, signal) =>
      done({
        code: failure ? 1 : (code ?? (signal ? 128 : 1)),
        stdout,
        stderr: failure ? `${failure}\n${stderr}` : stderr,
      }),
    );
  });
}

/** Runs `argv` in the user namespace and throws with its stderr when it fails. */
export async function inUserNamespace(
  ids: MappedIds,
  argv: readonly string[],
  options: { input?: string } = {},
): Promise<string> {
  const r = await runInUserNamespace(ids, argv, options);
  if (r.code !== 0) {
    throw new Error(`${argv[0]} in a user namespace failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }
  return r.stdout;
}

/** This process's ids with subordinate ranges, when it is not root and has them. */
export async function ownMappedIds(): Promise<MappedIds | undefined> {
  const own = rootlessIds();
  if (!own) return undefined;
  const { ids } = await subordinateIdsOf(own.uid);
  return ids ? { ...own, subordinate: ids } : undefined;
}

/** Sets the owners listed on stdin below the root given as argument; prints how many ids were not mapped. */
const CHOWN_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const root = process.argv[1];
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (text += c));
process.stdin.on('end', () => {
  let unmapped = 0;
  for (const [rel, uid, gid] of JSON.parse(text)) {
    try {
      fs.lchownSync(rel === '' ? root : path.join(root, rel), uid, gid);
    } catch (e) {
      if (e.code === 'EINVAL') unmapped++;
      else if (e.code !== 'ENOENT') throw e;
    }
  }
  process.stdout.write(String(unmapped));
});
`;

/**
 * Gives each path of `root` its recorded owner, in the user namespace (so uid 1000 of the image
 * becomes the matching subordinate id on the host). Ids beyond the mapped ranges stay root's.
 * On failure every owner goes back to the caller, so the tree can still be removed.
 */
export async function applyImageOwners(
  ids: MappedIds,
  root: string,
  owners: readonly (readonly [string, number, number])[],
): Promise<{ unmapped: number }> {
  const abs = resolve(root);
  try {
    const out = await inUserNamespace(ids, [process.execPath, '-e', CHOWN_SCRIPT, abs], {
      input: JSON.stringify(owners),
    });
    return { unmapped: Number(out.trim()) || 0 };
  } catch (err) {
    await runInUserNamespace(ids, ['chown', '-hR', '0:0', abs]).catch(() => undefined);
    throw err;
  }
}

/**
 * Removes a tree that may hold files of the image's other owners (subordinate ids on the host,
 * which the caller may not remove from outside): plainly first, then as root of the user namespace.
 * Returns false when it has no subordinate ids to try with.
 */
export async function removeMappedTree(path: string): Promise<boolean> {
  const ids = await ownMappedIds();
  if (!ids) return false;
  await inUserNamespace(ids, ['rm', '-rf', '--', resolve(path)]);
  await rm(path, { recursive: true, force: true });
  return true;
}

/**
 * For unpacking images rootless (`applyOwners` of `@iii/oci`'s unpack): with subordinate ids, the
 * rootfs gets the image's owners, as the sandbox will map them; without, undefined (every file
 * stays the caller's, root in the sandbox). A failure is reported, never fatal: the files then
 * stay the caller's.
 */
export async function imageOwnersForUnpack(
  report?: (message: string) => void,
): Promise<
  ((root: string, owners: readonly (readonly [string, number, number])[]) => Promise<void>) | undefined
> {
  const ids = await ownMappedIds();
  if (!ids) return undefined;
  return async (root, owners) => {
    try {
      const { unmapped } = await applyImageOwners(ids, root, owners);
      if (unmapped > 0) {
        report?.(
          `${unmapped} file(s) of the image belong to ids beyond your subordinate ids: they belong to root in the sandbox`,
        );
      }
    } catch (err) {
      report?.(
        `could not give the image's files their owners (${(err as Error).message}): they belong to root in the sandbox`,
      );
    }
  };
}
