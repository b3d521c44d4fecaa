// Running the built `iii` as an ordinary user made for a test (useradd), through `su`, with the
// user's own HOME and $III_HOME: what the rootless tests share.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
/** The checkout, which the user must be able to traverse to reach the built CLI. */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A /etc/subuid or /etc/subgid range. */
export interface Range {
  start: number;
  count: number;
}

export const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Host pids of the processes (not zombies) running as `uid`, or as one of its subordinate ids. */
export async function processesOf(uid: number, sub?: Range): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const status = await readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    const real = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    if (/^State:\s+Z/m.test(status)) continue;
    if (real === uid || (sub && real >= sub.start && real < sub.start + sub.count)) out.push(Number(p));
  }
  return out;
}

/** `<pid>: <command line>` of each process, for readable assertions (gone processes are left out). */
export async function withCommandLines(pids: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const pid of pids) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
    if (cmd !== undefined) out.push(`${pid}: ${cmd.replaceAll('\0', ' ').trim()}`);
  }
  return out;
}

/** The host uid of a process. */
export async function hostUid(pid: number): Promise<number> {
  return Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

/**
 * The user must reach the built CLI: ancestors of the checkout that others may not traverse
 * (a clone below /root) get o+x for the test's duration. Returns what restores them.
 */
export async function letOthersTraverse(path: string): Promise<() => Promise<void>> {
  const changed: Array<[string, number]> = [];
  for (let dir = path; ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      changed.push([dir, mode]);
    }
    if (dir === dirname(dir)) break;
  }
  return async () => {
    for (const [dir, mode] of changed) await chmod(dir, mode).catch(() => {});
  };
}

/** Runs the built `iii` as `user` through `su`, in `dir`, with `dir` as HOME and `home` as $III_HOME. */
export function cliOf(user: string, dir: string, home: string) {
  const command = (args: string[]) =>
    [
      `cd ${quote(dir)} &&`,
      'exec env -i',
      `HOME=${quote(dir)}`,
      `III_HOME=${quote(home)}`,
      `III_CONFIG_PATH=${quote(join(dir, 'config.yaml'))}`,
      'CI=true',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      quote(process.execPath),
      quote(bin),
      ...args.map(quote),
    ].join(' ');
  const iii = async (...args: string[]): Promise<Result> => {
    try {
      const { stdout, stderr } = await run('su', [user, '-s', '/bin/bash', '-c', command(args)], {
        maxBuffer: 16 << 20,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  return { command, iii };
}

/** `iii start` run as a user in the background, with what it printed so far and its exit. */
export interface StartedIii {
  child: ChildProcess;
  output: string;
  exit: Promise<number | null>;
}

/** Starts `iii start --port <port>` as `user` through `su`, collecting its output. */
export function startAs(user: string, dir: string, home: string, port: number): StartedIii {
  const child = spawn(
    'su',
    [user, '-s', '/bin/bash', '-c', cliOf(user, dir, home).command(['start', '--port', String(port)])],
    { stdio: 'pipe' },
  );
  const started: StartedIii = {
    child,
    output: '',
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (d: Buffer) => (started.output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (started.output += d.toString()));
  return started;
}

/** Ends what the test started as the user: `iii`, and every process of `uid` or of its subordinate ids. */
export async function killUserProcesses(
  engine: StartedIii | undefined,
  uid: number | undefined,
  sub?: Range,
) {
  if (engine && engine.child.exitCode === null) {
    engine.child.kill('SIGKILL');
    await engine.exit;
  }
  for (const pid of uid ? await processesOf(uid, sub) : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** Gives the checkout its modes back and deletes the test user. */
export async function removeUser(user: string | undefined, restoreModes: (() => Promise<void>) | undefined) {
  await restoreModes?.();
  if (user) await run('userdel', [user]).catch(() => {});
}
