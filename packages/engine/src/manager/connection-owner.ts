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
  for (const pid of pids) {
    const fds = await readdir(`${proc}/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.add(m[1]!);
    }
  }
  return inodes;
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
