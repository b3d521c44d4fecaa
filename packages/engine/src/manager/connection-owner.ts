import { execFile } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';

/** An engine connection as the kernel sees it: the TCP ports of both ends. */
export interface PeerConnection {
  id: string;
  connectedAtMs: number;
  /** The client's port (the worker's end). */
  remotePort: number;
  /** The engine's port. */
  localPort: number;
}

/**
 * The connections held open by a process or any of its descendants (a worker's sandbox: its init and
 * everything it started), oldest first. The kernel says who holds each socket, so what a worker
 * claims about itself (its name in `engine::workers::register`) cannot tie another worker's
 * connection to it, nor hide its own. Linux only (reads `/proc`); elsewhere nothing is found.
 */
export async function connectionsHeldBy<C extends PeerConnection>(
  rootPid: number,
  connections: readonly C[],
  proc = '/proc',
): Promise<C[]> {
  if (connections.length === 0) return [];
  const held = await socketsHeldBy(await processTree(rootPid, proc), proc);
  if (held.size === 0) return [];
  const rows = await tcpSockets(proc);
  return connections
    .filter((c) => rows.get(`${c.remotePort}:${c.localPort}`)?.some((inode) => held.has(inode)))
    .sort((a, b) => a.connectedAtMs - b.connectedAtMs);
}

/** `root` and its descendants, through `/proc/<pid>/task/<tid>/children`. */
async function processTree(root: number, proc: string): Promise<number[]> {
  const seen = new Set<number>();
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const tasks = await readdir(`${proc}/${pid}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const text = await readFile(`${proc}/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of text.split(/\s+/)) if (/^\d+$/.test(child)) queue.push(Number(child));
    }
  }
  return [...seen];
}

/** Inodes of the sockets that `pids` have open (processes that vanished meanwhile are skipped). */
async function socketsHeldBy(pids: number[], proc: string): Promise<Set<string>> {
  const inodes = new Set<string>();
  const denied: number[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`${proc}/${pid}/fd`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') denied.push(pid);
      continue;
    }
    for (const fd of fds) addSocket(inodes, await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => ''));
  }
  if (denied.length > 0 && proc === '/proc') {
    for (const target of await readableThroughUserNamespace(denied)) addSocket(inodes, target);
  }
  return inodes;
}

function addSocket(inodes: Set<string>, target: string): void {
  const m = /^socket:\[(\d+)\]$/.exec(target);
  if (m) inodes.add(m[1]!);
}

/**
 * The fd targets of processes whose `/proc/<pid>/fd` we may not list. A rootless worker that runs as
 * a user of its image (`USER 1000`) is one of our subordinate ids on the host, so its fd directory is
 * not ours; but its user namespace is, and inside it we may read them: `nsenter --user` into the
 * namespace of each such process (one call per namespace), then list them there. Without nsenter, or
 * in a namespace we do not own, nothing is found (as before).
 */
async function readableThroughUserNamespace(pids: number[]): Promise<string[]> {
  const byNamespace = new Map<string, number[]>();
  for (const pid of pids) {
    const ns = await readlink(`/proc/${pid}/ns/user`).catch(() => '');
    if (ns) byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), pid]);
  }
  const targets: string[] = [];
  for (const group of byNamespace.values()) {
    // --preserve-credentials: it stays our uid, so a namespace a worker made for itself cannot
    // make it one of the worker's ids; it gets nothing of our environment (secrets) either.
    const args = ['--user', '--preserve-credentials', '--target', String(group[0]), '--', 'find'];
    args.push(...group.map((p) => `/proc/${p}/fd`), '-mindepth', '1', '-maxdepth', '1', '-printf', '%l\\n');
    const out = await new Promise<string>((resolve) => {
      // find exits non-zero when a process ended meanwhile; what it printed still holds.
      execFile(
        'nsenter',
        args,
        { timeout: 2000, maxBuffer: 1 << 20, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
        (_err, stdout) => resolve(stdout ?? ''),
      );
    });
    targets.push(...out.split('\n').filter(Boolean));
  }
  return targets;
}

/** TCP sockets of this network namespace by `localPort:remotePort` (IPv4 and IPv6). */
async function tcpSockets(proc: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const file of ['tcp', 'tcp6']) {
    const text = await readFile(`${proc}/net/${file}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
      const remote = Number.parseInt(cols[2]!.split(':')[1] ?? '', 16);
      const inode = cols[9]!;
      if (Number.isNaN(local) || Number.isNaN(remote) || inode === '0') continue;
      const key = `${local}:${remote}`;
      out.set(key, [...(out.get(key) ?? []), inode]);
    }
  }
  return out;
}
