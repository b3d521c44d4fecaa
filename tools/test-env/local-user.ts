import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An ordinary local user made for one test (`useradd -M`), removed with {@link LocalUser.remove}. */
export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  /** Runs `script` with `sh` as this user (`su <user> -s /bin/sh -c`); never rejects. */
  sh(script: string, env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `userdel`; safe to call twice. */
  remove(): Promise<void>;
}

/** Creates a user with a unique name (root only). Remove it in `afterAll`, even when the test fails. */
export async function createLocalUser(prefix = 'iiit'): Promise<LocalUser> {
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  await run('useradd', ['-M', '-s', '/bin/sh', name]);
  const id = async (flag: string) => Number((await run('id', [flag, name])).stdout.trim());
  const uid = await id('-u');
  const gid = await id('-g');
  let removed = false;
  return {
    name,
    uid,
    gid,
    async sh(script, env = {}) {
      const exports = Object.entries(env)
        .map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'; `)
        .join('');
      try {
        const { stdout, stderr } = await run('su', [name, '-s', '/bin/sh', '-c', `${exports}${script}`], {
          maxBuffer: 16 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === 'number' ? e.code : 1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        };
      }
    },
    async remove() {
      if (removed) return;
      removed = true;
      await run('userdel', [name]).catch(() => undefined);
    },
  };
}

/** A user's first /etc/subuid (or /etc/subgid) range, as `useradd` gives new users, if it has one. */
export async function subordinateRange(
  name: string,
  file: '/etc/subuid' | '/etc/subgid' = '/etc/subuid',
): Promise<{ start: number; count: number } | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who === name && Number(start) > 0 && Number(count) > 0)
      return { start: Number(start), count: Number(count) };
  }
  return undefined;
}
