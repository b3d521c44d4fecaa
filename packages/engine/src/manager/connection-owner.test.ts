import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionsHeldBy } from './connection-owner.js';

/** A shell whose child (not the shell itself) connects to `port` and holds the socket open. */
function grandchildConnecting(port: number): ChildProcess {
  const script = `require('net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000);`;
  return spawn('/bin/sh', ['-c', `"${process.execPath}" -e "${script}"; :`], {
    stdio: 'ignore',
    detached: true,
  });
}

describe('connectionsHeldBy', () => {
  const children: ChildProcess[] = [];
  let server: Server | undefined;
  const accepted: Socket[] = [];
  afterEach(async () => {
    for (const s of accepted.splice(0)) s.destroy();
    for (const c of children.splice(0)) {
      // The shell's child goes with its process group.
      if (c.pid) {
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          c.kill('SIGKILL');
        }
      }
    }
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('finds the connection a descendant of the process holds, and not one another process holds', async () => {
    server = createServer((s) => accepted.push(s));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const spawnGroup = (s: () => ChildProcess) => {
      const c = s();
      children.push(c);
      return c;
    };
    const worker = spawnGroup(() => grandchildConnecting(port));
    const other = spawnGroup(() =>
      spawn(
        process.execPath,
        ['-e', `require('net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000);`],
        {
          stdio: 'ignore',
          detached: true,
        },
      ),
    );
    for (let i = 0; accepted.length < 2 && i < 400; i++) await new Promise((r) => setTimeout(r, 25));
    expect(accepted).toHaveLength(2);
    const connections = accepted.map((s, i) => ({
      id: `c${i}`,
      connectedAtMs: i,
      remotePort: s.remotePort!,
      localPort: s.localPort!,
    }));
    const ofWorker = await connectionsHeldBy(worker.pid!, connections);
    const ofOther = await connectionsHeldBy(other.pid!, connections);
    expect(ofWorker).toHaveLength(1);
    expect(ofOther).toHaveLength(1);
    expect(ofWorker[0]!.id).not.toBe(ofOther[0]!.id);
    // A process that holds none of them gets nothing.
    const idle = spawnGroup(() => spawn('sleep', ['30'], { stdio: 'ignore', detached: true }));
    expect(await connectionsHeldBy(idle.pid!, connections)).toEqual([]);
  });
});
